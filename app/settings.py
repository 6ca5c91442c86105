"""Settings: one class, read from the environment (prefix `AFI_`) and validated at start."""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.enums import Role


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFI_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./afi.db"
    # Requests holding a database session at once (per process); the pool allows more, so
    # exports and background writes still find a connection.
    max_concurrent_sessions: int = Field(default=20, gt=0, le=500)
    # Stats, summaries, counts and exports running at once (per process); others wait their
    # turn, so that on a small machine the cheap requests beside them always find a core.
    max_concurrent_heavy_reads: int = Field(default=1, gt=0, le=100)
    # Encoded answers of stats, trends and summaries kept per process (megabytes; 0: none),
    # each served again only while no write has committed since it was read (app.kept_reads).
    answer_cache_mb: int = Field(default=32, ge=0, le=4096)
    seeds_dir: Path = Path("seeds")
    data_dir: Path = Path("data")
    timezone: str = "Europe/London"
    max_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # Findings one import may store: it holds the database's write lock (all of SQLite's) while
    # it stores them; 2,000 new findings take about 0.5 s on 2 cores. Larger reports are refused.
    max_import_findings: int = Field(default=2000, gt=0)
    # The service's address as clients reach it (scheme, host, any path prefix): the base of
    # every absolute URL it writes. Unset, links are relative; never built from Host.
    public_url: str | None = None
    public_read: bool = False
    forwarded_allow_ips: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    auth_failure_limit: int = Field(default=10, gt=0)
    auth_failure_window_seconds: float = Field(default=60.0, gt=0)
    log_level: str = "info"
    # Towards the database: how long to wait for a new connection (PostgreSQL; also how long a
    # pooled connection's liveness check may take), for one statement (PostgreSQL's
    # statement_timeout, and the client's own deadline for an answer: a frozen server never
    # answers; 0 means no limit), and for another writer's lock (SQLite's busy timeout).
    db_connect_timeout_seconds: float = Field(default=5.0, ge=1, le=600)
    db_statement_timeout_seconds: float = Field(default=30.0, ge=0, le=86400)
    db_busy_timeout_seconds: float = Field(default=30.0, ge=0, le=600)
    # `/ready` answers within this long: 503 if the database has not shown by then that it
    # takes writes.
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # The least role that may revise an action's due date once it has one (set it to
    # `approver` to reserve revisions to approvers).
    due_date_revision_role: Role = Role.EDITOR
    # An action still to be done with no progress update for more than this many days is stale.
    stale_after_days: int = Field(default=90, ge=1, le=3650)
    # Actions one committee pack may hold (its workbook and page are made in memory); a
    # selection of more is refused with a 422 that says to narrow the filters.
    max_pack_items: int = Field(default=5000, gt=0, le=100_000)
    # Events (issue 16). The daily tick reports actions due within this many days (due_soon).
    due_soon_days: int = Field(default=14, ge=0, le=365)
    # Webhook targets in loopback, private, link-local and other non-public ranges are refused
    # (server-side request forgery) unless this is set.
    webhook_allow_private: bool = False
    # One delivery attempt may take this long; failed ones are retried with exponential
    # backoff for this many hours, and a webhook failing for that long is disabled.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_retry_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    # How often an idle worker looks for new events and due deliveries.
    worker_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
    # E-mail digests: the SMTP server (smtp://[user:password@]host[:port], with
    # ?starttls=true to upgrade the connection, or smtps:// for TLS from the start) and the
    # sender. Without a server no digest is made.
    smtp_url: str | None = None
    mail_from: str = "afi-tracker@localhost"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises on a port that is not one
        except ValueError as exc:
            raise ValueError(f"invalid port in {value!r}") from exc
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or "?" in value
            or "#" in value
            or any(char.isspace() or not char.isprintable() for char in value)
        ):
            raise ValueError(
                "must be an absolute http:// or https:// URL without credentials, query or "
                "fragment, e.g. https://afi.example.org"
            )
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises on a port that is not one
        except ValueError as exc:
            raise ValueError(f"invalid port in the SMTP URL of {parts.hostname!r}") from exc
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("must be smtp://[user:password@]host[:port] or smtps://...")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        # Checked at start: a bad sender would otherwise fail every digest at sending time.
        _name, address = parseaddr(value)
        if "\r" in value or "\n" in value or "@" not in address.strip("@"):
            raise ValueError("must be an e-mail address, e.g. afi@example.org or 'AFI <afi@…>'")
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
