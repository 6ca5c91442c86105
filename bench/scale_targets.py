"""What the scale benchmark asks (bench/scale.py): the requests of each section, and values to
filter by that select something in the generated data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, func, select

from app import clock
from app.models import Owner, Report
from app.schemas.filters import ActionSort
from app.schemas.params import FilterParams
from app.schemas.stats import StatsGroupBy

LIST = "/api/v1/actions"


@dataclass
class Samples:
    """Values to filter by that select something in the generated data."""

    owner_id: int
    report_id: int
    today: Any

    def by_filter(self) -> dict[str, str]:
        return {
            "status": "status=blocked",
            "priority": "priority=critical",
            "rag": "rag=red",
            "owner_id": f"owner_id={self.owner_id}",
            "unassigned": "unassigned=true",
            "force": "force=Kent",
            "year": "year=2019",
            "programme": "programme=PEEL",
            "pillar": "pillar=Legitimacy",
            "report_id": f"report_id={self.report_id}",
            "kind": "kind=cause_of_concern",
            "overdue": "overdue=true",
            "stale": "stale=true",
            "due_before": f"due_before={self.today - timedelta(days=365)}",
            "due_after": f"due_after={self.today + timedelta(days=30)}",
            "q": "q=safeguarding",
            "as_of": f"overdue=true&as_of={self.today + timedelta(days=90)}",
        }


def read_samples(url: str) -> Samples:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            owners = connection.scalar(select(func.max(Owner.id))) or 1
            reports = connection.scalar(select(func.max(Report.id))) or 1
    finally:
        engine.dispose()
    return Samples(
        owner_id=max(1, owners // 2), report_id=max(1, reports // 2), today=clock.today()
    )


def main_targets() -> list[tuple[str, str]]:
    targets = [
        ("list, 50", f"{LIST}?limit=50"),
        (
            "open or in progress, overdue, by days overdue",
            f"{LIST}?status=open&status=in_progress&overdue=true&sort=-days_overdue",
        ),
        ("force=Kent&year=2020", f"{LIST}?force=Kent&year=2020"),
        ("q=vetting&count=true", f"{LIST}?q=vetting&count=true"),
        ("count=true", f"{LIST}?count=true"),
        ("overdue summary", "/api/v1/actions/overdue-summary"),
    ]
    targets += [(f"stats by {group}", f"/api/v1/stats?group_by={group}") for group in StatsGroupBy]
    return targets


def filter_targets(samples: Samples) -> tuple[list[tuple[str, str]], list[str]]:
    """Each documented filter alone, then each sort alone; and filters with no sample value
    (a filter added since this was written)."""
    values = samples.by_filter()
    targets, unknown = [], []
    for name in FilterParams.model_fields:
        if name in values:
            # Ids differ with the size: named so that tables of different sizes line up.
            label = f"{name}=(a middle one)" if name.endswith("_id") else values[name]
            targets.append((label, f"{LIST}?{values[name]}"))
        else:
            unknown.append(name)
    # Relevance is the order of a search: it needs q.
    targets += [
        (f"sort={sort.value}", f"{LIST}?sort={sort.value}")
        if sort.field != "relevance"
        else (f"q=safeguarding&sort={sort.value}", f"{LIST}?q=safeguarding&sort={sort.value}")
        for sort in ActionSort
    ]
    return targets, unknown


CURSOR_SHAPES = (
    ("page 20, by id", f"{LIST}?limit=50"),
    ("page 20, open by due date", f"{LIST}?status=open&sort=due_date"),
    ("page 20, by -updated_at", f"{LIST}?sort=-updated_at"),
    ("page 20, Kent by reference", f"{LIST}?force=Kent&sort=reference"),
    ("page 20, q=safeguarding", f"{LIST}?q=safeguarding"),
)


# Filters together, a count with filters, and searches sorted by relevance: the shapes that
# were slowest when each filter alone was not.
COMBINED = (
    ("force=Kent&year=2020", f"{LIST}?force=Kent&year=2020"),
    ("force=Kent&year=2020&count=true", f"{LIST}?force=Kent&year=2020&count=true"),
    ("status=open&overdue=true&count=true", f"{LIST}?status=open&overdue=true&count=true"),
    ("programme=PEEL&status=open&count=true", f"{LIST}?programme=PEEL&status=open&count=true"),
    ("q=safeguarding&count=true", f"{LIST}?q=safeguarding&count=true"),
    ("q=safeguarding&status=open&count=true", f"{LIST}?q=safeguarding&status=open&count=true"),
    ("q=safeguarding&force=Kent", f"{LIST}?q=safeguarding&force=Kent"),
    ("q=vetting&sort=relevance", f"{LIST}?q=vetting&sort=relevance"),
    ("q=safeguarding&sort=relevance", f"{LIST}?q=safeguarding&sort=relevance"),
    ("q=policing&sort=relevance", f"{LIST}?q=policing&sort=relevance"),
    ("q=force&sort=relevance (every action)", f"{LIST}?q=force&sort=relevance"),
)
