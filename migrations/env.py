from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app.db import DEFERRED, make_engine
from app.migrate import models_on
from app.models import Base
from app.services.tallies import not_derived_table
from app.settings import get_settings

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=not_derived_table,
        include_object=models_on(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    # Migrations may rightly take long: no statement timeout.
    engine = make_engine(url, statement_timeout=False)
    with engine.connect().execution_options(**{DEFERRED: True}) as conn:
        run_migrations(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=get_settings().database_url, target_metadata=target_metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
