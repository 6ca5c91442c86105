"""What an action query selects and how it orders it: the filters (of the list, the CSV export,
the stats and the overdue summary), the sorts of the list and of an action's history, and the
list's output formats."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum


class ActionSort(StrEnum):
    """Sort orders of the action list; a leading `-` means descending. Ties go by id."""

    ID = "id"
    ID_DESC = "-id"
    DUE_DATE = "due_date"
    DUE_DATE_DESC = "-due_date"
    PRIORITY = "priority"
    PRIORITY_DESC = "-priority"
    UPDATED_AT = "updated_at"
    UPDATED_AT_DESC = "-updated_at"
    REFERENCE = "reference"
    REFERENCE_DESC = "-reference"
    DAYS_OVERDUE = "days_overdue"
    DAYS_OVERDUE_DESC = "-days_overdue"
    # Only with a search (q): best matches first; `-relevance` puts the weakest first.
    RELEVANCE = "relevance"
    RELEVANCE_DESC = "-relevance"

    @property
    def field(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


class HistorySort(StrEnum):
    """Orders of an action's history, as the list spells its sorts: `id` is the order the events
    were written in (oldest first), `-id` newest first."""

    ID = "id"
    ID_DESC = "-id"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


class OutputFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionFilters:
    """What the list, the CSV export and the stats select; every field set narrows the result.

    `as_of` is the day "overdue" and "stale" are judged on; None means today (or, when paging,
    the day the first page was made for).
    """

    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    rags: tuple[str, ...] = ()
    owner_id: int | None = None
    unassigned: bool | None = None
    force: str | None = None
    year: str | None = None
    programme: str | None = None
    pillar: str | None = None
    report_id: int | None = None
    kind: str | None = None
    overdue: bool | None = None
    stale: bool | None = None
    due_before: date | None = None
    due_after: date | None = None
    q: str | None = None
    as_of: date | None = None

    def fingerprint_source(self) -> list[object]:
        """The filters (without as_of) in a stable, JSON-ready form, to tie cursors to them."""
        values: list[object] = []
        for name in _FINGERPRINTED:
            value = getattr(self, name)
            if isinstance(value, tuple):
                value = sorted(value)
            elif isinstance(value, date):
                value = value.isoformat()
            values.append(value)
        return values


# The fields a cursor is tied to: every filter, but not the day overdue is judged on.
_FINGERPRINTED = tuple(item.name for item in fields(ActionFilters) if item.name != "as_of")
