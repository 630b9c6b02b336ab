"""The README is a guide and the docs pages hold the rest: the README stays short, starts with the two commands the
scripts and CI run, links every docs page, and shows the minimal project exactly as examples/quickstart holds it
(tests/test_package.py runs that folder with an installed wheel through the real Pulumi CLI); every relative link in
the README and in docs/ names a file that exists and, with an #anchor, a heading it has. The README's input tables
are generated and checked by tests/test_schema.py."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from generate import heading_anchor

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 300

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
FILE_BLOCK = re.compile(r"^<!-- file: (\S+) -->\n```[a-z]*\n(.*?)^```$", re.M | re.S)


def prose(text: str) -> str:
    """The text outside fenced blocks and code spans, where a [label](target) is a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings as GitHub makes them, a repeated one numbered -1, -2, ..."""
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        anchor = heading_anchor(heading)
        found.add(anchor if not seen[anchor] else f"{anchor}-{seen[anchor]}")
        seen[anchor] += 1
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text()))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # https:, mailto: ... are not checked here


def test_the_anchor_rule_is_githubs() -> None:
    """The headings this repository links to, spelled as GitHub spells their anchors."""
    assert heading_anchor("A killed `pulumi up` converges") == "a-killed-pulumi-up-converges"
    assert heading_anchor("Azure Stack's 4 KiB pages") == "azure-stacks-4-kib-pages"
    assert heading_anchor("Cloud images: compressed files and URLs") == "cloud-images-compressed-files-and-urls"
    assert heading_anchor("The rule: metadata is a claim, content is evidence") == (
        "the-rule-metadata-is-a-claim-content-is-evidence")


def test_the_readme_is_at_most_300_lines() -> None:
    lines = README.read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move reference material into docs/"


def test_the_readme_starts_with_the_two_commands_the_scripts_and_ci_run() -> None:
    text = README.read_text()
    first_block = FENCE.search(text)
    assert first_block is not None and text[:first_block.start()].count("\n\n") <= 2, "intro, then the commands"
    commands = [line.split("#")[0].strip() for line in first_block.group().splitlines()[1:-1]]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec bash scripts/test.sh")
    for script in ("demo.sh", "test.sh"):
        assert (ROOT / "scripts" / script).is_file()


def test_the_readme_links_every_docs_page() -> None:
    linked = {(README.parent / target.split("#")[0]).resolve() for target in relative_links(README)}
    assert PAGES and [page.name for page in PAGES if page.resolve() not in linked] == []


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_names_a_file_and_a_heading_that_exist(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        found = (page.parent / path).resolve() if path else page
        if not found.exists():
            broken.append(f"{target}: no file {found.relative_to(ROOT) if found.is_relative_to(ROOT) else found}")
        elif anchor and (found.suffix != ".md" or anchor not in anchors(found)):
            broken.append(f"{target}: no heading #{anchor} in {found.relative_to(ROOT)}")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"


def test_the_readmes_minimal_project_is_the_checked_in_one_that_test_package_runs() -> None:
    """The README's Pulumi.yaml and __main__.py blocks are examples/quickstart's files, byte for byte; that folder is
    the project tests/test_package.py brings up, grows and destroys with the installed wheel."""
    from tests.test_package import QUICKSTART

    shown = dict(FILE_BLOCK.findall(README.read_text()))
    assert sorted(shown) == ["examples/quickstart/Pulumi.yaml", "examples/quickstart/__main__.py"]
    for name, block in shown.items():
        assert block == (ROOT / name).read_text(), f"the README's block for {name} differs from the file"
    assert QUICKSTART == ROOT / "examples" / "quickstart"
    assert "virtualenv: venv" in shown["examples/quickstart/Pulumi.yaml"]
