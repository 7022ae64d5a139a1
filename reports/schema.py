"""The JSON Schemas of the report files (``report.json``, ``summary.json``, ``nightly.json``, the lines of
``history.jsonl``), shipped next to this module and documented in ``SCHEMA.md``; ``repro`` and ``nightly``
validate their inputs with them (``jsonschema``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILES = {
    "counterexample": "counterexample.schema.json",
    "summary": "summary.schema.json",
    "nightly": "nightly.schema.json",
    "history": "history.schema.json",
}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema named ``counterexample``, ``summary``, ``nightly`` or ``history``."""
    if name not in SCHEMA_FILES:
        raise ValueError(f"schema must be one of {sorted(SCHEMA_FILES)}, got {name!r}")
    text = resources.files("ntkverify.reports").joinpath(SCHEMA_FILES[name]).read_text(encoding="utf-8")
    return json.loads(text)


def validate(record: dict[str, Any], name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``record`` follows the schema ``name``."""
    import jsonschema

    jsonschema.Draft202012Validator(load_schema(name)).validate(record)
