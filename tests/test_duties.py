"""Separation of duties by person: a token belongs to a user, and whoever asked for sign-off
cannot give or refuse it under any token of theirs, admins included (issue 13, item 15)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from app.enums import Role
from app.models import Action, ActionEvent, ApiToken
from app.principal import system
from app.services import history, tokens
from app.services.reports import import_text
from tests.conftest import SEED, fresh_database
from tests.helpers import add_note, assert_problem, move

Clients = Callable[..., TestClient]


def _pending(asker: TestClient, action_id: int) -> None:
    assert move(asker, action_id, "in_progress").status_code == 200
    add_note(asker, action_id)
    assert move(asker, action_id, "pending_sign_off").status_code == 200


def _first_action(client: TestClient) -> int:
    return int(client.get("/api/v1/actions?limit=1").json()["items"][0]["id"])


def _refused_as_same_person(response: Any, user: str) -> None:
    body = assert_problem(response, 403)
    assert body["type"] == "urn:afi:problem:separation-of-duties"
    assert body["title"] == "Separation of duties"
    assert body["requested_by"] == user
    assert f"user {user!r} asked for sign-off" in body["detail"]
    assert "separation of duties" in body["detail"]


def test_the_person_who_asked_cannot_sign_off_under_another_token(
    client_as: Clients, seeded: int
) -> None:
    laptop = client_as("editor", name="ann-laptop", user="ann")
    action_id = _first_action(laptop)
    _pending(laptop, action_id)
    # Ann's other tokens, whatever their role or the case of her name: refused, both ways.
    for role, name, user in [
        ("approver", "ann-approver", "ann"),
        ("admin", "ann-admin", "Ann"),
    ]:
        other = client_as(role, name=name, user=user)
        _refused_as_same_person(move(other, action_id, "completed"), "ann")
        _refused_as_same_person(move(other, action_id, "in_progress", comment="no"), "ann")
    # Someone else can.
    bob = client_as("approver", name="bob-approver", user="bob")
    done = move(bob, action_id, "completed", comment="Verified")
    assert done.status_code == 200, done.text
    events = laptop.get(f"/api/v1/actions/{action_id}/history").json()["items"]
    assert [(e["kind"], e["actor"], e["user"]) for e in events][-2:] == [
        ("transition", "ann-laptop", "ann"),
        ("signed_off", "bob-approver", "bob"),
    ]


def test_an_admin_cannot_make_a_fresh_token_to_sign_off_their_own_request(
    client_as: Clients, seeded: int, session: Session
) -> None:
    admin = client_as("admin", name="boss")
    action_id = _first_action(admin)
    _pending(admin, action_id)
    created = admin.post(
        "/api/v1/tokens", json={"name": "fresh", "role": "approver", "user": "boss"}
    )
    assert created.status_code == 201, created.text
    assert (created.json()["user"], created.json()["created_by"]) == ("boss", "boss")
    fresh = TestClient(admin.app, headers={"Authorization": f"Bearer {created.json()['token']}"})
    _refused_as_same_person(move(fresh, action_id, "completed"), "boss")
    # What separation of duties does not prevent: a token for a made-up user. It is on record
    # who made it.
    other = admin.post("/api/v1/tokens", json={"name": "sock-puppet", "role": "approver"}).json()
    assert (other["user"], other["created_by"]) == ("sock-puppet", "boss")
    stored = session.scalars(select(ApiToken).where(ApiToken.name == "sock-puppet")).one()
    assert stored.created_by == "boss"


def test_a_token_belongs_by_default_to_the_user_named_like_it(client: TestClient) -> None:
    made = client.post("/api/v1/tokens", json={"name": "CI-Bot", "role": "editor"})
    assert made.status_code == 201
    assert made.json()["user"] == "ci-bot" and made.json()["created_by"] == "test-admin"
    listed = {t["name"]: t for t in client.get("/api/v1/tokens").json()["items"]}
    assert listed["CI-Bot"]["user"] == "ci-bot"
    assert listed["test-admin"]["user"] == "test-admin"
    assert_problem(
        client.post("/api/v1/tokens", json={"name": "x", "role": "viewer", "user": ""}), 422
    )
    bad = client.post("/api/v1/tokens", json={"name": "y", "role": "viewer", "user": "a\nb"})
    assert_problem(bad, 422)


def test_tokens_of_different_users_acting_for_different_owners_are_different_people(
    client_as: Clients, seeded: int
) -> None:
    """Before users, the fallback of the check: the same token, or a token for the same owner,
    is the same person too."""
    owner = client_as("admin").post("/api/v1/owners", json={"name": "Supt Jones"}).json()
    asker = client_as("editor", name="jones-pa", owner_id=owner["id"])
    action_id = _first_action(asker)
    _pending(asker, action_id)
    same_owner = client_as("approver", name="jones", owner_id=owner["id"])
    assert_problem(move(same_owner, action_id, "completed"), 403)
    assert move(client_as("approver", name="carol"), action_id, "completed").status_code == 200


runner = CliRunner()


def test_token_create_on_the_command_line_takes_a_user(session: Session) -> None:
    result = runner.invoke(
        cli, ["token", "create", "--name", "ann-ci", "--role", "editor", "--user", "Ann"]
    )
    assert result.exit_code == 0, result.output
    assert "for user 'ann'" in result.stderr
    default = runner.invoke(cli, ["token", "create", "--name", "Ops", "--role", "viewer"])
    assert default.exit_code == 0, default.output
    stored = {t.name: t for t in session.scalars(select(ApiToken))}
    assert (stored["ann-ci"].user_name, stored["Ops"].user_name) == ("ann", "ops")
    assert stored["ann-ci"].created_by is not None
    assert stored["ann-ci"].created_by.startswith("command line (")
    listing = runner.invoke(cli, ["token", "list"]).stdout
    assert "user ann" in listing and "made by command line (" in listing


def test_0008_gives_existing_tokens_and_events_a_user_and_downgrades(
    base_database_url: str,
) -> None:
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            import_text(session=session, raw=SEED.read_text(), metadata={}, actor=system("tests"))
            token, _secret = tokens.create_token(
                session=session, name="Ölaf-Bot", role=Role.EDITOR, user="someone else"
            )
            action = session.scalars(select(Action).order_by(Action.id).limit(1)).one()
            principal = tokens.authenticate(db=session, secret=_secret)
            assert principal is not None
            history.record(
                session=session, action=action, kind="comment", actor=principal.principal
            )
            token_id = token.id
        engine.dispose()

        migrate.downgrade(url, "0007")
        engine = create_engine(url)
        columns = {c["name"] for c in inspect(engine).get_columns("api_token")}
        assert "user_name" not in columns and "created_by" not in columns
        assert "user_name" not in {c["name"] for c in inspect(engine).get_columns("action_event")}
        with engine.connect() as connection:
            # The token and its events are kept, and still linked.
            linked = connection.execute(
                text("SELECT count(*) FROM action_event WHERE token_id = :id"), {"id": token_id}
            ).scalar_one()
            assert linked == 1
        engine.dispose()

        # Upgraded from 0007: every token belongs to the user named like it, every event
        # to its token's user; events of the command line to nobody.
        migrate.upgrade(url)
        engine = create_engine(url)
        with Session(engine) as session:
            stored = session.get(ApiToken, token_id)
            assert stored is not None
            # Lower case as the service writes it, non-ASCII letters included (SQL's lower()
            # would leave "Ö" alone: a second user for the same person).
            assert (stored.user_name, stored.created_by) == ("ölaf-bot", None)
            assert stored.user_name == tokens.user_name("Ölaf-Bot")
            users = set(session.scalars(select(ActionEvent.user_name)))
            assert users == {"ölaf-bot", None}
        # SQLite's column has a default only for the rows that were there: on both databases
        # a new token must name its user.
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO api_token (name, role, prefix, secret_sha256, created_at) "
                    "VALUES ('nobody', 'viewer', 'afi_x', 'x', CURRENT_TIMESTAMP)"
                )
            )
        engine.dispose()
