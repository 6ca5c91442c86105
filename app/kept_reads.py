"""Heavy reads whose answer is kept, and given again while the data is unchanged.

Stats over a million actions take from a tenth of a second to a second to read and encode,
and dashboards ask the same questions again and again between writes. An answer is kept (in
the database's AnswerCache) under the request's key, today's date (answers count overdue
against it) and the data version it was read at (app.data_version); a request that finds the
same version is given the kept answer, exactly what reading again would answer. Any commit
changes the version, so a kept answer is never older than the data.

A large answer (the chunks of a body: stats by report, many megabytes) is kept gzip-compressed,
a sixth of its size, compressed chunk by chunk as it is sent: kept whole it would put the
server's memory over its budget.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from sqlalchemy import Connection

from app import clock
from app.answer_cache import Kept
from app.db import Database

Answer = bytes | Iterator[bytes]
# zlib's fastest level: about 10 ms per megabyte here, for a sixth of the size.
_LEVEL = 1
_GZIP = 16 + zlib.MAX_WBITS  # a gzip member, which HTTP's Content-Encoding: gzip names


async def run_kept_read(
    database: Database, call: Callable[..., Answer], /, *, key: Hashable, **kwargs: Any
) -> Answer | Kept:
    """`database.run_heavy_read(call, **kwargs)`, whose answer (bytes, or the chunks of a body)
    is kept under `key`; given again (Kept) for as long as the data version and the day are
    the ones it was read at."""
    cache = database.answers
    if not cache.max_bytes:
        return await database.run_heavy_read(call, **kwargs)
    day = clock.today()
    kept_as = (key, day)
    version = await database.run_read(database.data_version)
    if version is not None:
        kept = cache.get(kept_as, version)
        if kept is not None:
            return kept

    def read(*, db: Connection) -> tuple[str | None, Answer]:
        # Before the call's first statement: the version its reads see (app.data_version).
        read_at = database.data_version(db=db)
        return read_at, call(db=db, **kwargs)

    read_at, answer = await database.run_heavy_read(read)
    if read_at is None or clock.today() != day:  # the day may have turned before it was read
        return answer
    if isinstance(answer, bytes):
        cache.put(kept_as, read_at, Kept(answer))
        return answer
    return _kept_when_done(database, kept_as, read_at, answer)


def _kept_when_done(
    database: Database, key: Hashable, version: str, chunks: Iterator[bytes]
) -> Iterator[bytes]:
    """The chunks, compressed beside as they go and kept once the last is made (unless larger
    than the cache holds, or never finished: the client went away)."""
    compressor = zlib.compressobj(_LEVEL, zlib.DEFLATED, _GZIP)
    parts: list[bytes] | None = []
    size = 0
    for chunk in chunks:
        if parts is not None:
            part = compressor.compress(chunk)
            size += len(part)
            parts.append(part)
            if size > database.answers.max_bytes:
                parts = None
        yield chunk
    if parts is not None:
        parts.append(compressor.flush())
        database.answers.put(key, version, Kept(b"".join(parts), gzipped=True))
