#!/usr/bin/env bash
# Make sure the system programs the tests drive are present: Chromium for the browser layer,
# Node.js and npm for Get code's JavaScript snippets (node), plus any server named on the
# command line (redis-server, postgresql). On Debian as root they come from apt; elsewhere
# Chromium comes from Playwright's own download.
set -euo pipefail

need_apt=()
for program in "$@"; do
  case "$program" in
    chromium)
      if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null \
         && [ -z "${CHROMIUM_PATH:-}" ]; then
        need_apt+=(chromium)
      fi ;;
    node)
      command -v node >/dev/null || need_apt+=(nodejs)
      command -v npm >/dev/null || need_apt+=(npm) ;;
    redis-server)
      command -v redis-server >/dev/null || need_apt+=(redis-server) ;;
    postgresql)
      ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
        || need_apt+=(postgresql) ;;
  esac
done
[ ${#need_apt[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "provision: installing ${need_apt[*]} from Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
elif [[ " ${need_apt[*]} " == *" chromium "* ]]; then
  echo "provision: not root; downloading Chromium through Playwright"
  "${PYTHON:-.venv/bin/python}" -m playwright install chromium
else
  echo "provision: please install: ${need_apt[*]}" >&2
  exit 1
fi
