"""The JSON Schemas of the report files (``report.json``, ``summary.json``, ``nightly.json``, the lines of
``history.jsonl``), shipped next to this module and documented in ``SCHEMA.md``; ``repro`` and ``nightly``
validate their inputs with them (``jsonschema``). A schema may refer to another's definitions by its ``$id``
(``nightly.json`` lists the result records of ``summary.json``); :func:`read_document` reads older versions of a
document through the upgrades it is given."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ntkverify.reports.exits import InputError

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


@cache
def validator(name: str):
    """A validator of the schema ``name`` that resolves references to the other schemas by their ``$id``."""
    import jsonschema
    from referencing import Registry, Resource

    resources = [(load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in SCHEMA_FILES]
    return jsonschema.Draft202012Validator(load_schema(name), registry=Registry().with_resources(resources))


def validate(record: dict[str, Any], name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``record`` follows the schema ``name``."""
    validator(name).validate(record)


def read_document(
    path: str | Path,
    name: str,
    *,
    schema: str,
    version: int | tuple[int, ...],
    what: str,
    error: type[InputError] = InputError,
    upgrades: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The JSON object in ``path``, checked to carry ``schema`` and ``version`` (or one of several versions still
    read as they are) and to follow the schema ``name``; otherwise ``error`` (a usage error) says what ``what``
    (e.g. "baseline PATH") is not. ``upgrades`` maps an older version to the function that turns such a document
    into the current version (checked after it)."""
    import jsonschema

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise error(f"{what} is not readable JSON: {exc}") from None
    versions = version if isinstance(version, tuple) else (version,)
    found = (doc.get("schema"), doc.get("schema_version")) if isinstance(doc, dict) else f"a JSON {type(doc).__name__}"
    upgrade = (upgrades or {}).get(found[1]) if isinstance(found, tuple) and found[0] == schema else None
    if found not in [(schema, v) for v in versions] and upgrade is None:
        wanted = "-or-".join(map(str, versions))
        raise error(f"{what} is not a version-{wanted} {schema} document (found {found})")
    if upgrade is not None:
        try:
            doc = upgrade(doc)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise error(f"{what} does not follow its version-{found[1]} schema: {type(exc).__name__} {exc}") from None
    try:
        validate(doc, name)
    except jsonschema.ValidationError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "the top level"
        raise error(f"{what} does not follow its schema at {where}: {exc.message[:200]}") from None
    return doc
