"""What "stale" means, said once: an action still to be done (open, in progress or blocked, as
for overdue) whose last progress update (`last_progress_at`; never updated: since it was
created, `created_at`) is on a day more than `AFI_STALE_AFTER_DAYS` days before the day it is
judged on. Days are the service's (AFI_TIMEZONE), as for overdue; an update on the cut-off day
itself still counts.

`STALE` is the rule in SQL, `is_stale` in Python for rows already fetched; a test holds the two
to the same answers. Both compare the moment against `stale_before(as_of)`, the start of the
first day an update still counts for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, bindparam, or_

from app.models import Action
from app.services.overdue_rule import ACTIVE_STATUSES
from app.settings import get_settings

_ACTIVE = frozenset(str(status) for status in ACTIVE_STATUSES)
_A = Action.__table__.c


def stale_before(as_of: date) -> datetime:
    """The start (in AFI_TIMEZONE) of the earliest day whose progress update keeps an action
    from being stale on `as_of`."""
    settings = get_settings()
    if as_of.toordinal() <= settings.stale_after_days + 1:
        return datetime.min.replace(tzinfo=UTC)  # before any action was made
    first_day = as_of - timedelta(days=settings.stale_after_days)
    return datetime.combine(first_day, time(), tzinfo=settings.tz)


def is_stale(
    *, status: str, last_progress_at: datetime | None, created_at: datetime, before: datetime
) -> bool:
    """Whether an action is stale, `before` being `stale_before(as_of)`."""
    if status not in _ACTIVE:
        return False
    return (last_progress_at if last_progress_at is not None else created_at) < before


# The moment from `stale_before`: a parameter of every statement that uses the rule.
STALE_BEFORE = bindparam("stale_before", type_=_A.last_progress_at.type)

# Said without COALESCE, so that each branch reads ix_action_last_progress_at.
STALE = and_(
    _A.status.in_(ACTIVE_STATUSES),
    or_(
        _A.last_progress_at < STALE_BEFORE,
        and_(_A.last_progress_at.is_(None), _A.created_at < STALE_BEFORE),
    ),
)
# Spelled out rather than NOT(...): a NULL last_progress_at must not make the answer NULL.
NOT_STALE = or_(
    _A.status.not_in(ACTIVE_STATUSES),
    _A.last_progress_at >= STALE_BEFORE,
    and_(_A.last_progress_at.is_(None), _A.created_at >= STALE_BEFORE),
)
