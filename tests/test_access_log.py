from __future__ import annotations

import logging

from app.access_log import RedactTokens


def _record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip


def test_tokens_in_urls_are_redacted_from_the_access_log() -> None:
    record = _record("/api/v1/calendar.ics?owner_id=3&token=afi_secret&status=open")
    assert RedactTokens().filter(record)
    message = record.getMessage()
    assert "afi_secret" not in message
    assert "token=[redacted]&status=open" in message and "owner_id=3" in message


def test_other_lines_are_untouched() -> None:
    record = _record("/api/v1/actions?status=open")
    RedactTokens().filter(record)
    assert record.getMessage().endswith('"GET /api/v1/actions?status=open HTTP/1.1" 200')
