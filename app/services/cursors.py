"""Opaque keyset cursors: where a page of the actions listing ended, for which sort, filters and
day; where a page of an action's history ended, for which action and order; and where a page of
the changes between two days ended, for which window and filters. A cursor is
base64url JSON; anything in it that does not decode to a usable position (or a cursor of one
listing given to the other) is an `InvalidCursor` (a 422 naming `cursor`), never an error
further down."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from app.errors import InvalidInput
from app.schemas.common import DATE_MAX, DATE_MIN
from app.schemas.filters import ActionFilters, ActionSort, HistorySort

# How each sort's key travels in a cursor: the JSON type it is written as.
_KEY_KINDS = {
    "id": "none",
    "due_date": "date",
    "priority": "int",
    "updated_at": "datetime",
    "reference": "str",
    "days_overdue": "int",
    # A search's rank, a double on both databases. JSON keeps a double exactly: orjson writes
    # the shortest text that reads back as the same double.
    "relevance": "float",
}
_MAX_KEY_LENGTH = 1000
# Ids, priority ranks and days overdue are INTEGER columns or values: 32-bit on PostgreSQL.
_INT_LIMIT = 2**31


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last row's sort key (None for the id sort) and id."""

    key: Any
    last_id: int


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: ActionSort
    position: Position
    as_of: date
    fingerprint: str


class InvalidCursor(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(
            f"Invalid value for: cursor ({message}). Use the next_cursor or Link of the previous "
            "page, with the same filters and sort, or start again without a cursor.",
            field="cursor",
            location="query",
            message=message,
            error_type="cursor",
        )


def filters_fingerprint(filters: ActionFilters) -> str:
    source = orjson.dumps(filters.fingerprint_source())
    return hashlib.sha256(source).hexdigest()[:16]


def _key_to_json(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode("ascii")


# The keys of each kind of cursor: a cursor of one listing given to the other is named as such.
_LIST_KEYS = frozenset({"s", "k", "i", "a", "f"})
_HISTORY_KEYS = frozenset({"h", "s", "i"})
_EVENT_KEYS = frozenset({"e"})
_DELIVERY_KEYS = frozenset({"w", "d"})
_CHANGE_KEYS = frozenset({"c", "o", "i", "w", "f"})
_WRONG_KIND = {
    _LIST_KEYS: "it was made for the action list, not an action's history",
    _HISTORY_KEYS: "it was made for an action's history, not the action list",
    _EVENT_KEYS: "it was made for the event feed",
    _DELIVERY_KEYS: "it was made for a webhook's deliveries",
    _CHANGE_KEYS: "it was made for the changes",
}


def _decode(token: str, *, keys: frozenset[str]) -> dict[str, Any]:
    """The JSON object in `token`, which must have exactly `keys`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("it is not a cursor this service made") from exc
    if not isinstance(payload, dict):
        raise InvalidCursor("it is not a cursor this service made")
    if payload.keys() != keys:
        raise InvalidCursor(
            _WRONG_KIND.get(frozenset(payload), "it is not a cursor this service made")
        )
    return payload


def _last_id(value: Any) -> int:
    if type(value) is not int or not 0 < value < _INT_LIMIT:
        raise InvalidCursor("its position is malformed")
    return value


def encode_cursor(cursor: Cursor) -> str:
    return _encode(
        {
            "s": cursor.sort.value,
            "k": _key_to_json(cursor.position.key),
            "i": cursor.position.last_id,
            "a": cursor.as_of.isoformat(),
            "f": cursor.fingerprint,
        }
    )


def _utc_moment(value: str) -> datetime | None:
    """An ISO 8601 moment with an offset, in UTC; None if it is not one, or if it has no UTC
    equivalent (0001-01-01T00:00:00+14:00 is before datetime.min in UTC)."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _key_from_json(kind: str, value: Any) -> Any:
    if kind == "none" and value is None:
        return None
    if kind == "int" and type(value) is int and -_INT_LIMIT <= value < _INT_LIMIT:
        return value
    if kind == "float" and type(value) is float and math.isfinite(value):
        return value
    # No NUL: PostgreSQL text cannot hold one, so comparing with it fails in the database.
    if kind == "str" and type(value) is str and len(value) <= _MAX_KEY_LENGTH and "\0" not in value:
        return value
    if kind == "date" and type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if kind == "datetime" and type(value) is str:
        moment = _utc_moment(value)
        if moment is not None:
            return moment
    raise InvalidCursor("its position is malformed")


def decode_cursor(token: str, *, sort: ActionSort, fingerprint: str) -> Cursor:
    payload = _decode(token, keys=_LIST_KEYS)
    if payload["s"] != sort.value:
        raise InvalidCursor(f"it was made for sort={payload['s']!s:.40}, not sort={sort.value}")
    if payload["f"] != fingerprint:
        raise InvalidCursor("it was made for other filters")
    last_id = _last_id(payload["i"])
    try:
        as_of = date.fromisoformat(payload["a"]) if type(payload["a"]) is str else None
    except ValueError:
        as_of = None
    if as_of is None:
        raise InvalidCursor("its date is malformed")
    key = _key_from_json(_KEY_KINDS[sort.field], payload["k"])
    # Days overdue are days before the cursor's day (the page reads from that due date on).
    if sort.field == "days_overdue" and not 0 <= key <= (as_of - date.min).days:
        raise InvalidCursor("its position is malformed")
    return Cursor(sort=sort, position=Position(key, last_id), as_of=as_of, fingerprint=fingerprint)


def encode_history_cursor(*, action_id: int, sort: HistorySort, last_id: int) -> str:
    """Where a page of one action's history ended: the last event's id, in that order."""
    return _encode({"h": action_id, "s": sort.value, "i": last_id})


def decode_history_cursor(token: str, *, action_id: int, sort: HistorySort) -> int:
    """The id of the last event of the previous page of `action_id`'s history in `sort`."""
    payload = _decode(token, keys=_HISTORY_KEYS)
    if type(payload["h"]) is not int or payload["h"] != action_id:
        raise InvalidCursor("it was made for the history of another action")
    if payload["s"] != sort.value:
        raise InvalidCursor(f"it was made for sort={payload['s']!s:.40}, not sort={sort.value}")
    return _last_id(payload["i"])


def encode_event_cursor(*, position: int) -> str:
    """Where a reader of the event feed got to: the position of the last event it read."""
    return _encode({"e": position})


def decode_event_cursor(token: str) -> int:
    """The feed position in an `after` cursor (0 before the first event is fine)."""
    payload = _decode(token, keys=_EVENT_KEYS)
    position = payload["e"]
    if type(position) is not int or not 0 <= position < _INT_LIMIT:
        raise InvalidCursor("its position is malformed")
    return position


def encode_delivery_cursor(*, webhook_id: int, last_id: int) -> str:
    """Where a page of a webhook's delivery log (newest first) ended."""
    return _encode({"w": webhook_id, "d": last_id})


def decode_delivery_cursor(token: str, *, webhook_id: int) -> int:
    """The id of the last delivery of the previous page of `webhook_id`'s log."""
    payload = _decode(token, keys=_DELIVERY_KEYS)
    if type(payload["w"]) is not int or payload["w"] != webhook_id:
        raise InvalidCursor("it was made for the deliveries of another webhook")
    return _last_id(payload["d"])


@dataclass(frozen=True, slots=True)
class ChangePosition:
    """Where a page of changes ended: the last change's moment (UTC), whether it was a newly
    overdue action (those follow the events of the same moment) and its event's or action's id."""

    at: datetime
    overdue: bool
    last_id: int


@dataclass(frozen=True, slots=True)
class ChangesCursor:
    position: ChangePosition
    since: date
    until: date


def encode_changes_cursor(cursor: ChangesCursor, *, fingerprint: str) -> str:
    position = cursor.position
    return _encode(
        {
            "c": position.at.astimezone(UTC).isoformat(),
            "o": int(position.overdue),
            "i": position.last_id,
            "w": [cursor.since.isoformat(), cursor.until.isoformat()],
            "f": fingerprint,
        }
    )


def _window(value: Any) -> tuple[date, date]:
    if type(value) is list and len(value) == 2 and all(type(day) is str for day in value):
        try:
            since, until = date.fromisoformat(value[0]), date.fromisoformat(value[1])
        except ValueError:
            pass
        else:
            if DATE_MIN <= since <= until <= DATE_MAX:
                return since, until
    raise InvalidCursor("its window is malformed")


def decode_changes_cursor(token: str, *, fingerprint: str) -> ChangesCursor:
    """The position and window of a page of changes made for the filters of `fingerprint`."""
    payload = _decode(token, keys=_CHANGE_KEYS)
    if payload["f"] != fingerprint:
        raise InvalidCursor("it was made for other filters")
    moment = _utc_moment(payload["c"]) if type(payload["c"]) is str else None
    if moment is None or payload["o"] not in (0, 1) or type(payload["o"]) is not int:
        raise InvalidCursor("its position is malformed")
    since, until = _window(payload["w"])
    position = ChangePosition(moment, payload["o"] == 1, _last_id(payload["i"]))
    return ChangesCursor(position=position, since=since, until=until)
