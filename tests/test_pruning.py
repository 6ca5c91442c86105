"""`afi files prune`: stored files that no evidence refers to, and unfinished uploads."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import app.db as app_db
from app.cli import cli
from app.services import pruning, storage

runner = CliRunner()
DAY = 24 * 3600


def _stored(content: bytes) -> tuple[str, Path]:
    """A blob put in the store with no evidence row, as a failed upload leaves one."""
    with storage.BlobWriter() as writer:
        writer.write(content)
        staged = writer.finish()
    return staged.sha256, storage.store(staged)


def _uploaded(client: Any, action_id: int, content: bytes) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/actions/{action_id}/evidence", files={"file": ("a.txt", content, "text/plain")}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _unfinished_upload(data_dir: Path, name: str) -> Path:
    path = data_dir / "tmp" / f"upload-{name}.part"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half an upload")
    return path


def test_prune_removes_old_orphans_and_unfinished_uploads_and_keeps_everything_referenced(
    client: Any, action_id: int, data_dir: Path
) -> None:
    kept = _uploaded(client, action_id, b"kept evidence")
    deleted = _uploaded(client, action_id, b"deleted evidence")
    assert client.delete(f"/api/v1/evidence/{deleted['id']}").status_code == 204
    orphan, orphan_path = _stored(b"left by a failed transaction")
    young_orphan, young_path = _stored(b"an upload still committing")
    old_part = _unfinished_upload(data_dir, "old")
    young_part = _unfinished_upload(data_dir, "young")
    for path in [path for _, path in storage.stored_blobs()] + [old_part]:
        if path != young_path:
            _age(path, 2 * DAY)

    dry = runner.invoke(cli, ["files", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove 1 unreferenced files (28 bytes) and 1 unfinished uploads." in dry.output
    assert orphan_path.exists() and old_part.exists()

    result = runner.invoke(cli, ["files", "prune"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 unreferenced files (28 bytes) and 1 unfinished uploads." in result.output
    assert not orphan_path.exists() and not old_part.exists()
    remaining = {digest for digest, _ in storage.stored_blobs()}
    assert remaining == {kept["sha256"], deleted["sha256"], young_orphan}
    assert orphan not in remaining and young_part.exists()
    assert client.get(f"/api/v1/evidence/{kept['id']}/content").content == b"kept evidence"


def test_grace_period_is_an_option(client: Any, action_id: int, data_dir: Path) -> None:
    _, path = _stored(b"an hour old")
    _age(path, 3600)
    assert runner.invoke(cli, ["files", "prune"]).exit_code == 0
    assert path.exists()
    result = runner.invoke(cli, ["files", "prune", "--older-than-hours", "0.5"])
    assert result.exit_code == 0, result.output
    assert not path.exists()


def test_storing_the_same_content_again_makes_an_orphan_young_so_prune_keeps_it(
    data_dir: Path,
) -> None:
    digest, path = _stored(b"same bytes")
    _age(path, 2 * DAY)
    again, again_path = _stored(b"same bytes")  # an upload about to record it
    assert (again, again_path) == (digest, path)
    summary = pruning.prune_files(readers=app_db.database.reader, older_than=timedelta(days=1))
    assert summary.blobs == [] and path.exists()


def test_a_file_referred_to_by_the_time_it_is_checked_again_is_put_back(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest, path = _stored(b"recorded meanwhile")
    _age(path, 2 * DAY)
    # Its row commits after the listing, before the file goes.
    monkeypatch.setattr(pruning, "_referenced", lambda _db, checked: checked == digest)
    summary = pruning.prune_files(readers=app_db.database.reader, older_than=timedelta(days=1))
    assert summary.blobs == []
    assert path.read_bytes() == b"recorded meanwhile"
    assert list((data_dir / "tmp").glob("prune-*")) == []


def test_a_file_left_set_aside_by_a_run_that_stopped_is_judged_again(
    client: Any, action_id: int, data_dir: Path
) -> None:
    kept = _uploaded(client, action_id, b"referred to")
    orphan, _ = _stored(b"not referred to")
    for digest in (kept["sha256"], orphan):
        path = storage.blob_path(digest)
        _age(path, 2 * DAY)
        assert storage.set_aside(path) is not None  # and then the run was killed
    summary = pruning.prune_files(readers=app_db.database.reader, older_than=timedelta(days=1))
    assert summary.blobs == [orphan]
    assert storage.blob_path(kept["sha256"]).read_bytes() == b"referred to"
    assert list((data_dir / "tmp").glob("prune-*")) == []


def test_prune_reports_its_progress_file_by_file(data_dir: Path) -> None:
    for content in (b"one", b"two", b"three"):
        _age(_stored(content)[1], 2 * DAY)
    calls: list[tuple[int, int]] = []
    summary = pruning.prune_files(
        readers=app_db.database.reader,
        older_than=timedelta(days=1),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert len(summary.blobs) == 3
    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
