"""axe-core in Chromium: inject npm's axe-core (package-lock.json) with Playwright's evaluate,
which the page's CSP does not govern, and report the violations of the WCAG 2.2 AA tags and
axe's best practices. Nothing about the page is relaxed: it is served with its real headers."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
OPEN_DETAILS = "() => document.querySelectorAll('details').forEach((d) => { d.open = true; })"
RUN = """async (tags) => {
  const found = await axe.run(document, {
    runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
  return found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map((n) => `${n.target.join(" ")} :: ${n.failureSummary}`) }));
}"""


def violations(page, open_details: bool = False) -> list[dict]:
    """axe's violations on the page as it is (or with every <details> opened)."""
    if not AXE.exists():  # a missing tool is a failure, not a skip: `npm ci` installs it
        raise AssertionError(f"axe-core is not installed at {AXE}: run `npm ci`")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    if open_details:
        page.evaluate(OPEN_DETAILS)
    return page.evaluate(RUN, TAGS)


def report(found: list[dict]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
                     for v in found)
