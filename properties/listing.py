"""``ntkverify list``: the registered properties and studies with their
statement, citation, kind and subjects, filtered by citation text, kind and subject.

From a paper's theorem to its check in two hops: ``ntkverify list --cite "DZPS19"`` names the properties that
cite it (hop 1), and ``ntkverify run --property NAME`` (or ``bounds.explain``) runs or explains one (hop 2); the
docs anchors in each citation lead to the statement and its derivation (docs/README.md).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass

from ntkverify.properties.core import all_properties
from ntkverify.registry import STATEMENTS, Kind


@dataclass(frozen=True)
class Entry:
    """One listed item: a property or a study, as the listing shows it."""

    what: str  # "property" or "study"
    name: str
    statement: str
    citation: str
    kind: str
    subjects: tuple[str, ...]

    def matches(self, cite: str | None, kind: str | None, subject: str | None) -> bool:
        """``cite``: case-insensitive text of the citation or the name; ``kind``: DET, PROB, CONJ or STUDY;
        ``subject``: one of the subjects."""
        if cite and _words(cite) not in _words(f"{self.citation} {self.name}"):
            return False
        if kind and self.kind != kind.upper():
            return False
        return not subject or subject in self.subjects

    def render(self) -> str:
        subjects = ", ".join(self.subjects) or "-"
        return "\n".join(
            [
                f"{self.name}  [{self.kind}]  {self.what}; subjects: {subjects}",
                f"    {self.statement}",
                f"    cite: {self.citation}",
            ]
        )


def _words(text: str) -> str:
    """Lower case, with the usual spellings of an item folded into the ones citations use (``Thm``, ``eq.``)."""
    text = " ".join(text.lower().split())
    for long, short in (("theorem", "thm"), ("equation", "eq."), ("eqn.", "eq."), ("section", "sec.")):
        text = text.replace(long, short)
    return text


def entries() -> list[Entry]:
    """Every record of the one registry of properties and studies, in registration order."""
    from ntkverify.studies import all_studies

    all_properties(), all_studies()  # importing the catalogues registers them
    return [
        Entry(
            "study" if item.kind is Kind.STUDY else "property",
            item.name,
            item.statement,
            item.citation,
            item.kind.value,
            tuple(item.subjects),
        )
        for item in STATEMENTS
    ]


def select(cite: str | None = None, kind: str | None = None, subject: str | None = None) -> list[Entry]:
    """Every property and study that matches all the given filters."""
    return [e for e in entries() if e.matches(cite, kind, subject)]


def render(entries: Iterable[Entry]) -> str:
    return "\n\n".join(e.render() for e in entries)


def main(cite: str | None, kind: str | None, subject: str | None) -> int:
    """Print the matching entries; exit 0 (an empty selection is reported on stderr, not an error)."""
    entries = select(cite, kind, subject)
    if entries:
        print(render(entries))
    print(f"{len(entries)} matching", file=sys.stderr)
    return 0
