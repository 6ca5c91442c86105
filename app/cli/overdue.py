"""`afi overdue`: the check a CI job runs. Exit 0: nothing overdue; 1: overdue (or, with
--fail-on due-soon, due soon); 2: usage or connection error."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from app import clock
from app.cli.common import console, err
from app.cli.overdue_formats import print_text, render_github, render_json, render_junit
from app.enums import Priority
from app.errors import AppError
from app.schemas.filters import ActionFilters
from app.services.overdue_rule import ACTIVE_STATUSES

if TYPE_CHECKING:  # importing it opens the database, which --help must not need
    from app.services.overdue import OverdueCheck

app = typer.Typer()

EXIT_OK, EXIT_OVERDUE, EXIT_ERROR = 0, 1, 2
PAGE = 500


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"


class FailOn(StrEnum):
    OVERDUE = "overdue"
    DUE_SOON = "due-soon"


class CheckFailed(Exception):
    """A usage or connection problem: exit code 2."""


def _default_format() -> Format:
    return Format.GITHUB if os.environ.get("GITHUB_ACTIONS") == "true" else Format.TEXT


@app.command(
    epilog="Exit codes: 0 nothing overdue; 1 overdue actions found (or due soon, with "
    "--fail-on due-soon); 2 usage or connection error."
)
def overdue(
    url: Annotated[
        str | None, typer.Option(help="Check a running service (e.g. https://afi.example.org).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="AFI_TOKEN", help="API token for --url (or AFI_TOKEN).")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(metavar="ID_OR_NAME", help="Owner id or exact name.")
    ] = None,
    force: Annotated[str | None, typer.Option(help="Only this force's reports.")] = None,
    report: Annotated[int | None, typer.Option(metavar="ID", help="Only this report (id).")] = None,
    priority: Annotated[
        list[Priority] | None, typer.Option(help="Only these priorities (repeatable).")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Judge as on this day (YYYY-MM-DD); default today."),
    ] = None,
    due_within: Annotated[
        int | None, typer.Option(min=0, metavar="DAYS", help="Also report actions due within DAYS.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="What makes the exit code 1.")] = FailOn.OVERDUE,
    output: Annotated[
        Format | None,
        typer.Option(
            "--format", help="text (a table), json, junit (JUnit XML) or github (annotations)."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, metavar="SECONDS", help="Seconds per HTTP request.")
    ] = 10.0,
) -> None:
    """Check for overdue actions, locally or against a running service; fail a build on them."""
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        err.print(f"[red]--as-of {as_of!r} is not a date (YYYY-MM-DD).[/red]")
        raise typer.Exit(EXIT_ERROR) from None
    filters = ActionFilters(
        statuses=ACTIVE_STATUSES,
        priorities=tuple(priority or ()),
        force=force,
        report_id=report,
        as_of=day,
    )
    try:
        if url:
            result = _check_remote(
                url=url, token=token, owner=owner, filters=filters, due_within=due_within,
                timeout=timeout,
            )  # fmt: skip
        else:
            result = _check_local(owner=owner, filters=filters, due_within=due_within)
    except CheckFailed as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_ERROR) from exc
    # Any other error, a crash included, is reported by the root command with exit code 2:
    # exit code 1 means "overdue found", and must never be mistaken for one.

    failed = bool(result.overdue) or (fail_on is FailOn.DUE_SOON and bool(result.due_soon))
    chosen = output or _default_format()
    if chosen is Format.TEXT:
        print_text(result, console=console())
    elif chosen is Format.JSON:
        sys.stdout.write(render_json(result, failed=failed, fail_on=fail_on) + "\n")
    elif chosen is Format.JUNIT:
        sys.stdout.write(render_junit(result, fail_on=fail_on) + "\n")
    else:
        sys.stdout.write(render_github(result, fail_on=fail_on) + "\n")
    raise typer.Exit(EXIT_OVERDUE if failed else EXIT_OK)


def _check_local(
    *, owner: str | None, filters: ActionFilters, due_within: int | None
) -> OverdueCheck:
    from sqlalchemy.exc import SQLAlchemyError

    from app.cli.preflight import describe, require_database

    require_database()
    from app.db import SessionLocal
    from app.services import overdue as service
    from app.services import owners

    try:
        with SessionLocal() as session:
            if owner is not None:
                owner_ids = owners.owner_ids_matching(
                    session=session, id_or_name=_owner_id(owner) if _is_id(owner) else owner
                )
                if len(owner_ids) != 1:
                    raise CheckFailed(f"No single owner matches {owner!r}.")
                filters = replace(filters, owner_id=owner_ids[0])
            as_of = filters.as_of or clock.today()
            return service.check(
                session=session, filters=filters, as_of=as_of, due_within=due_within
            )
    except AppError as exc:
        raise CheckFailed(f"Cannot read the database: {exc.detail}") from exc
    except SQLAlchemyError as exc:
        raise CheckFailed("\n".join(describe(exc) or ())) from exc


def _check_remote(
    *,
    url: str,
    token: str | None,
    owner: str | None,
    filters: ActionFilters,
    due_within: int | None,
    timeout: float,
) -> OverdueCheck:
    from app.services import overdue as service

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # Retries cover refused or dropped connections; TLS certificates are always verified.
    transport = httpx.HTTPTransport(retries=3)
    try:
        with httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        ) as client:
            if owner is not None:
                filters = replace(filters, owner_id=_remote_owner_id(client, owner))
            params = _params(filters)
            summary = _get(client, "/api/v1/actions/overdue-summary", params)
            as_of = date.fromisoformat(summary["as_of"])
            items = list(_remote_actions(client, {**params, "as_of": as_of.isoformat()}))
    except httpx.HTTPError as exc:
        raise CheckFailed(f"Cannot reach {url}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckFailed(f"{url} gave an answer this check does not understand: {exc!r}") from exc
    return service.classify(items=items, as_of=as_of, due_within=due_within)


def _params(filters: ActionFilters) -> dict[str, Any]:
    params: dict[str, Any] = {"status": list(filters.statuses)}
    if filters.priorities:
        params["priority"] = list(filters.priorities)
    if filters.owner_id is not None:
        params["owner_id"] = filters.owner_id
    if filters.force:
        params["force"] = filters.force
    if filters.report_id is not None:
        params["report_id"] = filters.report_id
    if filters.as_of is not None:
        params["as_of"] = filters.as_of.isoformat()
    return params


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> Any:
    response = client.get(path, params=params)
    if response.status_code in (401, 403):
        raise CheckFailed(f"{response.status_code}: the token is missing, invalid or too weak.")
    try:
        body = response.json()
    except ValueError:
        # A proxy's error page, or a URL that is not this service.
        raise CheckFailed(
            f"{path} answered {response.status_code} with something other than JSON; "
            "is --url the AFI Tracker service?"
        ) from None
    if response.is_error:
        detail = body.get("detail", "") if isinstance(body, dict) else ""
        raise CheckFailed(f"{path} answered {response.status_code}: {detail}")
    return body


def _owner_id(owner: str) -> int:
    if len(owner) > 10 or int(owner) > 2**31 - 1:
        raise CheckFailed(f"--owner {owner} is not an owner id.")
    return int(owner)


def _is_id(owner: str) -> bool:
    # isdigit() alone takes "²" for a digit, which int() refuses.
    return owner.isascii() and owner.isdecimal()


def _remote_owner_id(client: httpx.Client, owner: str) -> int:
    if _is_id(owner):
        return _owner_id(owner)
    matches = [o["id"] for o in _get(client, "/api/v1/owners", {})["items"] if o["name"] == owner]
    if len(matches) != 1:
        raise CheckFailed(f"No single owner matches {owner!r}.")
    return int(matches[0])


def _remote_actions(client: httpx.Client, params: dict[str, Any]) -> Any:
    cursor = None
    while True:
        page = _get(
            client,
            "/api/v1/actions",
            {**params, "limit": PAGE, "sort": "due_date", **({"cursor": cursor} if cursor else {})},
        )
        for item in page["items"]:
            item["due_date"] = date.fromisoformat(item["due_date"]) if item["due_date"] else None
            yield item
        cursor = page.get("next_cursor")
        if not cursor:
            return
