"""Keep secrets out of the access log: the calendar feed takes a token in its URL."""

from __future__ import annotations

import logging
import re

_TOKEN_PARAM = re.compile(r"([?&]token=)[^&#\s]*")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access records carry (client, method, path with query, version, status).
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            if isinstance(path, str) and "token=" in path:
                record.args = (
                    client,
                    method,
                    _TOKEN_PARAM.sub(r"\1[redacted]", path),
                    version,
                    status,
                )
        return True


_FILTER = RedactTokens()


def install() -> None:
    logger = logging.getLogger("uvicorn.access")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
