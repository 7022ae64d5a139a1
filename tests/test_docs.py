"""The theory lives in ``docs/``: every citation of a docs anchor resolves, and nothing cites an outside document.

Code, tests, README and CHANGELOG cite either a paper's own theorem or equation (``NMM21 eq. (4)``) or a docs
anchor: ``docs/statements.md#A9``, several anchors of one page as ``docs/statements.md#A8, #B4``. Anchors are the
explicit ``<a id="…"></a>`` tags and the headings of the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = ("ntkverify", "strategies", "properties", "reports", "tests", "benchmarks")
TEXTS = ("README.md", "CHANGELOG.md")
# pages other parts of the project write; a link to one is checked once it exists
SEE_ALSO = {"accuracy.md", "search.md", "studies.md", "distributed.md"}

CITATION = re.compile(r"docs/(\w+\.md)((?:#[\w-]+)(?:,\s+#[\w-]+)*)?")
RELATIVE_LINK = re.compile(r"\]\((\w+\.md)?(#[\w-]+)?\)")
OUTSIDE = re.compile("|".join([r"\bsp" + r"ec §", r"\bsp" + r"ec [ABC]\d", r"\bthe sp" + r"ec\b", r"\bsp" + r"ec's\b"]))


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = page.read_text()
    found = set(re.findall(r'<a id="([^"]+)"></a>', text))
    found |= {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}
    return found


def _pages() -> dict[str, set[str]]:
    return {p.name: anchors(p) for p in DOCS.glob("*.md")}


def _files() -> list[Path]:
    files = [p for d in SOURCES for p in (ROOT / d).rglob("*.py")]
    files += [p for d in SOURCES for p in (ROOT / d).rglob("*.md")]
    return files + [ROOT / t for t in TEXTS] + sorted(DOCS.glob("*.md"))


def _citations(path: Path):
    text = path.read_text()
    for m in CITATION.finditer(text):
        ids = re.findall(r"#([\w-]+)", m[2] or "")
        yield m[1], ids, text.count("\n", 0, m.start()) + 1
    if path.parent == DOCS:
        for m in RELATIVE_LINK.finditer(text):
            page = m[1] or path.name
            yield page, [m[2][1:]] if m[2] else [], text.count("\n", 0, m.start()) + 1


def test_every_cited_docs_anchor_exists():
    pages = _pages()
    broken = []
    for path in _files():
        for page, ids, line in _citations(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if page not in pages:
                if page not in SEE_ALSO or ids:
                    broken.append(f"{where}: no page docs/{page}")
                continue
            broken += [f"{where}: no anchor docs/{page}#{a}" for a in ids if a not in pages[page]]
    assert not broken, "\n".join(broken)


def test_nothing_cites_an_outside_document():
    offending = []
    for path in _files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if OUTSIDE.search(line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offending, "cite docs/… or the paper instead:\n" + "\n".join(offending)


@pytest.mark.parametrize("code", [f"{g}{k}" for g in "ABC" for k in range(1, 10)])
def test_every_invariant_code_has_an_anchor(code):
    assert code in anchors(DOCS / "statements.md")


def test_the_checker_catches_a_broken_anchor_and_an_outside_citation(tmp_path):
    """A check that cannot fail is a defect: the two scans must reject planted mistakes."""
    planted = tmp_path / "planted.py"
    planted.write_text('"""See do' + "cs/statements.md#A9, #Z9 and do" + 'cs/kernels.md#recursion."""\n')
    found = [(page, ids) for page, ids, _ in _citations(planted)]
    assert found == [("statements.md", ["A9", "Z9"]), ("kernels.md", ["recursion"])]
    assert "Z9" not in _pages()["statements.md"]
    assert OUTSIDE.search("as in sp" + "ec §4.4") and OUTSIDE.search("sp" + "ec A9 (i)")
    assert not OUTSIDE.search("spec = config.getoption('ntk_kernel')")
