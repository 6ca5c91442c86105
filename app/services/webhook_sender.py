"""Sending one claimed attempt: signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`,
`webhook-signature`: HMAC-SHA256 by the `standardwebhooks` package), POSTed with httpx under
the timeouts of the settings, redirects not followed, the answer's body not read."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks.webhooks import Webhook as Signer

from app.services import webhook_targets
from app.services.deliveries import Claimed, Outcome, message_id
from app.settings import get_settings

USER_AGENT = "afi-tracker-webhooks/1"
_ERROR_CHARS = 500


def client() -> httpx.Client:
    """The HTTP client of a worker: the timeouts of the settings, no proxies from the
    environment, no redirects (a redirect could lead to an internal address)."""
    return httpx.Client(
        timeout=httpx.Timeout(get_settings().webhook_timeout_seconds),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def headers(*, claimed: Claimed, body: str, at: datetime) -> dict[str, str]:
    msg_id = message_id(claimed.event_id)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(claimed.secret).sign(msg_id=msg_id, timestamp=at, data=body),
    }


def send(*, http: httpx.Client, claimed: Claimed, at: datetime) -> Outcome:
    """POST the attempt; a 2xx answer is a success, anything else (or none) a failure."""
    refused = webhook_targets.refusal(urlsplit(claimed.url).hostname or "")
    if refused is not None:
        return Outcome(ok=False, error=f"not sent: {refused}"[:_ERROR_CHARS])
    body = orjson.dumps(claimed.payload).decode()
    started = time.monotonic()
    try:
        with http.stream(
            "POST",
            claimed.url,
            content=body.encode(),
            headers=headers(claimed=claimed, body=body, at=at),
        ) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        latency = round((time.monotonic() - started) * 1000)
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Outcome(ok=False, latency_ms=latency, error=error[:_ERROR_CHARS])
    latency = round((time.monotonic() - started) * 1000)
    if 200 <= status < 300:
        return Outcome(ok=True, response_status=status, latency_ms=latency)
    return Outcome(
        ok=False, response_status=status, latency_ms=latency, error=f"answered HTTP {status}"
    )
