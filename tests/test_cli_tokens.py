from __future__ import annotations

import hashlib
import shutil
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli, prepare_database
from app.models import ApiToken

runner = CliRunner()


def test_token_create_prints_only_the_secret_on_stdout(
    anonymous: TestClient, session: Session
) -> None:
    result = runner.invoke(cli, ["token", "create", "--name", "first-admin", "--role", "admin"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("afi_") and "\n" not in secret
    assert "first-admin" in result.stderr and secret not in result.stderr
    stored = session.scalars(select(ApiToken)).one()
    assert stored.role == "admin" and secret not in stored.secret_sha256
    assert stored.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    response = anonymous.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_token_list_and_revoke(anonymous: TestClient) -> None:
    secret = runner.invoke(
        cli, ["token", "create", "--name", "ci", "--role", "viewer", "--expires-in", "30"]
    ).stdout.strip()
    listing = runner.invoke(cli, ["token", "list"])
    assert "ci" in listing.stdout and "viewer" in listing.stdout and "active" in listing.stdout
    assert secret not in listing.stdout
    assert runner.invoke(cli, ["token", "revoke", "ci"]).exit_code == 0
    assert "revoked" in runner.invoke(cli, ["token", "list"]).stdout
    response = anonymous.get("/api/v1/reports", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_token_cli_errors() -> None:
    assert runner.invoke(cli, ["token", "create", "--name", "x", "--role", "god"]).exit_code == 2
    assert runner.invoke(cli, ["token", "revoke", "nobody"]).exit_code == 2
    runner.invoke(cli, ["token", "create", "--name", "dup", "--role", "viewer"])
    again = runner.invoke(cli, ["token", "create", "--name", "dup", "--role", "viewer"])
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad_owner = runner.invoke(
        cli, ["token", "create", "--name", "y", "--role", "viewer", "--owner-id", "999"]
    )
    assert bad_owner.exit_code == 2


def test_serve_start_up_explains_how_to_make_the_first_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.cli.common import err

    assert runner.invoke(cli, ["token", "list"]).stdout == ""
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/local/bin/{name}")
    with err.capture() as captured:
        prepare_database()
    lines = captured.get().splitlines()
    assert "  TOKEN=$(afi token create --name admin --role admin)" in lines
    # The curl command is one line, whatever the width.
    assert '  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/reports' in lines


def test_start_up_hint_names_the_command_in_full_when_afi_is_not_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.cli.server import afi_command

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "argv", ["/opt/afi/.venv/bin/python", "-m", "app.cli"])
    assert afi_command() == f"{sys.executable} -m app.cli"


def test_token_list_rows_are_never_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    name = "a-rather-long-token-name-for-the-nightly-ci-job"
    runner.invoke(cli, ["token", "create", "--name", name, "--role", "viewer"])
    lines = runner.invoke(cli, ["token", "list"]).stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].split("\t")[1:4] == [name, f"user {name}", "viewer"]
