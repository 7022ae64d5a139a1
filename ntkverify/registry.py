"""What the bounds library and the property registry share: the kind of a statement and a named registry."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Generic, TypeVar


class Kind(str, enum.Enum):
    """How a violation must be read (docs/statements.md#kinds)."""

    DET = "DET"
    PROB = "PROB"
    CONJ = "CONJ"

    @property
    def description(self) -> str:
        return {
            "DET": "deterministic: holds for every input; a violation beyond tolerance is a bug",
            "PROB": "probabilistic: holds with the stated probability 1 - delta; a violation is a statistical event",
            "CONJ": "conjectural: numerically supported, unproven; a violation is a finding",
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

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._items))}") from None

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())
