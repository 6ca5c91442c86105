"""The action list's filters as SQL: one condition per filter given, on the action table alone
(what a filter asks of the report or the finding is a subquery), so that a page, a count or an
aggregate reads only the action table and its indexes."""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, bindparam, exists, func, or_, select

from app.enums import Priority
from app.models import Action, Finding, Owner, Report, Section
from app.schemas.filters import ActionFilters
from app.services.as_of import cutoff_params
from app.services.overdue_rule import NOT_OVERDUE, OVERDUE
from app.services.search import parse as parse_search
from app.services.search_index import matching_ids, search_params
from app.services.stale_rule import NOT_STALE, STALE, stale_before

ACTION = Action.__table__
FINDING = Finding.__table__
REPORT = Report.__table__
SECTION = Section.__table__
OWNER = Owner.__table__
A = ACTION.c
F = FINDING.c
R = REPORT.c


# Every filter is one condition with named parameters, on the action alone (what it asks of
# the report or the finding is a subquery), so that a page, a count or an aggregate reads only
# the action table and its indexes. Statements are built once per combination of filters given
# (a "shape") and run with each request's values, so SQLAlchemy neither rebuilds them nor walks
# them again to find their compiled form.
_REPORT_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "force": func.lower(R.force) == bindparam("force"),
    # "2018/19" matches the year as written; "2018" also matches a report for 2018/19.
    "year": or_(R.year_label == bindparam("year"), R.start_year == bindparam("start_year")),
    "programme": func.lower(R.programme) == bindparam("programme"),
    "pillar": func.lower(R.pillar) == bindparam("pillar"),
}
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "statuses": A.status.in_(bindparam("statuses", expanding=True)),
    "priorities": A.priority.in_(bindparam("priorities", expanding=True)),
    "rags": A.rag.in_(bindparam("rags", expanding=True)),
    "owner_id": A.owner_id == bindparam("owner_id"),
    "unassigned": A.owner_id.is_(None),
    "assigned": A.owner_id.is_not(None),
    "report_id": A.report_id == bindparam("report_id"),
    "kind": exists().where(F.id == A.finding_id, F.kind == bindparam("kind")),
    "overdue": OVERDUE,
    "not_overdue": NOT_OVERDUE,
    "stale": STALE,
    "not_stale": NOT_STALE,
    "due_before": A.due_date < bindparam("due_before"),
    "due_after": A.due_date > bindparam("due_after"),
    # The full-text index gives the candidates (app.services.search_index).
    "q": A.id.in_(matching_ids()),
}


class FilterValues(NamedTuple):
    """Filters as SQL: which conditions apply, and the parameters to run them with."""

    shape: tuple[str, ...]
    params: dict[str, Any]


def filter_values(*, filters: ActionFilters, as_of: date) -> FilterValues:
    # A past day's answers read the states that held at its end (app.services.as_of).
    params: dict[str, Any] = {"as_of": as_of, "stale_before": stale_before(as_of)}
    params.update(cutoff_params(as_of))
    shape: list[str] = []

    def given(name: str, value: Any) -> None:
        shape.append(name)
        params[name] = value

    if filters.statuses:
        given("statuses", list(filters.statuses))
    if filters.priorities:
        given("priorities", list(filters.priorities))
        # The same filter on the rank, which a walk in priority order is bounded by.
        params["priority_ranks"] = [Priority(priority).rank for priority in filters.priorities]
    if filters.rags:
        given("rags", list(filters.rags))
    if filters.owner_id is not None:
        given("owner_id", filters.owner_id)
    if filters.unassigned is not None:
        shape.append("unassigned" if filters.unassigned else "assigned")
    if filters.force:
        given("force", filters.force.lower())
    if filters.year:
        given("year", filters.year)
        four_digits = len(filters.year) == 4 and filters.year.isdigit()
        params["start_year"] = int(filters.year) if four_digits else None
    if filters.programme:
        given("programme", filters.programme.lower())
    if filters.pillar:
        given("pillar", filters.pillar.lower())
    if filters.report_id is not None:
        given("report_id", filters.report_id)
    if filters.kind:
        given("kind", filters.kind)
    if filters.overdue is not None:
        shape.append("overdue" if filters.overdue else "not_overdue")
    if filters.stale is not None:
        shape.append("stale" if filters.stale else "not_stale")
    if filters.due_before is not None:
        given("due_before", filters.due_before)
    if filters.due_after is not None:
        given("due_after", filters.due_after)
    if filters.q:
        shape.append("q")
        params.update(search_params(parse_search(filters.q)))
    return FilterValues(tuple(shape), params)


def report_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """The shape's conditions on the report (force, year, programme, pillar), on `report`."""
    return [_REPORT_CONDITIONS[name] for name in shape if name in _REPORT_CONDITIONS]


def filter_conditions(shape: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """WHERE conditions for a shape, on the action table alone."""
    conditions = [_CONDITIONS[name] for name in shape if name in _CONDITIONS]
    on_report = report_conditions(shape)
    if on_report:
        conditions.append(A.report_id.in_(select(R.id).where(*on_report)))
    return conditions
