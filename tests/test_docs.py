"""The docs a newcomer reads: every relative link leads somewhere, every module is named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def prose(path: Path) -> str:
    """The text of a markdown file without its code, where a link is only an example."""
    return CODE.sub("", FENCE.sub("", path.read_text()))


def links(path: Path) -> list[str]:
    text = prose(path)
    return LINK.findall(text) + REFERENCE.findall(text)


def anchors(path: Path) -> set[str]:
    """GitHub's ids for a markdown file's headings: lowercase, punctuation gone, spaces -."""
    found = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        if heading := re.match(r"#{1,6}\s+(.*?)\s*#*$", line):
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found


def broken(path: Path, root: Path = ROOT) -> list[str]:
    """The relative links of one file that lead to no file of ``root``, or to no heading."""
    bad = []
    for link in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):
            continue  # http:, https:, mailto: — outside the repository
        target, _, fragment = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        missing = not file.exists() or not file.is_relative_to(root)
        if missing or (fragment and file.suffix == ".md" and fragment not in anchors(file)):
            bad.append(link)
    return bad


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(path):
    assert path.exists()
    assert links(path), "a doc with no links at all: the link reader is broken"
    assert broken(path) == []


def test_the_link_check_would_notice_a_broken_link(tmp_path):
    (tmp_path / "there.md").write_text("# A heading\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#a-heading) [gone](missing.md) [no](there.md#nowhere)\n"
                    "`[in code](ignored.md)` [web](https://example.com/x.md) [up](../x.md)\n")
    assert broken(page, root=tmp_path) == ["missing.md", "there.md#nowhere", "../x.md"]


def test_the_readme_leads_to_the_deployment_storage_testing_and_bench_docs():
    readme = set(links(ROOT / "README.md"))
    assert {"docs/deploy.md", "docs/storage.md", "docs/testing.md", "bench/README.md",
            "docs/screenshot.png"} <= readme


def test_the_module_table_names_every_module_and_only_modules_that_exist():
    table = [line for line in (ROOT / "README.md").read_text().splitlines()
             if line.startswith("| `")]
    named = {name for line in table for name in CODE.findall(line.split("|")[1])}
    named = {name.strip("`") for name in named if name.strip("`").endswith(".py")}
    modules = {f"playground/{p.name}" for p in (ROOT / "playground").glob("*.py")
               if p.name != "__init__.py"} | {"app.py"}
    assert modules - named == set(), "modules missing from the README's module table"
    assert {name for name in named if not (ROOT / name).exists()} == set(), "stale names"
