"""Shapes in the OpenAPI document that client generators can trust.

- Every shape a route names (a model, an enum, a union) is a component, referred to by `$ref`
  and never copied inline: routes that document a body or parameters by hand (`request_body`,
  `app.api.params.openapi_parameters`) hand their definitions over under `COMPONENTS_KEY`, and
  `hoist` makes them components.
- A generic model's component is named as a class would be: `ActionPage` for `Page[ActionOut]`
  (Pydantic calls it `Page_ActionOut_`).
- Parameters are absent or a value, never `null`.
- An answer or a body is a component (or a union of them), without the title FastAPI makes up
  for it (`Response 200 Importreport`), which generators would take for a class name.
- A component that only answers (reached from a success response, from no request) has every
  property `required`: FastAPI sends every field of a response model, and the services' own
  answers are built with every key (the contract tests and the generated clients hold them to
  it). `null` stays where the model allows it.
- An enum whose values are not all names (`-due_date`, `action.created`) names its members in
  `x-enum-varnames` (`DUE_DATE_DESC`, `ACTION_CREATED`), as its StrEnum does: generators take
  them (openapi-python-client, openapi-typescript's `--enum`) rather than `VALUE_3`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter

REF = "#/components/schemas/"
# Definitions a route's `openapi_extra` hands over, moved to the components by `hoist`.
COMPONENTS_KEY = "x-afi-components"
_NULL = {"type": "null"}
# How Pydantic names a parametrised generic model's schema: `Page[ActionOut]` -> `Page_ActionOut_`.
_GENERIC_NAME = re.compile(r"^([A-Za-z0-9]+)_([A-Za-z0-9]+)_$")
ENUM_VARNAMES = "x-enum-varnames"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_schema(source: Any, *, mode: str = "validation") -> tuple[dict[str, Any], dict[str, Any]]:
    """`source`'s JSON schema (a type, or a schema as a dict) referring to components, and
    the definitions it refers to."""
    if isinstance(source, dict):
        return source, {}
    schema = TypeAdapter(source).json_schema(ref_template=REF + "{model}", mode=mode)  # type: ignore[arg-type]
    return schema, schema.pop("$defs", {})


def request_body(media_type: str, source: Any, *, name: str) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its body itself: one media type, its schema the
    component `name` (made from `source`, a type or a JSON schema)."""
    schema, definitions = json_schema(source)
    return {
        "requestBody": {
            "required": True,
            "content": {media_type: {"schema": {"$ref": REF + name}}},
        },
        COMPONENTS_KEY: {**definitions, name: schema},
    }


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def hoist(document: dict[str, Any]) -> None:
    """Definitions handed over by the operations become components. Two definitions of one
    name must agree: a component is one shape."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for path, method, operation in operations(document):
        for name, definition in operation.pop(COMPONENTS_KEY, {}).items():
            known = components.setdefault(name, definition)
            if known != definition:
                raise ValueError(f"{method.upper()} {path}: two shapes named {name}")


def _bodies_and_answers(operation: dict[str, Any]) -> Iterator[dict[str, Any]]:
    messages = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
    for message in messages:
        for media in message.get("content", {}).values():
            if "schema" in media:
                yield media["schema"]


def no_made_up_titles(document: dict[str, Any]) -> None:
    """The titles FastAPI gives an operation's inline body or answer are dropped (see the
    docstring)."""
    for _, _, operation in operations(document):
        for schema in _bodies_and_answers(operation):
            title = schema.get("title", "")
            if title.startswith(("Response ", "Body_")):
                del schema["title"]


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` less its `null` alternative (and a `null` default)."""
    branches = schema.get("anyOf")
    if branches and _NULL in branches:
        rest = [branch for branch in branches if branch != _NULL]
        schema = {key: value for key, value in schema.items() if key != "anyOf"}
        if len(rest) == 1:
            schema = {**rest[0], **schema}
        else:
            schema["anyOf"] = rest
    if "default" in schema and schema["default"] is None:
        schema = {key: value for key, value in schema.items() if key != "default"}
    return schema


def parameters_without_null(document: dict[str, Any]) -> None:
    """A parameter is left out or given: its schema has no `null`."""
    for _, _, operation in operations(document):
        for parameter in operation.get("parameters", []):
            parameter["schema"] = without_null(parameter["schema"])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            yield ref.removeprefix(REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def reachable(components: dict[str, Any], roots: Any) -> set[str]:
    """The components `roots` refer to, directly or through other components."""
    found: set[str] = set()
    pending = list(_refs(roots))
    while pending:
        name = pending.pop()
        if name not in found and name in components:
            found.add(name)
            pending.extend(_refs(components[name]))
    return found


def answers_and_requests(document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The components reached from success responses, and those reached from requests."""
    components = document["components"]["schemas"]
    answers: list[Any] = []
    requests: list[Any] = []
    for _, _, operation in operations(document):
        requests += [operation.get("parameters", []), operation.get("requestBody", {})]
        answers += [
            response
            for status, response in operation.get("responses", {}).items()
            if status.startswith("2")
        ]
    return reachable(components, answers), reachable(components, requests)


def answers_are_complete(document: dict[str, Any]) -> None:
    """Every property of a component that only answers is required (see the docstring)."""
    components = document["components"]["schemas"]
    answers, requests = answers_and_requests(document)
    for name in sorted(answers - requests):
        properties = components[name].get("properties")
        if properties:
            components[name]["required"] = list(properties)


def generic_names(document: dict[str, Any]) -> None:
    """`Page_ActionOut_` becomes `ActionPage` (see the docstring), and every `$ref` to it."""
    components = document["components"]["schemas"]
    renames = {}
    for name in components:
        match = _GENERIC_NAME.match(name)
        if match:
            renamed = match[2].removesuffix("Out") + match[1]
            if renamed in components:
                raise ValueError(f"{name} would be named {renamed}, which is taken")
            renames[name] = renamed
    if not renames:
        return
    text = json.dumps(document)
    for old, new in renames.items():
        text = text.replace(f'"{REF}{old}"', f'"{REF}{new}"')
    renamed_document = json.loads(text)
    schemas = renamed_document["components"]["schemas"]
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    document.clear()
    document.update(renamed_document)


def enum_member_name(value: str) -> str:
    """The member name of an enum value: `-due_date` -> `DUE_DATE_DESC` (a leading `-` is this
    API's descending order), `action.created` -> `ACTION_CREATED`."""
    descending = value.startswith("-")
    words = re.sub(r"[^0-9A-Za-z]+", "_", value.removeprefix("-")).strip("_").upper()
    name = f"{words}_DESC" if descending else words
    return name if _NAME.match(name) else f"VALUE_{name}"


def _enums(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for item in node:
            yield from _enums(item)


def enum_varnames(document: dict[str, Any]) -> None:
    """`x-enum-varnames` on every string enum with a value that is not a name (see the
    docstring); one that names its members already keeps its names."""
    for schema in _enums(document):
        values = schema["enum"]
        if ENUM_VARNAMES in schema or not all(isinstance(value, str) for value in values):
            continue
        if all(_NAME.match(value) for value in values):
            continue
        names = [enum_member_name(value) for value in values]
        if len(set(names)) != len(names):
            raise ValueError(f"{schema.get('title', values)}: two values would share a name")
        schema[ENUM_VARNAMES] = names
