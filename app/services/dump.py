"""Dump every table to one JSON Lines file, and restore it into an empty database of any kind.

Line 1 is a header (format, version, schema revision); then one line per row:
`{"table": "action", "row": {...}}`, tables in foreign-key order. Evidence files go into a tar
archive beside the dump (`<dump>.evidence.tar`), named by their SHA-256.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from alembic.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError, StatementError

from app import clock, migrate
from app.errors import Conflict, InvalidInput
from app.models import Base
from app.services import storage

FORMAT = "afi-dump"
FORMAT_VERSION = 1
_BATCH = 1000


@dataclass
class DumpSummary:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0


def evidence_archive(dump_path: Path) -> Path:
    return dump_path.with_name(dump_path.name + ".evidence.tar")


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


Progress = Callable[[int, int], None]  # (rows or bytes done, in all): for a progress bar


def dump(*, connection: Connection, path: Path, progress: Progress | None = None) -> DumpSummary:
    """Write the whole database, as one consistent snapshot, to `path` (and its archive)."""
    summary = DumpSummary()
    blobs: set[str] = set()
    total = done = 0
    if progress is not None:
        total = sum(
            connection.scalar(select(func.count()).select_from(table)) or 0 for table in _tables()
        )
        progress(0, total)
    with path.open("wb") as out:
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "revision": _revision(connection),
            "created_at": clock.utcnow().isoformat(),
            "tables": [table.name for table in _tables()],
        }
        out.write(orjson.dumps(header) + b"\n")
        for table in _tables():
            summary.rows[table.name] = 0
            rows = connection.execute(
                select(table)
                .order_by(*table.primary_key.columns)
                .execution_options(yield_per=_BATCH)
            )
            for row in rows.mappings():
                record = {key: _encode(value) for key, value in row.items()}
                out.write(orjson.dumps({"table": table.name, "row": record}) + b"\n")
                summary.rows[table.name] += 1
                done += 1
                if progress is not None and done % _BATCH == 0:
                    progress(done, total)
                if table.name == "evidence" and record.get("file_sha256"):
                    blobs.add(record["file_sha256"])
    if progress is not None:
        progress(done, total)
    if blobs:
        summary.files = _archive_blobs(sorted(blobs), evidence_archive(path))
    return summary


def _archive_blobs(digests: list[str], archive: Path) -> int:
    count = 0
    with tarfile.open(archive, "w") as tar:
        for digest in digests:
            source = storage.existing_blob(digest)
            if source is not None:
                tar.add(source, arcname=digest, recursive=False)
                count += 1
    return count


def _read(lines: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for every line that is not blank."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"Line {number} of the dump is not JSON.", line=number) from exc
        if not isinstance(record, dict):
            raise InvalidInput(f"Line {number} of the dump is not an object.", line=number)
        yield number, record


class _RowDecoder:
    """Turns one table's rows from their JSON form back into Python values, checking each value
    against its column first: what the schema would not hold must not reach the database (on
    SQLite, which types loosely, it would be stored as it is)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.checks = {column.name: _value_check(column) for column in table.columns}

    def __call__(self, row: dict[str, Any], *, line: int) -> dict[str, Any]:
        unknown = set(row) - self.checks.keys()
        if unknown:
            raise InvalidInput(
                f"Line {line}: unknown columns for table {self.table.name}: {sorted(unknown)}.",
                line=line,
            )
        decoded = dict(row)
        for name, value in row.items():
            if value is None:
                continue
            try:
                decoded[name] = self.checks[name](value)
            except ValueError as exc:
                raise InvalidInput(
                    f"Line {line}: {self.table.name}.{name} {exc}: {str(value)[:40]!r}.",
                    line=line,
                ) from exc
        return decoded


def _value_check(column: Column[Any]) -> Callable[[Any], Any]:
    """The column's value from its JSON form; ValueError says what it should have been."""
    column_type = getattr(column.type, "impl", column.type)
    if isinstance(column_type, DateTime | Date):
        kind = datetime if isinstance(column_type, DateTime) else date

        def iso(value: Any) -> Any:
            if isinstance(value, str):
                try:
                    parsed = kind.fromisoformat(value)
                except ValueError:
                    pass
                else:
                    # A dump's timestamps are UTC; one read from SQLite text that predates
                    # migration 0005 was written without its offset.
                    if isinstance(parsed, datetime) and parsed.tzinfo is None:
                        return parsed.replace(tzinfo=UTC)
                    return parsed
            raise ValueError(f"is not an ISO {kind.__name__}")

        return iso
    if isinstance(column_type, Integer):

        def integer(value: Any) -> Any:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            raise ValueError("is not an integer")

        return integer
    if isinstance(column_type, String):  # Text too
        limit = column_type.length

        def string(value: Any) -> Any:
            if not isinstance(value, str):
                raise ValueError("is not text")
            if limit is not None and len(value) > limit:
                raise ValueError(f"is longer than {limit} characters")
            return value

        return string
    return lambda value: value  # JSON columns hold any JSON value


def _is_empty(connection: Connection) -> bool:
    return all(
        connection.scalar(select(func.count()).select_from(table)) == 0 for table in _tables()
    )


def restore(*, connection: Connection, path: Path, progress: Progress | None = None) -> DumpSummary:
    """Load a dump into an empty database at the same schema revision, in the caller's
    transaction: it all lands or none of it does."""
    if not _is_empty(connection):
        raise Conflict("The database is not empty; restore only into an empty database.")
    tables = {table.name: table for table in _tables()}
    decoders = {name: _RowDecoder(table) for name, table in tables.items()}
    summary = DumpSummary()
    size = path.stat().st_size
    with path.open("rb") as lines:
        records = _read(lines)
        _, header = next(records, (0, None))
        _check_header(header, current=_revision(connection))
        pending: dict[str, list[dict[str, Any]]] = {}
        self_refs: list[tuple[Table, dict[str, Any]]] = []
        current: str | None = None
        for number, record in records:
            name = record.get("table")
            if name not in tables or not isinstance(record.get("row"), dict):
                raise InvalidInput(
                    f"Line {number}: unexpected record in the dump: {str(record)[:100]}",
                    line=number,
                )
            if name != current and current is not None:
                _flush(connection, tables[current], pending.pop(current, []), self_refs)
            current = name
            table = tables[name]
            pending.setdefault(name, []).append(decoders[name](record["row"], line=number))
            summary.rows[name] = summary.rows.get(name, 0) + 1
            if len(pending[name]) >= _BATCH:
                _flush(connection, table, pending.pop(name), self_refs)
                if progress is not None:
                    progress(lines.tell(), size)
        if current is not None:
            _flush(connection, tables[current], pending.pop(current, []), self_refs)
        if progress is not None:
            progress(size, size)
    for table, row in self_refs:
        keys = {c.name: row[c.name] for c in table.primary_key.columns}
        values = {k: v for k, v in row.items() if k not in keys}
        with _refused_rows(table):
            connection.execute(update(table).filter_by(**keys).values(**values))
    _reset_sequences(connection)
    archive = evidence_archive(path)
    if archive.exists():
        summary.files = _unpack_blobs(archive)
    return summary


def _check_header(header: dict[str, Any] | None, *, current: str | None) -> None:
    if header is None or header.get("format") != FORMAT:
        raise InvalidInput("This is not an AFI Tracker dump (no header line).")
    if header.get("version") != FORMAT_VERSION:
        raise InvalidInput(f"Dump format version {header.get('version')} is not supported.")
    if not migrate.same_tables(header.get("revision"), current):
        raise Conflict(
            f"The dump is at schema revision {header.get('revision')}, the database at {current}; "
            "migrate one of them first."
        )


def _flush(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    self_refs: list[tuple[Table, dict[str, Any]]],
) -> None:
    """Insert rows; references to rows of the same table are filled in after all are in."""
    if not rows:
        return
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if own:
        for row in rows:
            links = {name: row[name] for name in own if row.get(name) is not None}
            if links:
                self_refs.append(
                    (table, {**{c.name: row[c.name] for c in table.primary_key}, **links})
                )
                row.update(dict.fromkeys(links))
    with _refused_rows(table):
        connection.execute(table.insert(), rows)


@contextmanager
def _refused_rows(table: Table) -> Iterator[None]:
    """Rows the schema refuses (a missing reference, a duplicate key) are bad input, not a crash."""
    try:
        yield
    except OperationalError:
        raise  # the database itself (busy, gone), not the dump
    except StatementError as exc:  # IntegrityError, DataError and the like: refused rows
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise InvalidInput(f"Rows of table {table.name} do not fit the schema: {reason}.") from exc


def _reset_sequences(connection: Connection) -> None:
    """Rows came with their ids; PostgreSQL's sequences must continue after them."""
    if connection.dialect.name != "postgresql":
        return
    for table in _tables():
        if "id" not in table.c:
            continue  # keyed otherwise (day_figure: by day)
        next_id = (connection.scalar(select(func.max(table.c.id))) or 0) + 1
        connection.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :next_id, false)"),
            {"table": table.name, "next_id": next_id},
        )


def _unpack_blobs(archive: Path) -> int:
    count = 0
    with tarfile.open(archive, "r") as tar:
        for member in tar:
            if not member.isfile() or not storage.is_sha256(member.name):
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            with storage.BlobWriter(max_bytes=member.size) as writer:
                while chunk := source.read(1 << 16):
                    writer.write(chunk)
                staged = writer.finish()
            if staged.sha256 != member.name:
                staged.discard()
                raise InvalidInput(f"Evidence file {member.name} in the archive is corrupt.")
            storage.store(staged)
            count += 1
    return count
