from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli, prepare_database
from app.models import Action, Finding, Report
from tests.conftest import SEED

EXPECTED = json.loads(
    (Path(__file__).parent / "cumbria-peel-2015-effectiveness.expected.json").read_text("utf-8")
)
runner = CliRunner()


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_parse_json_has_the_documented_shape_and_matches_the_expected_parse() -> None:
    result = runner.invoke(cli, ["parse", str(SEED), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert list(body) == ["force", "programme", "year", "pillar", "title", "findings"]
    assert list(body["findings"][0]) == ["reference", "kind", "question", "text", "subpoints"]
    for key in ("force", "programme", "year", "pillar"):
        assert body[key] == EXPECTED[key]
    assert [
        {k: f[k] for k in ("kind", "question", "text", "subpoints")} for f in body["findings"]
    ] == EXPECTED["findings"]


def test_parse_text_output_and_parse_errors(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["parse", str(SEED)])
    assert result.exit_code == 0
    assert "CUMBRIA-2015-EFF-AFI-17" in result.stdout

    prose = tmp_path / "prose.txt"
    prose.write_text("Nothing here looks like a report.\nNot at all.\n")
    result = runner.invoke(cli, ["parse", str(prose)])
    assert result.exit_code == 2
    assert "line 1" in result.stderr

    headless = tmp_path / "headless.txt"
    headless.write_text("Is it good?\nAreas for improvement\n- The force should act.\n")
    assert runner.invoke(cli, ["parse", str(headless)]).exit_code == 2
    result = runner.invoke(
        cli,
        [
            "parse",
            str(headless),
            "--json",
            "--force",
            "Kent",
            "--programme",
            "PEEL",
            "--year",
            "2017",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"][0]["reference"] == "KENT-2017-AFI-01"


def test_seed_loads_once_and_again_changes_nothing(session: Session) -> None:
    first = runner.invoke(cli, ["seed"])
    assert first.exit_code == 0, first.output
    assert (_count(session, Report), _count(session, Finding), _count(session, Action)) == (
        1,
        17,
        17,
    )
    versions = session.execute(select(Action.id, Action.version, Action.updated_at)).all()

    second = runner.invoke(cli, ["seed", str(SEED)])
    assert second.exit_code == 0
    assert "unchanged" in second.stderr
    session.expire_all()
    assert session.execute(select(Action.id, Action.version, Action.updated_at)).all() == versions


def test_seed_reports_a_bad_file_and_still_loads_the_rest(tmp_path: Path, session: Session) -> None:
    (tmp_path / "a-bad.txt").write_bytes(b"\x00\x01binary\xff")
    (tmp_path / "b-good.txt").write_text(SEED.read_text("utf-8"), "utf-8")
    result = runner.invoke(cli, ["seed", str(tmp_path)])
    assert result.exit_code == 1
    assert "a-bad.txt: failed" in result.stderr
    assert _count(session, Report) == 1 and _count(session, Action) == 17


def test_serve_start_up_seeds_an_empty_database_once(session: Session) -> None:
    prepare_database()
    prepare_database()
    assert _count(session, Report) == 1 and _count(session, Action) == 17


def test_seed_refuses_a_report_over_the_findings_limit_in_one_line(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_import_findings", 16)  # the seed has 17
    result = runner.invoke(cli, ["seed", str(SEED)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{SEED}: failed: The report has 17 findings; one import stores")
    assert _count(session, Report) == 0 and _count(session, Action) == 0


def test_seed_of_a_folder_ends_with_a_summary(tmp_path: Path, session: Session) -> None:
    (tmp_path / "a-bad.txt").write_bytes(b"\x00\x01binary\xff")
    (tmp_path / "b-good.txt").write_text(SEED.read_text("utf-8"), "utf-8")
    (tmp_path / "c-same.txt").write_text(SEED.read_text("utf-8"), "utf-8")
    result = runner.invoke(cli, ["seed", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == "3 files: 1 created, 1 unchanged, 1 failed."


def test_serve_refuses_several_workers_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from app.settings import get_settings

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    monkeypatch.setattr(get_settings(), "database_url", "sqlite:///./somewhere.db")
    result = runner.invoke(cli, ["serve", "--workers", "2"])
    assert result.exit_code == 2
    assert started == []
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--workers 2 needs PostgreSQL" in lines[0]
