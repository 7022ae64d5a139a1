"""What the bounds library, the properties and the studies share: the kind of a statement and a named registry.

The properties and the studies are records of one registry, :data:`STATEMENTS` (one namespace: a study cannot
take a property's name); each reads its own kinds through a :class:`View` (``ntkverify list`` reads them all).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterator
from typing import Generic, TypeVar


class Kind(str, enum.Enum):
    """How a violation must be read (docs/statements.md#kinds)."""

    DET = "DET"
    PROB = "PROB"
    CONJ = "CONJ"
    STUDY = "STUDY"

    @property
    def description(self) -> str:
        return {
            "DET": "deterministic: holds for every input; a violation beyond tolerance is a bug",
            "PROB": "probabilistic: holds with the stated probability 1 - delta; a violation is a statistical event",
            "CONJ": "conjectural: numerically supported, unproven; a violation is a finding",
            "STUDY": "study: a designed experiment on a grid of sizes with a stated false-alarm rate and power, and "
            "controls it must reject (docs/studies.md)",
        }[self.value]


T = TypeVar("T")


class Registry(Generic[T]):
    """Items with unique ``.name`` attributes, kept in registration order; ``what`` names them in errors."""

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        if item.name in self._items:
            raise ValueError(f"a {self.what} named {item.name!r} is already registered")
        self._items[item.name] = item
        return item

    def find(self, name: str) -> T | None:
        return self._items.get(name)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._items))}") from None

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())


class View(Generic[T]):
    """The records of some ``kinds`` of a :class:`Registry` whose records have a ``.kind``: registers into it,
    and looks up and lists only those kinds (``what`` names them in errors)."""

    def __init__(self, registry: Registry, what: str, kinds: Collection[Kind]):
        self.registry, self.what, self.kinds = registry, what, frozenset(kinds)

    def register(self, item: T) -> T:
        if item.kind not in self.kinds:
            raise ValueError(f"a {self.what} must be of kind {sorted(k.value for k in self.kinds)}, got {item.kind}")
        return self.registry.register(item)

    def get(self, name: str) -> T:
        item = self.registry.find(name)
        if item is None or item.kind not in self.kinds:
            known = ", ".join(sorted(i.name for i in self))
            raise ValueError(f"unknown {self.what} {name!r}; known: {known}")
        return item

    def __iter__(self) -> Iterator[T]:
        return (i for i in self.registry if i.kind in self.kinds)


#: The properties (DET, PROB, CONJ) and the studies (STUDY): one registry, one namespace.
STATEMENTS: Registry = Registry("property or study")
