"""Shared schema pieces, and the bounds every input is checked against before the database.

Ids fit PostgreSQL's `integer` (SQLite takes more, but ids are the same on both); text holds
no control characters (PostgreSQL cannot store NUL); dates stay far from `date.max`, so a
day or a few years can be added to them; report metadata fits its columns and references.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

T = TypeVar("T")

_DIGITS = re.compile(r"[0-9]{1,10}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _digits_only(value: object) -> object:
    """A query-string number as digits only: not `1.0`, `1e3`, ` 1` or `+1`."""
    if isinstance(value, str) and _DIGITS.fullmatch(value) is None:
        raise PydanticCustomError("int_digits", "Input should be a whole number in digits")
    return value


def _iso_day_only(value: object) -> object:
    """A day as `YYYY-MM-DD` text and nothing else: pydantic would also read a number as
    seconds since 1970 (`0` as 1970-01-01) and a timestamp at midnight as its day."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # from Python callers
    if isinstance(value, str) and _ISO_DAY.fullmatch(value) is not None:
        return value
    raise PydanticCustomError("date_format", "Input should be a date written YYYY-MM-DD")


def _true_or_false(value: object) -> object:
    """A query-string flag as `true` or `false`, not the other spellings pydantic accepts
    (`1`, `yes`, `on`, `t`, ...)."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise PydanticCustomError("bool_literal", "Input should be true or false")
    return value


ID_MAX = 2**31 - 1  # PostgreSQL integer
Id = Annotated[int, Strict(), Field(ge=1, le=ID_MAX)]
"""An id in a JSON body: a JSON integer (not `true`, `1.5` or `"1"`)."""
Percent = Annotated[int, Strict(), Field(ge=0, le=100)]
"""A percentage in a JSON body: a JSON integer from 0 to 100."""
QueryInt = Annotated[int, BeforeValidator(_digits_only)]
"""A whole number in the query string: digits only."""
# The bounds before the validator, so that they are the integer's (`minimum`, `maximum` in
# OpenAPI) rather than unnamed constraints on the validator's result.
QueryId = Annotated[int, Field(ge=1, le=ID_MAX), BeforeValidator(_digits_only)]
"""An id in the query string."""
QueryDays = Annotated[int, Field(ge=0, le=3650), BeforeValidator(_digits_only)]
"""A number of days (up to ten years) in the query string."""
IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
"""An id in the path."""
QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]
"""A true/false query parameter."""

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(9000, 12, 31)
# JSON Schema has no bounds for a `date` string: the years are in its pattern, the days in
# `x-minimum` and `x-maximum` (RFC 3339 full-date is the format).
_DAY_SCHEMA: dict[str, Any] = {
    "type": "string",
    "format": "date",
    "pattern": r"^(19[0-9]{2}|[2-8][0-9]{3}|9000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
    "description": f"A day, YYYY-MM-DD, from {DATE_MIN} to {DATE_MAX}.",
    "x-minimum": DATE_MIN.isoformat(),
    "x-maximum": DATE_MAX.isoformat(),
}
Day = Annotated[
    date,
    BeforeValidator(_iso_day_only),
    Field(ge=DATE_MIN, le=DATE_MAX),
    WithJsonSchema(_DAY_SCHEMA),
]
"""A date given by a client (a due date, an as-of day), written YYYY-MM-DD."""

# Report metadata: what the columns, titles and reference prefixes are sized for.
FORCE_MAX_CHARS = 100
PROGRAMME_MAX_CHARS = 30
YEAR_MAX_CHARS = 20
PILLAR_MAX_CHARS = 60
METADATA_MAX_CHARS = {
    "force": FORCE_MAX_CHARS,
    "programme": PROGRAMME_MAX_CHARS,
    "year": YEAR_MAX_CHARS,
    "pillar": PILLAR_MAX_CHARS,
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _check(pattern: re.Pattern[str], value: str, allowed: str) -> str:
    found = pattern.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "Text should not contain control characters{allowed}; found U+{code} at {position}",
            {
                "allowed": allowed,
                "code": f"{ord(found[0]):04X}",
                "position": found.start(),
            },
        )
    return value


def single_line(value: str) -> str:
    """`value`, if it has no control characters (NUL, tab, line breaks, escape, DEL...)."""
    return _check(_CONTROL, value, "")


def multi_line(value: str) -> str:
    """`value`, if its only control characters are tabs and line breaks."""
    return _check(_CONTROL_BUT_LINE_BREAKS, value, " other than tab and line breaks")


def not_null(value: T | None, info: ValidationInfo) -> T:
    """A field validator for a field that may be left out but not sent as null."""
    if value is None:
        raise PydanticCustomError("not_null", "{field} cannot be null", {"field": info.field_name})
    return value


def _without_null(schema: dict[str, Any]) -> None:
    branches = [branch for branch in schema.pop("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    if schema.get("default", ...) is None:
        del schema["default"]


def optional_not_null(description: str | None = None) -> Any:
    """`Field` for an `X | None = None` that may be left out but not sent as null (with
    `not_null`), or that an answer leaves out rather than sends as null: its JSON schema is
    X's alone."""
    return Field(default=None, description=description, json_schema_extra=_without_null)


def control_character_problem(value: str, *, multi: bool = False) -> str | None:
    """The message `single_line` (or `multi_line`) would give for `value`, or None if fine."""
    try:
        (multi_line if multi else single_line)(value)
    except PydanticCustomError as exc:
        return exc.message()
    return None


@dataclass(frozen=True)
class _Text:
    """A check on text after its other constraints, published in JSON Schema as a `pattern`
    (unless the type has a stricter one of its own)."""

    check: Callable[[str], str]
    pattern: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema


SingleLine = _Text(single_line, r"^[^\x00-\x1f\x7f]*$")
"""Annotated[str, ..., SingleLine]: one line of text (a name, a title, a filter)."""
MultiLine = _Text(multi_line, r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
"""Annotated[str, ..., MultiLine]: free text that may run over lines (a description)."""


# Report metadata as a caller gives it (to import a report, or to filter by); blank is absent.
Force = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=FORCE_MAX_CHARS), SingleLine
]
Programme = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=PROGRAMME_MAX_CHARS), SingleLine
]
Year = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=YEAR_MAX_CHARS), SingleLine
]
Pillar = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=PILLAR_MAX_CHARS), SingleLine
]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    total: int | None = None
