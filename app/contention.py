"""Lock contention between units of work: retried here, a bounded number of times, before it
becomes a conflict the client hears about.

Most contention is prevented rather than retried: a unit of work that changes actions locks
them first (SELECT ... ORDER BY id FOR UPDATE, always in id order, so that two of them cannot
deadlock) and checks versions and If-Match under that lock. What can remain, on PostgreSQL:

- a version counter found changed at write time (StaleDataError), on a row read unlocked;
- a deadlock (40P01) with a unit of work that locks rows in another order;
- a serialization failure (40001), should a transaction run above READ COMMITTED.

None of these says anything about the client's request: the same request a moment later
succeeds. So the whole unit of work is run again, in a fresh transaction, after a short
jittered pause. A client's stale If-Match is not contention: the retried unit of work checks
it again and answers 412. Business conflicts (AppError) and waits that ran out
(lock_timeout, 55P03: the database already waited as long as it is configured to) are
never retried here.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

logger = logging.getLogger("afi.contention")

T = TypeVar("T")

ATTEMPTS = 4
# The first pause is at most this long; each further one at most twice the one before.
FIRST_PAUSE_S = 0.02
# SQLSTATEs of lock contention that a fresh transaction resolves.
RETRIED_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected

# Replaced in tests, so that they need not wait.
pause: Callable[[float], None] = time.sleep


def is_contention(exc: BaseException) -> bool:
    """Whether `exc` is lock contention that running the unit of work again resolves."""
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        # psycopg 3 names it sqlstate, psycopg2 pgcode.
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return code in RETRIED_SQLSTATES
    return False


def retrying(*, session: Session, work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`work()`, the request's whole unit of work on `session`, run again from a rolled-back
    session while it fails with lock contention, at most `attempts` times in all. The last
    failure is raised as it is (answered 409, or 412 with If-Match). Committing stays with
    whoever owns the session (the request's dependency)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            if not is_contention(exc):
                raise
            if attempt == attempts:
                logger.warning("lock contention persisted over %d attempts: %s", attempts, exc)
                raise
            session.rollback()
            logger.info("lock contention (attempt %d of %d), retrying: %s", attempt, attempts, exc)
            pause(random.uniform(0, FIRST_PAUSE_S * 2 ** (attempt - 1)))  # noqa: S311
    raise AssertionError("unreachable")  # pragma: no cover
