"""Query parameters of the action routes (list, stats, overdue summary, history): each route's
set as one model, read by `app.api.params`."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.enums import ActionStatus, FindingKind, Priority, Rag
from app.schemas.common import (
    Day,
    Force,
    Pillar,
    Programme,
    QueryDays,
    QueryFlag,
    QueryId,
    QueryInt,
    SingleLine,
    Year,
)
from app.schemas.filters import ActionFilters, ActionSort, HistorySort, OutputFormat
from app.schemas.stats import StatsGroupBy
from app.services import search


def _searchable(value: str) -> str:
    # Refused here as well as by the service, so that the CSV export refuses it before it starts.
    if value.strip():
        try:
            search.parse(value)
        except search.InvalidSearch:
            raise PydanticCustomError("search", search.NO_WORDS) from None
    return value


SearchText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    SingleLine,
    AfterValidator(_searchable),
]
SEARCH_SYNTAX = (
    "Full-text search in the reference, title, description, finding text and question. Every "
    'term must match: words, "quoted phrases", and `*` after a word or phrase for a prefix '
    "(`safeguard*`). Case-insensitive; no stemming; punctuation separates words, so "
    "`CUM-PEEL15-EFF-AFI3` is the phrase of its four words. AND, OR, NOT and other symbols "
    "are not operators. A q with no letter or digit is refused."
)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class FilterParams(BaseModel):
    """The filters every action query takes; each one given narrows the result."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: list[ActionStatus] = Field(
        default_factory=list, description="Any of these statuses (repeatable)."
    )
    priority: list[Priority] = Field(
        default_factory=list, description="Any of these priorities (repeatable)."
    )
    rag: list[Rag] = Field(
        default_factory=list, description="Any of these RAG assessments (repeatable)."
    )
    owner_id: QueryId | None = None
    unassigned: QueryFlag | None = Field(
        default=None, description="true: only actions without an owner; false: with one."
    )
    force: Force | None = Field(default=None, description="Case-insensitive.")
    year: Year | None = Field(
        default=None, description="As written (2018/19) or the starting year."
    )
    programme: Programme | None = None
    pillar: Pillar | None = None
    report_id: QueryId | None = None
    kind: FindingKind | None = None
    overdue: QueryFlag | None = Field(
        default=None, description="Due before as_of and still open, in progress or blocked."
    )
    stale: QueryFlag | None = Field(
        default=None,
        description="Open, in progress or blocked with no progress update (since it was "
        "created, if never) for more than AFI_STALE_AFTER_DAYS days before as_of.",
    )
    due_before: Day | None = Field(default=None, description="Due strictly before this day.")
    due_after: Day | None = Field(default=None, description="Due strictly after this day.")
    q: SearchText | None = Field(default=None, description=SEARCH_SYNTAX)
    as_of: Day | None = Field(
        default=None, description="The day overdue and stale are judged on (default: today)."
    )

    def to_filters(self) -> ActionFilters:
        return ActionFilters(
            statuses=tuple(dict.fromkeys(self.status)),
            priorities=tuple(dict.fromkeys(self.priority)),
            rags=tuple(dict.fromkeys(self.rag)),
            owner_id=self.owner_id,
            unassigned=self.unassigned,
            force=_text(self.force),
            year=_text(self.year),
            programme=_text(self.programme),
            pillar=_text(self.pillar),
            report_id=self.report_id,
            kind=self.kind,
            overdue=self.overdue,
            stale=self.stale,
            due_before=self.due_before,
            due_after=self.due_after,
            q=_text(self.q),
            as_of=self.as_of,
        )


class ExportParams(FilterParams):
    """The filters and an order: what the CSV export takes."""

    sort: ActionSort = Field(
        default=ActionSort.ID,
        description="Order; `-` before the name for descending. `relevance` (only with q): best "
        "matches first, `-relevance` the weakest first.",
    )

    @field_validator("sort")
    @classmethod
    def _relevance_needs_search(cls, sort: ActionSort, info: ValidationInfo) -> ActionSort:
        # q is validated first (declared first); when q itself was refused, that is the error.
        if sort.field == "relevance" and "q" in info.data and not _text(info.data["q"]):
            raise PydanticCustomError("sort", "sorting by relevance needs a search: give q")
        return sort


class ListParams(ExportParams):
    limit: QueryInt = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    )
    count: QueryFlag = Field(default=False, description="Also count every matching action.")
    format: OutputFormat | None = Field(
        default=None, description="csv for CSV (as does `Accept: text/csv`)."
    )


class HistoryParams(BaseModel):
    """Paging through one action's history, as through the list."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sort: HistorySort = Field(
        default=HistorySort.ID,
        description="`id`: oldest first, in the order the events were written; `-id`: newest "
        "first.",
    )
    limit: QueryInt = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(
        default=None, max_length=1000, description="`next_cursor` of the previous page."
    )


class StatsParams(FilterParams):
    group_by: StatsGroupBy = StatsGroupBy.STATUS


class OverdueParams(FilterParams):
    due_within: QueryDays | None = Field(
        default=None, description="Also count actions due within this many days."
    )
