"""JSON answers built as plain dicts by the read services, serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response


def json_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """`body` as JSON, timestamps in UTC written with a `Z`, as every other answer has them."""
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json", headers=headers
    )
