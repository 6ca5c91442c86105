"""Run Alembic from code: the schema is only ever made or changed by migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import migrations


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def same_tables(older: str | None, newer: str | None) -> bool:
    """Whether the tables and columns at `newer` are those at `older`: the same revision, or
    only migrations in between that declare `changes_schema = False` (they change how values
    are stored, not what is stored)."""
    if older == newer:
        return True
    if newer is None:
        return False
    script = ScriptDirectory.from_config(alembic_config())
    revision = script.get_revision(newer)
    while revision is not None and getattr(revision.module, "changes_schema", True) is False:
        down = revision.down_revision
        if not isinstance(down, str):  # the first revision, or a merge
            return False
        if down == older:
            return True
        revision = script.get_revision(down)
    return False


def models_on(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's `include_object` for comparing the models with a database of `dialect`: an
    index the models make on another database only (`Index.ddl_if`) is left out."""

    def include(
        item: Any, _name: str | None, type_: str, reflected: bool, _compare_to: Any
    ) -> bool:
        only = getattr(item, "_ddl_if", None)
        return reflected or type_ != "index" or only is None or only.dialect in (None, dialect)

    return include
