"""The `afi` command run through its real entry point, in a fresh process, in a broken
environment: errors are two lines with exit code 2, never a traceback, a secret or an empty
database file left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED

SECRET = "s3cretPassw0rd"


def afi(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`afi ARGS` in `cwd` (no .env there), with only the AFI_ settings given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AFI_")}
    clean.update(PYTHONPATH=str(ROOT), COLUMNS="60", **env)
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_short_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stderr + result.stdout
    for text in expected:
        assert text in result.stderr, result.stderr
    assert result.stdout == ""


def test_help_and_version_work_whatever_the_environment(tmp_path: Path) -> None:
    env = {"AFI_TIMEZONE": "Mars/Olympus_Mons", "AFI_DATABASE_URL": f"mysql://u:{SECRET}@db/afi"}
    for args in (["--help"], ["-h"], ["token", "create", "-h"]):
        result = afi(*args, cwd=tmp_path, **env)
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout and "Traceback" not in result.stderr
    version = afi("--version", cwd=tmp_path, **env)
    assert version.returncode == 0 and version.stdout.startswith("afi ")
    assert not list(tmp_path.iterdir())


def test_a_bad_timezone_is_two_lines(tmp_path: Path) -> None:
    result = afi("token", "list", cwd=tmp_path, AFI_TIMEZONE="Mars/Olympus_Mons")
    assert_short_error(result, "AFI_TIMEZONE", "Mars/Olympus_Mons", "Europe/London")
    # Read where the command first needs them, not at start: the same two lines.
    remote = afi("overdue", "--url", "http://127.0.0.1:1", cwd=tmp_path, AFI_TIMEZONE="Mars/X")
    assert_short_error(remote, "AFI_TIMEZONE", "Mars/X")
    assert not list(tmp_path.iterdir())


def test_a_bad_database_url_is_two_lines_without_its_password(tmp_path: Path) -> None:
    result = afi("token", "list", cwd=tmp_path, AFI_DATABASE_URL=f"mysql://user:{SECRET}@db/afi")
    assert_short_error(result, "AFI_DATABASE_URL", "mysql://user:***@db/afi")


def test_an_unreachable_postgresql_is_two_lines_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/afi"  # nothing listens on port 1
    for args in (["token", "list"], ["db", "upgrade"]):
        result = afi(*args, cwd=tmp_path, AFI_DATABASE_URL=url)
        assert_short_error(result, "postgresql+psycopg://user:***@127.0.0.1:1/afi")


def test_token_create_outside_the_project_names_the_missing_database(tmp_path: Path) -> None:
    result = afi("token", "create", "--name", "admin", "--role", "admin", cwd=tmp_path)
    assert_short_error(result, f"No database at {tmp_path / 'afi.db'}", "afi db upgrade")
    assert not list(tmp_path.iterdir())  # no empty afi.db left behind


def test_a_database_without_schema_says_to_upgrade(tmp_path: Path) -> None:
    (tmp_path / "afi.db").write_bytes(b"")
    result = afi("token", "create", "--name", "admin", "--role", "admin", cwd=tmp_path)
    assert_short_error(result, f"The database at {tmp_path / 'afi.db'} has no schema", "upgrade")
    assert "api_token" not in result.stderr and "INSERT" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["serve"], ["token", "create", "--name", "a", "--role", "admin"], ["db", "upgrade"], ["seed"]],
)
def test_a_database_folder_that_cannot_be_used_is_two_lines(
    tmp_path: Path, command: list[str]
) -> None:
    # A regular file where a folder should be stops root too (chmod would not).
    (tmp_path / "file.txt").write_text("not a folder")
    under_a_file = tmp_path / "file.txt" / "afi.db"
    result = afi(*command, cwd=tmp_path, AFI_DATABASE_URL=f"sqlite:///{under_a_file}")
    assert_short_error(result, str(under_a_file), "is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_missing_database_folder_is_two_lines(tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "afi.db"
    result = afi("serve", cwd=tmp_path, AFI_DATABASE_URL=f"sqlite:///{missing}")
    assert_short_error(result, str(missing), "does not exist")
    assert not list(tmp_path.iterdir())


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    assert "Traceback" in afi("--debug", "token", "list", cwd=tmp_path).stderr
    assert "Traceback" in afi("token", "list", cwd=tmp_path, AFI_DEBUG="1").stderr


def test_a_fresh_folder_from_upgrade_to_token(tmp_path: Path) -> None:
    # The old spelling, `--revision`, still works beside the positional REVISION.
    upgraded = afi("db", "upgrade", "--revision", "head", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert str(tmp_path / "afi.db") in upgraded.stderr
    created = afi("token", "create", "--name", "admin", "--role", "admin", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("afi_")
    down = afi("db", "downgrade", "base", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    again = afi("db", "upgrade", "head", cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_help_shows_no_type_placeholders(tmp_path: Path) -> None:
    for args in (["--help"], ["dump", "--help"], ["parse", "--help"], ["files", "prune", "-h"]):
        result = afi(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "<bool>" not in result.stdout and "<str>" not in result.stdout
        assert "{" not in result.stdout, result.stdout
    assert "dump [OPTIONS] FILE" in afi("dump", "-h", cwd=tmp_path).stdout
    assert "db upgrade [OPTIONS] [REVISION]" in afi("db", "upgrade", "-h", cwd=tmp_path).stdout


def test_parse_takes_several_files(tmp_path: Path) -> None:
    other = tmp_path / "kent.txt"
    other.write_text("Is it good?\nAreas for improvement\n- The force should act.\n")
    both = afi("parse", str(SEED), str(SEED), "--json", cwd=tmp_path)
    assert both.returncode == 0, both.stderr
    body = json.loads(both.stdout)
    assert isinstance(body, list) and len(body) == 2
    assert body[0]["findings"][0]["reference"] == "CUMBRIA-2015-EFF-AFI-01"
    # One file that does not parse: the others are still printed, and the exit code is 2.
    mixed = afi("parse", str(SEED), str(other), cwd=tmp_path)
    assert mixed.returncode == 2
    assert "CUMBRIA-2015-EFF-AFI-17" in mixed.stdout and str(other) in mixed.stderr


def test_serve_names_its_database_and_a_missing_seeds_folder(tmp_path: Path) -> None:
    """`afi serve` in a folder without seeds: where the database is, that it starts empty, and
    the first token's command, each on whole lines however narrow the log."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AFI_")}
    clean.update(PYTHONPATH=str(ROOT), COLUMNS="40", PATH="/usr/bin:/bin")  # no afi on PATH
    server = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve", "--port", "0"],
        cwd=tmp_path,
        env=clean,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stderr is not None
        lines = []
        for line in server.stderr:
            lines.append(line.rstrip("\n"))
            if "curl" in line or len(lines) > 20:
                break
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert lines[0] == f"Database: {tmp_path / 'afi.db'}"
    assert lines[1].startswith(f"Warning: no seeds folder at {tmp_path / 'seeds'};")
    assert f"  TOKEN=$({sys.executable} -m app.cli token create --name admin --role admin)" in lines
    assert lines[-1].startswith('  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:0/')
