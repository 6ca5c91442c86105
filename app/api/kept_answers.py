"""Answers of heavy reads kept between writes (app.kept_reads), as HTTP responses.

A kept answer compressed with gzip goes out as it is to a client that accepts gzip (RFC 9110
12.5.3: nearly every client does), with `Content-Encoding: gzip`; any other client gets it
decompressed. The same request may so be answered compressed or not, by whether its answer was
kept: every such answer says `Vary: Accept-Encoding`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from app.answer_cache import Kept
from app.api.quality import quality_values
from app.db import Database
from app.kept_reads import Answer, run_kept_read
from app.schemas.filters import ActionFilters
from app.services import action_reads

_JSON = "application/json"
_VARY = {"Vary": "Accept-Encoding"}
_GZIPPED = {**_VARY, "Content-Encoding": "gzip"}
_GZIP = 16 + zlib.MAX_WBITS

# For the routes' `responses=`: the headers of an answer that may have been kept.
KEPT_HEADERS = {
    "Vary": {
        "description": "`Accept-Encoding`: a kept answer is sent gzip-compressed to a client "
        "that accepts it.",
        "schema": {"type": "string"},
    },
    "Content-Encoding": {
        "description": "`gzip` when the answer is sent compressed.",
        "schema": {"type": "string"},
    },
}


async def kept_json(
    request: Request,
    db: Database,
    params: BaseModel,
    call: Callable[..., Answer],
    /,
    **kwargs: Any,
) -> Response:
    """The JSON answer of the heavy read `call(db=..., **kwargs)`, kept for the request's path
    and `params` (app.kept_reads)."""
    found = await run_kept_read(
        db, call, key=(request.url.path, params.model_dump_json()), **kwargs
    )
    if isinstance(found, Kept):
        if not found.gzipped:
            return Response(found.body, media_type=_JSON, headers=_VARY)
        if accepts_gzip(request.headers.get("accept-encoding")):
            return Response(found.body, media_type=_JSON, headers=_GZIPPED)
        body = await to_thread.run_sync(zlib.decompress, found.body, _GZIP)
        return Response(body, media_type=_JSON, headers=_VARY)
    if isinstance(found, bytes):
        return Response(found, media_type=_JSON, headers=_VARY)
    return StreamingResponse(db.stream_heavy(found), media_type=_JSON, headers=_VARY)


async def kept_count(db: Database, filters: ActionFilters) -> int:
    """How many actions `filters` select on their day (`as_of`, set: a list's `total`), kept
    between writes (app.kept_reads) as stats are: a count may read much of the table."""
    found = await run_kept_read(
        db, action_reads.count_answer, key=("count", filters), filters=filters
    )
    body = found.body if isinstance(found, Kept) else found
    assert isinstance(body, bytes)  # a count is never streamed nor compressed
    return int(body)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header (RFC 9110 12.5.3) accepts gzip: named (or `x-gzip`)
    with a weight above 0, or else `*` with one."""
    weights = quality_values(accept_encoding or "")
    gzip = weights.get("gzip", weights.get("x-gzip"))
    return (gzip if gzip is not None else weights.get("*", 0.0)) > 0
