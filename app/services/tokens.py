"""API tokens: long random secrets, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.db import Reader
from app.enums import Role
from app.errors import Conflict, InvalidInput, NotFound
from app.models import ApiToken, Owner
from app.principal import Principal

logger = logging.getLogger("afi.tokens")
TOKEN_PREFIX = "afi_"  # noqa: S105  (a marker, not a secret)
# last_used_at is a hint for admins, not an audit trail: write it at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


USER_MAX_CHARS = 100


def user_name(user: str) -> str:
    """How a user is named and compared: without surrounding spaces, in lower case, so that
    "Ann" and "ann" are one person."""
    return user.strip().lower()


def create_token(
    *,
    session: Session,
    name: str,
    role: Role,
    user: str | None = None,
    created_by: str | None = None,
    owner_id: int | None = None,
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret; the secret is not kept anywhere.

    The token belongs to `user` (by default the user named like the token, as every token made
    before tokens had users); `created_by` says who made it (kept for audit)."""
    token_user = user_name(name if user is None else user)
    if not token_user or len(token_user) > USER_MAX_CHARS:
        raise InvalidInput(f"user must be 1 to {USER_MAX_CHARS} characters.", field="user")
    if owner_id is not None and session.get(Owner, owner_id) is None:
        raise InvalidInput(f"No owner with id {owner_id}.", field="owner_id")
    if expires_in_days is not None and expires_in_days < 1:
        raise InvalidInput("expires_in_days must be at least 1.", field="expires_in_days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.utcnow()
    token = ApiToken(
        name=name,
        role=role,
        user_name=token_user,
        created_by=created_by,
        owner_id=owner_id,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        secret_sha256=digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    try:
        with session.begin_nested():
            session.add(token)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A token named {name!r} already exists.") from exc
    logger.info(
        "token %r (%s) made for user %r by %s", name, role, token_user, created_by or "unknown"
    )
    return token, secret


def list_tokens(*, session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def get_token(*, session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No token with id {token_id}.")
    return token


def revoke_token(
    *, session: Session, token_id: int | None = None, name: str | None = None
) -> ApiToken:
    query = select(ApiToken)
    query = (
        query.where(ApiToken.id == token_id)
        if token_id is not None
        else query.where(ApiToken.name == name)
    )
    token = session.scalar(query)
    if token is None:
        raise NotFound(f"No token {token_id if token_id is not None else repr(name)}.")
    if token.revoked_at is None:
        token.revoked_at = clock.utcnow()
        session.flush()
    return token


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    # last_used_at is older than LAST_USED_RESOLUTION: the caller should `record_use`.
    needs_use_recorded: bool


_TOKEN = ApiToken.__table__.c
# Core columns, not the entity: authentication runs on every request, on a bare Connection.
_BY_DIGEST = (
    select(
        _TOKEN.id,
        _TOKEN.name,
        _TOKEN.role,
        _TOKEN.owner_id,
        _TOKEN.user_name,
        _TOKEN.revoked_at,
        _TOKEN.expires_at,
        _TOKEN.last_used_at,
        Owner.__table__.c.name.label("owner_name"),
    )
    .outerjoin(Owner.__table__, Owner.__table__.c.id == _TOKEN.owner_id)
    .where(_TOKEN.secret_sha256 == bindparam("digest"))
)


def authenticate(*, db: Reader, secret: str) -> Authenticated | None:
    """Who presents this secret, or None if it is unknown, expired or revoked. Reads only:
    recording the use is a separate write (`record_use`), made at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    presented = digest(secret)
    token = db.execute(_BY_DIGEST, {"digest": presented}).first()
    if token is None:
        return None
    now = clock.utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    principal = Principal(
        token_id=token.id,
        name=token.name,
        role=Role(token.role),
        owner_id=token.owner_id,
        owner_name=token.owner_name,
        user=token.user_name,
    )
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION
    return Authenticated(principal=principal, needs_use_recorded=stale)


def record_use(*, session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = clock.utcnow()
        session.flush()


def any_token(*, session: Session) -> bool:
    return (
        session.scalar(select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1))
        is not None
    )
