from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from app import migrate
from app.models import Base
from tests.conftest import fresh_database


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_run_up_down_and_up_again(base_database_url: str) -> None:
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        assert _tables(url) == set(Base.metadata.tables)
        migrate.downgrade(url, "base")
        assert _tables(url) == set()
        migrate.upgrade(url)
        assert _tables(url) == set(Base.metadata.tables)


# SQLite cannot reflect expression indexes (ix_action_due_date_sort), so that one is skipped.
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_models_and_migrations_agree(base_database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()
