"""Removing evidence files that nothing refers to any more.

A file is stored before the transaction that records it commits, so a failed transaction (a
conflict, a busy database, a killed process) can leave a blob with no evidence row, and a killed
upload can leave its temporary file. Soft-deleted evidence keeps its file: its row still refers
to it. Only files older than a grace period are candidates, and each is set aside and checked
against the database once more before it goes, so an upload of the same content at that moment
keeps its file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import exists, select

from app.db import Reader
from app.models import Evidence
from app.services import storage


@dataclass
class PruneSummary:
    blobs: list[str] = field(default_factory=list)  # digests removed (or, dry, to remove)
    bytes: int = 0
    uploads: int = 0  # unfinished temporary upload files


def _referenced(db: Reader, digest: str) -> bool:
    return bool(db.scalar(select(exists().where(Evidence.file_sha256 == digest))))


def prune_files(
    *,
    readers: Callable[[], AbstractContextManager[Reader]],
    older_than: timedelta,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PruneSummary:
    """Remove stored files no evidence row refers to, and unfinished uploads, that were last
    written more than `older_than` ago. `readers()` opens a short read transaction; one is
    opened per file checked, so that each check sees rows committed since the last."""
    before = time.time() - older_than.total_seconds()
    summary = PruneSummary()
    if not dry_run:
        # Set aside by a run that stopped halfway: back in the store, to be judged again below.
        for digest, left in storage.set_aside_files():
            storage.put_back(left, digest)
    with readers() as db:
        referenced = set(db.scalars(select(Evidence.file_sha256).distinct()))
    stored = list(storage.stored_blobs())
    for done, (digest, path) in enumerate(stored):
        if progress is not None:
            progress(done, len(stored))
        if digest in referenced or storage.last_modified(path) >= before:
            continue
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if not dry_run:
            aside = storage.set_aside(path)
            if aside is None:
                continue
            with readers() as db:
                in_use = _referenced(db, digest)
            # Refreshed by `store` between the listing and setting it aside: about to be used.
            if in_use or storage.last_modified(aside) >= before:
                storage.put_back(aside, digest)
                continue
            aside.unlink(missing_ok=True)
        summary.blobs.append(digest)
        summary.bytes += size
    if progress is not None:
        progress(len(stored), len(stored))
    for upload in storage.stale_uploads(before=before):
        if not dry_run:
            upload.unlink(missing_ok=True)
        summary.uploads += 1
    return summary
