"""Heavy reads whose encoded answer is kept, and given again while the data is unchanged.

Stats over a million actions take from a tenth of a second to a second to read and encode,
and dashboards ask the same questions again and again between writes. An answer is kept (in
the database's AnswerCache) under the request's key, today's date (answers count overdue
against it) and the data version it was read at (app.data_version); a request that finds the
same version is given the kept bytes, exactly what reading again would answer. Any commit
changes the version, so a kept answer is never older than the data.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar, cast

from sqlalchemy import Connection

from app import clock
from app.db import Database

Answer = TypeVar("Answer", bound=bytes | Iterator[bytes])


async def run_kept_read(
    database: Database, call: Callable[..., Answer], /, *, key: Hashable, **kwargs: Any
) -> Answer:
    """`database.run_heavy_read(call, **kwargs)`, whose answer (bytes, or the chunks of a body)
    is kept under `key` and given again for as long as the data version and the day are the
    ones it was read at."""
    cache = database.answers
    if not cache.max_bytes:
        return await database.run_heavy_read(call, **kwargs)
    day = clock.today()
    kept_as = (key, day)
    version = await database.run_read(database.data_version)
    if version is not None:
        kept = cache.get(kept_as, version)
        if kept is not None:
            return cast(Answer, kept)

    def read(*, db: Connection) -> tuple[str | None, Answer]:
        # Before the call's first statement: the version its reads see (app.data_version).
        read_at = database.data_version(db=db)
        return read_at, call(db=db, **kwargs)

    read_at, answer = await database.run_heavy_read(read)
    if read_at is None or clock.today() != day:  # the day may have turned before it was read
        return answer
    if isinstance(answer, bytes):
        cache.put(kept_as, read_at, answer)
        return answer
    return cast(Answer, _kept_when_done(database, kept_as, read_at, answer))


def _kept_when_done(
    database: Database, key: Hashable, version: str, chunks: Iterator[bytes]
) -> Iterator[bytes]:
    """The chunks, kept as one answer once the last is made (unless larger than the cache
    holds, or never finished: the client went away)."""
    made: list[bytes] | None = []
    size = 0
    for chunk in chunks:
        if made is not None:
            size += len(chunk)
            if size <= database.answers.max_bytes:
                made.append(chunk)
            else:
                made = None
        yield chunk
    if made is not None:
        database.answers.put(key, version, b"".join(made))
