"""The kept figures of ended days for the trend whose filters are only of the status, the RAG,
the owner's absence or presence and the programme: the sums of the groups of states they
select (`day_group_figure`, counted and kept with each day's row by app.services.day_figures),
so that such a trend reads a few hundred rows a day rather than every state of its range that
passes the filters (app.services.trend_kept).

A group is one status, RAG, assigned or not and programme: a filter of these selects whole
groups, and every figure of the trend is a sum over the states it selects. The conditions
compare what the filters' own conditions compare (app.services.action_filters): the status
and the RAG as given, the programme lower-cased on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, func, select, true

from app.db import Reader
from app.services import day_figures
from app.services.day_figures import DAY_GROUP_FIGURE, OVERDUE_COLUMNS, Figures

G = DAY_GROUP_FIGURE.c
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    "statuses": G.status.in_(bindparam("statuses", expanding=True)),
    "rags": G.rag.in_(bindparam("rags", expanding=True)),
    "unassigned": G.assigned == false(),
    "assigned": G.assigned == true(),
    "programme": G.programme == bindparam("programme"),
}
_FIGURES = ("open", *OVERDUE_COLUMNS, "completed", "opened")


def serves(shape: tuple[str, ...]) -> bool:
    """Whether the kept groups give the trend with these filters (some, and only those)."""
    return bool(shape) and all(name in _CONDITIONS for name in shape)


def read_days(
    *, db: Reader, first: date, last: date, shape: tuple[str, ...], params: Mapping[str, Any]
) -> dict[date, Figures]:
    """The kept figures of the days from `first` to `last` (those not kept left out) of the
    states the filters select: the sums of their groups (`actions` is not kept per group)."""
    kept = day_figures.read_days(db=db, first=first, last=last)
    sums = {
        day: [int(value) for value in values]
        for day, *values in db.execute(
            select(G.day_date, *(func.sum(G[name]) for name in _FIGURES))
            .where(G.day_date >= first, G.day_date <= last, *(_CONDITIONS[n] for n in shape))
            .group_by(G.day_date),
            params,
        )
    }
    found = {}
    for day in kept:
        open_, *overdue, completed, opened = sums.get(day, [0] * len(_FIGURES))
        found[day] = Figures(
            actions=0,
            open=open_,
            overdue=(overdue[0], overdue[1], overdue[2], overdue[3]),
            completed=completed,
            opened=opened,
        )
    return found
