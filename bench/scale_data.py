"""Benchmark data at national scale: N actions (default 1,000,000) in minutes.

    .venv/bin/python -m bench.scale_data --url sqlite:///afi-1m.db     # bulk
    .venv/bin/python -m bench.scale_data --url postgresql+psycopg://postgres@127.0.0.1:5432/afi_bench_1m
    .venv/bin/python -m bench.scale_data --url sqlite:///afi-copy.db --recipe copy

The schema comes from the migrations (`app.migrate.upgrade`); the rows are made in Python
(bench/scale_rows.py: reports of 10 to 40 findings, one action per finding, their history and
evidence, over the 43 forces, 2013 to 2026, several programmes and pillars) and inserted with
SQLAlchemy Core executemany in batches, in large transactions: no ORM, no import path. On
PostgreSQL the rows go in with COPY (through the raw psycopg connection), several times faster
than pipelined INSERTs. Afterwards `rebuild_derived_data` is called, the one place where data
derived from these tables would be rebuilt.

`--recipe copy` is the other way: 25,000 actions made through the real import path
(bench/dataset.py), then copied in SQL until there are N (40 copies for a million).

Reproducible: the same seed, size and day give the same data. The database must be empty, or
hold an earlier build of this module (which is replaced); anything else is refused.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Table,
    create_engine,
    insert,
    inspect,
    make_url,
    text,
)

from app import clock, migrate
from app.models import Base
from app.services import tallies
from bench.scale_rows import ReportMaker, Row, owner_rows, report_identities

# The order tables are filled in (each refers only to those before it).
TABLES = ("report", "section", "finding", "action", "action_event", "evidence")
# Values for columns the generator does not know about yet, by table: when a migration adds a
# NOT NULL column without a server default, name a value for it here (or make it in
# bench/scale_rows.py) and the build goes on. `check_columns` says which are missing.
EXTRA_VALUES: dict[str, dict[str, Any]] = {table: {} for table in ("owner", *TABLES)}
MARKER = "bench_scale_build"  # a table of its own: which build this database holds
GENERATOR_VERSION = 3  # bump when the rows made change, so that older builds are remade
OWNERS = 400
BATCH_ACTIONS = 20_000  # actions (and their report's other rows) per executemany round
COPY_RECIPE_BASE = 25_000


class BuildRefused(RuntimeError):
    """The database holds something other than an earlier build: it is left alone."""


def rebuild_derived_data(connection: Connection) -> None:
    """Rebuild whatever is derived from the loaded tables (search indexes, summary tables).

    The triggers kept the search index and the tallies up to date during the load; the
    tallies' deltas (one per action) are folded here, as a write's commit would have folded
    them had the load gone through the services. A migration that adds a derived table filled
    by its own backfill (not by triggers) needs its rebuild called here, since the bulk load
    went around the services that keep it: the actions' states (migration 0012), built from
    the loaded rows and events by its rule."""
    tallies.compact(connection)
    if "action_state" not in inspect(connection).get_table_names():
        return  # a schema before 0012
    path = Path(__file__).resolve().parent.parent / "migrations/versions/0012_action_state.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    connection.execute(text("DELETE FROM action_state"))
    migration.backfill(connection)
    if "day_figure" in inspect(connection).get_table_names():
        # Counted from the states by the worker (or `afi keep-figures`), from nothing again.
        connection.execute(text("DELETE FROM day_figure"))


# --- the database ---------------------------------------------------------------------------


def bench_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 60})
    return create_engine(url, connect_args={"options": "-c timezone=UTC"})


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return
    maintenance = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as connection:
            found = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            )
            if not found:
                name = parsed.database or ""
                if not name.replace("_", "").isalnum():
                    raise BuildRefused(f"refusing to create a database named {name!r}")
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        maintenance.dispose()


def read_marker(engine: Engine) -> dict[str, Any] | None:
    """The build this database holds (size, seed, schema revision...), or None."""
    if not inspect(engine).has_table(MARKER):
        return None
    with engine.connect() as connection:
        row = connection.execute(text(f"SELECT * FROM {MARKER}")).mappings().first()  # noqa: S608
    return dict(row) if row else None


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    return head or ""


def is_current(marker: Mapping[str, Any] | None, *, actions: int, seed: int, recipe: str) -> bool:
    return is_same_data(marker, actions=actions, seed=seed, recipe=recipe) and (
        marker is not None and marker["schema_revision"] == head_revision()
    )


def is_same_data(marker: Mapping[str, Any] | None, *, actions: int, seed: int, recipe: str) -> bool:
    """Whether the database holds this finished build, at whatever schema revision."""
    return marker is not None and (
        marker["actions"] == actions
        and marker["seed"] == seed
        and marker["recipe"] == recipe
        and marker["generator_version"] == GENERATOR_VERSION
        and marker["seconds"] is not None  # finished
    )


def is_upgradable(marker: Mapping[str, Any]) -> bool:
    """Whether the build's schema revision is an earlier one of this code's migrations: then
    the migrations bring it to head, as they would a user's database."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    return marker["schema_revision"] in known


def upgrade_build(engine: Engine, url: str) -> None:
    """The build's schema brought to head by the migrations, the planner's statistics renewed."""
    migrate.upgrade(url)
    analyze(engine)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {MARKER} SET schema_revision = :revision"),  # noqa: S608
            {"revision": head_revision()},
        )


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def empty_database(engine: Engine) -> None:
    """Drop every table of an earlier build; refuse a database that holds anything else."""
    names = inspect(engine).get_table_names()
    if names and MARKER not in names:
        raise BuildRefused(
            f"{engine.url.render_as_string(hide_password=True)} has tables {sorted(names)[:5]}... "
            "but no benchmark build: give an empty database or a new file"
        )
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            for name in names:
                connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        elif names:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")


def start_marker(engine: Engine, *, actions: int, seed: int, recipe: str, built_on: str) -> None:
    """Mark the (empty) database as a build in progress: it is ours to replace if this fails."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {MARKER} (actions INTEGER, seed INTEGER, recipe VARCHAR(20), "
            "generator_version INTEGER, schema_revision VARCHAR(100), built_on VARCHAR(10), "
            "seconds FLOAT)"
        )
        connection.execute(
            text(
                f"INSERT INTO {MARKER} VALUES (:actions, :seed, :recipe, :version, :revision, "  # noqa: S608
                ":built_on, NULL)"
            ),
            {
                "actions": actions,
                "seed": seed,
                "recipe": recipe,
                "version": GENERATOR_VERSION,
                "revision": head_revision(),
                "built_on": built_on,
            },
        )


def finish_marker(engine: Engine, *, seconds: float) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {MARKER} SET seconds = :seconds"),  # noqa: S608
            {"seconds": round(seconds, 1)},
        )


# --- loading --------------------------------------------------------------------------------


def check_columns(connection: Connection, table: Table, row: Row) -> None:
    """Every NOT NULL column of the table as migrated gets a value, and every value a column."""
    model_columns = table.columns
    unknown = set(row) - set(model_columns.keys())
    if unknown:
        raise RuntimeError(f"{table.name}: the generator makes {sorted(unknown)}, not columns")
    missing = [
        column["name"]
        for column in inspect(connection).get_columns(table.name)
        if not column["nullable"]
        and column.get("default") is None
        and column["name"] not in row
        and not (column["name"] in model_columns and model_columns[column["name"]].default)
        and column["name"] != "id"
    ]
    if missing:
        raise RuntimeError(
            f"{table.name}: NOT NULL columns {missing} get no value; add them to EXTRA_VALUES "
            "or to the rows made in bench/scale_rows.py"
        )


class Loader:
    """Inserts rows table by table: COPY on PostgreSQL, Core executemany elsewhere."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.tables: dict[str, Table] = dict(Base.metadata.tables)
        self.checked: set[str] = set()
        self.counts: dict[str, int] = {}

    def insert(self, name: str, rows: list[Row]) -> None:
        if not rows:
            return
        table = self.tables[name]
        extra = EXTRA_VALUES.get(name)
        if extra:
            rows = [{**row, **extra} for row in rows]
        if name not in self.checked:
            check_columns(self.connection, table, rows[0])
            self.checked.add(name)
        if self.connection.dialect.name == "postgresql":
            self._copy(table, rows)
        else:
            self.connection.execute(insert(table), rows)
        self.counts[name] = self.counts.get(name, 0) + len(rows)

    def _copy(self, table: Table, rows: list[Row]) -> None:
        from psycopg.types.json import Jsonb

        names = list(rows[0])
        json_at = [i for i, key in enumerate(names) if isinstance(table.c[key].type, JSON)]
        columns = ", ".join(f'"{key}"' for key in names)
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
        ):
            for row in rows:
                values = list(row.values())
                for index in json_at:
                    values[index] = Jsonb(values[index])
                copy.write_row(values)


@contextmanager
def loading(engine: Engine) -> Iterator[Connection]:
    """A connection set up for a bulk load; SQLite skips its journal and syncs (a build that
    fails halfway has no marker and is rebuilt from scratch)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-400000"):
                connection.exec_driver_sql(f"PRAGMA {pragma}")
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        else:
            connection.exec_driver_sql("SET synchronous_commit = off")
        connection.commit()
        yield connection
        if engine.dialect.name == "sqlite":
            connection.commit()
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")


def fix_sequences(connection: Connection) -> None:
    """Identifiers were given explicitly: move PostgreSQL's sequences past them."""
    if connection.dialect.name != "postgresql":
        return
    for name in ("owner", *TABLES):
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608
            f'COALESCE((SELECT MAX(id) FROM "{name}"), 0) + 1, false)'
        )


def bulk_build(engine: Engine, *, actions: int, seed: int, now: datetime) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311  (reproducible data, not secrets)
    owners = owner_rows(rng, OWNERS, now)
    maker = ReportMaker(rng=rng, owners=owners, now=now)
    identities = report_identities(rng)
    started = time.perf_counter()
    with loading(engine) as connection:
        loader = Loader(connection)
        with connection.begin():
            loader.insert("owner", owners)
        made = 0
        while made < actions:
            batch: dict[str, list[Row]] = {name: [] for name in TABLES}
            in_batch = 0
            while in_batch < BATCH_ACTIONS and made < actions:
                findings = min(rng.randint(10, 40), actions - made)
                report = maker.report(next(identities), findings)
                for name, rows in report.rows.items():
                    batch[name] += rows
                in_batch += report.actions
                made += report.actions
            with connection.begin():
                for name in TABLES:
                    loader.insert(name, batch[name])
            elapsed = time.perf_counter() - started
            print(
                f"  {made:>9,} actions  {elapsed:6.1f}s  ({made / elapsed:,.0f} actions/s)",
                flush=True,
            )
        with connection.begin():
            fix_sequences(connection)
            rebuild_derived_data(connection)
    return loader.counts


# --- the recipe: through the import path, then copied in SQL --------------------------


def copy_build(engine: Engine, url: str, *, actions: int, seed: int) -> dict[str, int]:
    """COPY_RECIPE_BASE actions through the import path, then copies of every report (with its
    sections, findings, actions, history and evidence) until there are `actions`."""
    from app import db
    from bench.dataset import fill_database

    # The import path opens its sessions from app.db.SessionLocal: bind it to this database,
    # with the engine (and SQLite transaction handling) the application would make for it.
    import_engine = db.make_engine(url)
    db.SessionLocal.configure(bind=import_engine)
    base = min(actions, COPY_RECIPE_BASE)
    try:
        fill_database(url, base, seed=seed)
    finally:
        import_engine.dispose()
    copies = -(-actions // base) - 1
    # The last copy takes only the first actions it needs (with their rows): deleting the extra
    # afterwards costs a scan per action on PostgreSQL (superseded_by_* are not indexed).
    partial = actions - base * copies if actions % base else None
    with loading(engine) as connection:
        maxima = {
            name: connection.scalar(text(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"')) or 0  # noqa: S608
            for name in TABLES
        }
        first_action = connection.scalar(text('SELECT MIN(id) FROM "action"')) or 1
        connection.commit()
        for number in range(1, copies + 1):
            keep = partial if number == copies else None
            last_action = first_action + keep - 1 if keep else None
            with connection.begin():
                for name in TABLES:
                    connection.execute(copy_statement(name, number, maxima, last_action))
            print(f"  copy {number}/{copies}", flush=True)
        with connection.begin():
            fix_sequences(connection)
            rebuild_derived_data(connection)
        return {
            name: connection.scalar(text(f'SELECT COUNT(*) FROM "{name}"')) or 0  # noqa: S608
            for name in ("owner", *TABLES)
        }


# Columns that refer to another table without a foreign key of their own.
_REFERS_TO = {("action", "report_id"): "report"}
# Columns whose values must stay unique across copies: a suffix per copy.
_UNIQUE_TEXT = {
    "report": ("identity_key", "reference_prefix"),
    "finding": ("reference",),
    "action": ("reference",),
}


def copy_statement(
    name: str, number: int, maxima: Mapping[str, int], last_action: int | None = None
) -> Any:
    """INSERT ... SELECT of the table's original rows as copy `number`: ids (and references to
    copied tables) shifted past the originals, unique text given a suffix. Driven by the table
    object, so new columns are copied as they are. With `last_action`, only the actions up to
    that original id, and the rows that go with them."""
    from sqlalchemy import literal, select

    table = Base.metadata.tables[name]
    values = []
    for column in table.columns:
        expression: Any = column
        targets = {key.column.table.name for key in column.foreign_keys}
        targets |= {_REFERS_TO[name, column.name]} if (name, column.name) in _REFERS_TO else set()
        shifted = ({name} if column.primary_key else set()) | (targets & set(TABLES))
        if shifted:
            (target,) = shifted
            expression = column + literal(number * maxima[target])
        elif column.name in _UNIQUE_TEXT.get(name, ()):
            expression = column + literal(f"-C{number}")
        values.append(expression.label(column.name))
    source = select(*values).where(table.c.id <= maxima[name])
    if last_action is not None:
        source = source.where(*_kept(name, last_action))
    return insert(table).from_select([column.name for column in table.columns], source)


def _kept(name: str, last_action: int) -> list[Any]:
    """Conditions keeping the original rows that belong to actions up to `last_action`."""
    from sqlalchemy import select

    tables = Base.metadata.tables
    action, finding = tables["action"], tables["finding"]
    findings = select(action.c.finding_id).where(action.c.id <= last_action)
    reports = select(finding.c.report_id).where(finding.c.id.in_(findings))
    column = tables[name].c
    if name == "action":
        return [column.id <= last_action]
    if name in ("action_event", "evidence"):
        return [column.action_id <= last_action]
    if name == "finding":
        return [column.id.in_(findings)]
    if name == "report":
        return [column.id.in_(reports)]
    if name == "section":
        return [column.report_id.in_(reports)]
    return []


# --- entry point -----------------------------------------------------------------------------


def build(
    url: str, *, actions: int, seed: int = 7, recipe: str = "bulk", force: bool = False
) -> bool:
    """Make sure `url` holds `actions` actions built with `seed`; reuse an earlier identical
    build unless `force`. Returns whether it built anything."""
    ensure_postgres_database(url)
    engine = bench_engine(url)
    try:
        marker = read_marker(engine)
        if not force and is_current(marker, actions=actions, seed=seed, recipe=recipe):
            print(f"reusing the {actions:,}-action build (seed {seed}) in {engine.url.database}")
            return False
        if (
            not force
            and marker is not None
            and is_same_data(marker, actions=actions, seed=seed, recipe=recipe)
            and is_upgradable(marker)
        ):
            print(
                f"upgrading the {actions:,}-action build in {engine.url.database} from "
                f"{marker['schema_revision']} to {head_revision()}"
            )
            upgrade_build(engine, url)
            return False
        empty_database(engine)
        started = time.perf_counter()
        now = clock.utcnow()
        built_on = now.date().isoformat()
        start_marker(engine, actions=actions, seed=seed, recipe=recipe, built_on=built_on)
        migrate.upgrade(url)
        print(f"building {actions:,} actions (seed {seed}, {recipe}) in {engine.url.database}")
        if recipe == "copy":
            counts = copy_build(engine, url, actions=actions, seed=seed)
        else:
            counts = bulk_build(engine, actions=actions, seed=seed, now=now)
        analyze(engine)
        seconds = time.perf_counter() - started
        finish_marker(engine, seconds=seconds)
        print(f"built in {seconds:.1f}s: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        return True
    finally:
        engine.dispose()


def size(value: str) -> int:
    """10000, 10k, 1m, 1_000_000."""
    value = value.lower().replace("_", "").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    return int(float(value.rstrip("km")) * factor)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="sqlite:///FILE or a PostgreSQL URL")
    parser.add_argument("-n", "--actions", type=size, default=1_000_000, help="e.g. 10k, 1m")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recipe", choices=("bulk", "copy"), default="bulk")
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        build(args.url, actions=args.actions, seed=args.seed, recipe=args.recipe, force=args.force)
    except BuildRefused as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
