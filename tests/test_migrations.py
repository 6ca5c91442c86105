from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from app import migrate
from app.models import Base, Owner
from app.services.search_index import TABLE_NAME, is_index_table
from app.services.tallies import TABLE_NAMES as TALLY_TABLES
from app.services.tallies import not_derived_table
from tests.conftest import fresh_database


def _tables(url: str) -> set[str]:
    """The models' tables, and the derived ones (the search index's main table: FTS5's own
    left out)."""
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    return {name for name in names if name == TABLE_NAME or not is_index_table(name)}


# Tables of the events and e-mail (0013, 0013b), the actions' states (0012) and the trend's
# kept day figures (0023).
_DAY_TABLES = {"day_figure", "day_group_figure"}
_EVENT_TABLES = {"outbox_event", "webhook", "webhook_delivery", "webhook_attempt", "mail_digest"}
_LATER_TABLES = {*_EVENT_TABLES, *_DAY_TABLES, "action_state"}


def test_migrations_run_up_down_and_up_again(base_database_url: str) -> None:
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME, *TALLY_TABLES}
        migrate.downgrade(url, "0027")
        everything = {*Base.metadata.tables, TABLE_NAME, *TALLY_TABLES}
        assert _tables(url) == everything - {"day_group_figure"}
        migrate.downgrade(url, "0021")
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME, *TALLY_TABLES} - _DAY_TABLES
        migrate.downgrade(url, "0013b")
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME} - _DAY_TABLES
        migrate.downgrade(url, "0012")
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME} - _EVENT_TABLES - _DAY_TABLES
        migrate.downgrade(url, "0011")
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME} - _LATER_TABLES
        migrate.downgrade(url, "0005")
        assert _tables(url) == set(Base.metadata.tables) - _LATER_TABLES
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url)
        assert _tables(url) == {*Base.metadata.tables, TABLE_NAME, *TALLY_TABLES}


# SQLite cannot reflect expression indexes (ix_action_due_date_sort), so that one is skipped.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_models_and_migrations_agree(base_database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            opts = {
                "compare_type": True,
                "include_name": not_derived_table,
                "include_object": migrate.models_on(connection.dialect.name),
            }
            context = MigrationContext.configure(connection, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()


def test_timestamps_written_before_0005_read_back_as_the_same_utc_instant(
    base_database_url: str,
) -> None:
    """0005 adds the offset to SQLite's timestamp text; downgrading takes it off again."""
    written = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url, "0004")
        engine = create_engine(url)
        sqlite = engine.dialect.name == "sqlite"
        # As revision 0004's code wrote it: SQLite text without an offset.
        stored_before = "2026-01-02 03:04:05.000006" if sqlite else written
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO owner (name, created_at, updated_at) VALUES ('Ann', :at, :at)"),
                {"at": stored_before},
            )
        engine.dispose()

        migrate.upgrade(url)
        engine = create_engine(url)
        with Session(engine) as session:
            owner = session.scalars(select(Owner)).one()
            assert owner.created_at == written
            assert owner.created_at.utcoffset() == timedelta(0)
            raw = session.execute(text("SELECT created_at FROM owner")).scalar_one()
            if sqlite:
                assert raw == "2026-01-02 03:04:05.000006+00:00"
            # Written the new way, and compared in SQL with a bound value: text order is time order.
            owner.updated_at = written + timedelta(days=1)
            session.commit()
            later = session.scalars(select(Owner).where(Owner.updated_at > written)).all()
            assert [o.name for o in later] == ["Ann"]
        engine.dispose()

        migrate.downgrade(url, "0004")
        engine = create_engine(url)
        with engine.connect() as connection:
            raw = connection.execute(text("SELECT created_at FROM owner")).scalar_one()
        engine.dispose()
        assert raw == stored_before
