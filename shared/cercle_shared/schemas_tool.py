"""Generate the JSON Schema of every event into shared/cercle_shared/schemas/, and check compatibility.

A change to an existing event type must stay backward compatible: no field removed, renamed or
retyped, no new required field. Anything else needs a new type (`...v2`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .contracts import CATALOG, EventCatalog

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_file(event_type: str, directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{event_type}.json"


def generate(catalog: EventCatalog = CATALOG, directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in catalog:
        path = schema_file(spec.type, directory)
        path.write_text(json.dumps(spec.json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        return _resolve(schema, schema["$defs"][ref.removeprefix("#/$defs/")])
    return node


def _shape(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """A comparable summary of a property's type, ignoring descriptions and examples."""
    node = _resolve(schema, node)
    if "anyOf" in node:
        return ("anyOf", tuple(sorted(map(repr, (_shape(schema, n) for n in node["anyOf"])))))
    if "enum" in node:
        return ("enum", tuple(sorted(map(str, node["enum"]))))
    if "const" in node:
        return ("enum", (str(node["const"]),))
    kind = node.get("type")
    if kind == "array":
        return ("array", _shape(schema, node.get("items", {})))
    if kind == "object" and "properties" in node:
        return ("object", tuple(sorted((k, repr(_shape(schema, v))) for k, v in node["properties"].items())))
    if kind == "object":
        return (
            "object",
            repr(_shape(schema, node.get("additionalProperties", {})))
            if isinstance(node.get("additionalProperties"), dict)
            else None,
        )
    return (kind, node.get("format"))


def incompatibilities(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_node in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} removed or renamed")
            continue
        old_shape, new_shape = _shape(old, old_node), _shape(new, new_props[name])
        # Adding values to an enum, or widening to accept null, stays compatible for readers of old data.
        if old_shape != new_shape and not _widened(old_shape, new_shape):
            problems.append(f"field {name!r} retyped: {old_shape} -> {new_shape}")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"new required field {name!r}" if name not in old_props else f"field {name!r} made required")
    return problems


def _widened(old: Any, new: Any) -> bool:
    if old[0] == "enum" and new[0] == "enum":
        return set(old[1]) <= set(new[1])
    if new[0] == "anyOf":
        return repr(old) in new[1]
    return False


def check(catalog: EventCatalog = CATALOG, directory: Path = SCHEMA_DIR) -> list[str]:
    """Every problem found: missing committed schemas, and incompatible changes to committed ones."""
    problems = []
    known = {spec.type for spec in catalog}
    for spec in catalog:
        path = schema_file(spec.type, directory)
        if not path.exists():
            problems.append(f"{spec.type}: no committed schema (run `make schemas`)")
            continue
        committed = json.loads(path.read_text())
        for issue in incompatibilities(committed, spec.json_schema()):
            problems.append(f"{spec.type}: {issue}; publish a new version instead")
    for path in directory.glob("*.json"):
        if path.stem not in known:
            problems.append(f"{path.stem}: a published event type disappeared from the catalog")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["generate", "check"])
    args = parser.parse_args()
    if args.command == "check":
        problems = check()
        for problem in problems:
            print(problem)
        raise SystemExit(1 if problems else 0)
    problems = [p for p in check() if "no committed schema" not in p]
    if problems:
        for problem in problems:
            print(problem)
        raise SystemExit("refusing to overwrite schemas with incompatible changes")
    print(f"{len(generate())} schemas written to {SCHEMA_DIR}")


if __name__ == "__main__":
    main()
