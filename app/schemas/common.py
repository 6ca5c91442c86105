"""Shared schema pieces, and the bounds every input is checked against before the database.

Ids fit PostgreSQL's `integer` (SQLite takes more, but ids are the same on both); text holds
no control characters (PostgreSQL cannot store NUL); dates stay far from `date.max`, so a
day or a few years can be added to them; report metadata fits its columns and references.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

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
QueryInt = Annotated[int, BeforeValidator(_digits_only)]
"""A whole number in the query string: digits only."""
QueryId = Annotated[QueryInt, Field(ge=1, le=ID_MAX)]
"""An id in the query string."""
IdPath = Annotated[int, Path(ge=1, le=ID_MAX)]
"""An id in the path."""
QueryFlag = Annotated[bool, BeforeValidator(_true_or_false)]
"""A true/false query parameter."""

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(9000, 12, 31)
Day = Annotated[date, BeforeValidator(_iso_day_only), Field(ge=DATE_MIN, le=DATE_MAX)]
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


def control_character_problem(value: str, *, multi: bool = False) -> str | None:
    """The message `single_line` (or `multi_line`) would give for `value`, or None if fine."""
    try:
        (multi_line if multi else single_line)(value)
    except PydanticCustomError as exc:
        return exc.message()
    return None


SingleLine = AfterValidator(single_line)
"""Annotated[str, ..., SingleLine]: one line of text (a name, a title, a filter)."""
MultiLine = AfterValidator(multi_line)
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


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, object]] | None = Field(
        default=None,
        description="422: each invalid field, with `field`, `in` (body, query, path or header), "
        "`message` and `type`.",
    )
    field: str | None = Field(
        default=None, description="422 about one field found by the service: its name."
    )
