"""The evidence file store: content-addressed blobs under the data directory.

A blob lives at `<data_dir>/blobs/ab/cd/<sha256>`. Uploads are streamed to a temporary file in
`<data_dir>/tmp` (same file system), hashed and counted as they arrive, then renamed into place
atomically; content already stored is kept once. Paths are only ever built from a validated
64-hex digest and checked to resolve inside the blobs root, so no name given by a client can
reach the file system. The data directory is read from the settings at every call.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.errors import InsufficientStorage, PayloadTooLarge
from app.settings import get_settings

# A full disk or an exhausted quota.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})

_SHA256 = re.compile(r"[0-9a-f]{64}")


class StorageError(Exception):
    """A digest or path that must never be used: a bug or tampered data, not a client error."""


@contextlib.contextmanager
def _space_for(cleanup: Callable[[], None] | None = None) -> Iterator[None]:
    """A full disk (or quota) while writing is a 507 for the client, not a crash; `cleanup`
    removes what was half written."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        if cleanup is not None:
            cleanup()
        raise InsufficientStorage(
            "There is no space left to store the file; nothing was stored. Retry later."
        ) from exc


def data_dir() -> Path:
    return get_settings().data_dir.resolve()


def blobs_root() -> Path:
    return data_dir() / "blobs"


def tmp_dir() -> Path:
    return data_dir() / "tmp"


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def _place(root: Path, sha256: str) -> Path:
    """Where a blob sits under the blobs root: fanned out by its first two bytes."""
    return root / sha256[:2] / sha256[2:4] / sha256


def blob_path(sha256: str) -> Path:
    """Where the blob with this digest lives; refuses anything that is not a lowercase SHA-256
    hex digest, and any path (e.g. through a planted symlink) resolving outside the blobs root."""
    if not is_sha256(sha256):
        raise StorageError(f"not a SHA-256 hex digest: {sha256!r}")
    root = blobs_root()
    path = _place(root, sha256).resolve()
    if not path.is_relative_to(root.resolve()):
        raise StorageError(f"blob path {path} escapes the blobs root {root}")
    return path


def existing_blob(sha256: str) -> Path | None:
    """The stored blob's path, or None when no such blob is stored."""
    path = blob_path(sha256)
    return path if path.is_file() else None


@dataclass
class StagedBlob:
    """A complete upload in the temporary directory, not yet in the store."""

    path: Path
    sha256: str
    size_bytes: int

    def discard(self) -> None:
        """Remove the temporary file; a no-op once `store` has moved it."""
        self.path.unlink(missing_ok=True)


class BlobWriter:
    """Streams an upload to a temporary file in the data directory, hashing and counting it.

    More than `max_bytes` (default: the setting `max_upload_bytes`) raises PayloadTooLarge and
    removes the temporary file. Use as a context manager, or call `discard` on failure.
    """

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.max_bytes = get_settings().max_upload_bytes if max_bytes is None else max_bytes
        directory = tmp_dir()
        with _space_for():
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()
        self.size_bytes = 0

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.discard()

    def write(self, chunk: bytes) -> None:
        self.size_bytes += len(chunk)
        if self.size_bytes > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(
                f"The file is larger than the upload limit of {self.max_bytes} bytes."
            )
        self._hash.update(chunk)
        with _space_for(self.discard):
            self._file.write(chunk)

    def write_all(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def finish(self) -> StagedBlob:
        """Flush the temporary file to disk and hand it over, ready for `store`."""
        with _space_for(self.discard):
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return StagedBlob(
            path=self._path, sha256=self._hash.hexdigest(), size_bytes=self.size_bytes
        )

    def discard(self) -> None:
        if not self._file.closed:
            # Closing flushes what is buffered, which fails again on a full disk.
            with contextlib.suppress(OSError):
                self._file.close()
        self._path.unlink(missing_ok=True)


def store(staged: StagedBlob) -> Path:
    """Move a staged upload into the store (atomically); identical content is kept once."""
    target = blob_path(staged.sha256)
    if target.is_file() and target.stat().st_size == staged.size_bytes:
        try:
            # Fresh again: `afi files prune` leaves young blobs alone, so one that an upload
            # is about to refer to is not taken from under it.
            os.utime(target)
        except FileNotFoundError:
            pass  # pruned just now: the staged copy takes its place
        else:
            staged.discard()
            return target
    with _space_for(staged.discard):
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
    _fsync_directory(target.parent)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows it (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- pruning ---------------------------------------------------------------------------------


def stored_blobs() -> Iterator[tuple[str, Path]]:
    """Every blob in the store, as (digest, path); anything else under the root is ignored."""
    root = blobs_root()
    if not root.is_dir():
        return
    for path in root.glob("??/??/*"):
        digest = path.name
        if is_sha256(digest) and path == _place(root, digest):
            yield digest, path


def stale_uploads(*, before: float) -> list[Path]:
    """Temporary upload files last written before `before` (a time.time() value): left behind
    by uploads that never finished (a killed process), as a finished one removes its own."""
    directory = tmp_dir()
    if not directory.is_dir():
        return []
    return [path for path in directory.glob("upload-*.part") if last_modified(path) < before]


def last_modified(path: Path) -> float:
    """When the file was last written (or refreshed by `store`); infinity once it is gone, so
    that a file gone already never counts as old."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


_SET_ASIDE_PREFIX = "prune-"


def set_aside(path: Path) -> Path | None:
    """Move a blob out of the store, atomically, before deciding to delete it: from then on
    `store` puts a new copy in its place rather than counting on it. None if it is gone."""
    directory = tmp_dir()
    directory.mkdir(parents=True, exist_ok=True)
    aside = directory / f"{_SET_ASIDE_PREFIX}{path.name}-{os.getpid()}"
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    return aside


def set_aside_files() -> list[tuple[str, Path]]:
    """Blobs set aside and neither put back nor deleted (the pruning process stopped)."""
    directory = tmp_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"{_SET_ASIDE_PREFIX}*"):
        digest = path.name.removeprefix(_SET_ASIDE_PREFIX).partition("-")[0]
        if is_sha256(digest):
            found.append((digest, path))
    return found


def put_back(aside: Path, digest: str) -> None:
    """Undo `set_aside`; if a new copy was stored meanwhile, that one stays."""
    target = blob_path(digest)
    if target.exists():
        aside.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):  # put back already, by another run
        os.replace(aside, target)
