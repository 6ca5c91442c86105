"""Where webhooks may be sent: refusing internal addresses (server-side request forgery).

A target's host is resolved, and every address it resolves to must be a public one: not
loopback, private, link-local, shared, multicast, reserved or unspecified (IPv4-mapped IPv6
addresses judged as their IPv4), unless AFI_WEBHOOK_ALLOW_PRIVATE=true. Checked when a webhook
is made and again before every attempt (a name may resolve elsewhere later); redirects are
never followed."""

from __future__ import annotations

import ipaddress
import socket
from typing import NoReturn
from urllib.parse import urlsplit

from app.errors import InvalidInput
from app.settings import get_settings


def check_url(url: str) -> None:
    """A 422 naming `url` unless it is an http(s) URL to a public address."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not one
    except ValueError:
        _refuse(url, "its port is not a number from 0 to 65535")
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        _refuse(url, "it must be an absolute http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        _refuse(
            url, "credentials do not belong in it (send them nowhere: the signature is the proof)"
        )
    if parts.fragment or url.endswith("#"):
        _refuse(url, "it must have no fragment")
    reason = refusal(host)
    if reason is not None:
        _refuse(url, reason)


def refusal(host: str) -> str | None:
    """Why `host` may not be sent to; None if it may."""
    if get_settings().webhook_allow_private:
        return None
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"its host {host!r} does not resolve ({exc})"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            return (
                f"its host {host!r} is at {address}, which is not a public address (set "
                "AFI_WEBHOOK_ALLOW_PRIVATE=true to allow internal targets)"
            )
    return None


def _refuse(url: str, reason: str) -> NoReturn:
    raise InvalidInput(f"The webhook URL {url[:200]!r} is refused: {reason}.", field="url")
