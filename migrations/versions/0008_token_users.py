"""api_token.user_name and created_by, action_event.user_name: separation of duties by person

A token belongs to a user (a person, or a machine account): `user_name`, in lower case. Tokens
made before this revision belong to the user named like the token. `created_by` records who
made the token (the admin's user name, or the command line and its operating-system user);
unknown (NULL) for tokens made before. Every history event records the user who acted;
events before this revision get the user of their token (none for the command line's).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_name(name: str) -> str:
    # A copy of app.services.tokens.user_name as it is at this revision: a migration must not
    # change with the code it runs beside.
    return name.strip().lower()


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite adds a NOT NULL column only with a default; rebuilding api_token instead
        # would set every event's token_id to NULL (ON DELETE SET NULL). Every row is given
        # its user just below.
        op.execute("ALTER TABLE api_token ADD COLUMN user_name VARCHAR(100) NOT NULL DEFAULT ''")
    else:
        op.add_column("api_token", sa.Column("user_name", sa.String(100), nullable=True))
    # In Python, as the service names users (app.services.tokens.user_name): SQL's lower()
    # leaves non-ASCII letters alone on SQLite (and under the C collation on PostgreSQL), so
    # "Ölaf" would stay "Ölaf" here while a new token for Ölaf is "ölaf": two people where
    # there is one, and sign-off by the one who asked for it.
    bind = op.get_bind()
    tokens = bind.execute(sa.text("SELECT id, name FROM api_token")).all()
    if tokens:
        bind.execute(
            sa.text("UPDATE api_token SET user_name = :user_name WHERE id = :id"),
            [{"id": token_id, "user_name": _user_name(name)} for token_id, name in tokens],
        )
    if sqlite:
        # The default is only there for the rows above: a new token must name its user.
        op.execute(
            "CREATE TRIGGER api_token_user_name_required BEFORE INSERT ON api_token "
            "WHEN NEW.user_name = '' "
            "BEGIN SELECT RAISE(ABORT, 'NOT NULL constraint failed: api_token.user_name'); END"
        )
    else:
        op.alter_column("api_token", "user_name", nullable=False)
    op.create_index("ix_api_token_user_name", "api_token", ["user_name"])
    op.add_column("api_token", sa.Column("created_by", sa.String(200), nullable=True))

    op.add_column("action_event", sa.Column("user_name", sa.String(100), nullable=True))
    op.execute(
        "UPDATE action_event SET user_name = "
        "(SELECT api_token.user_name FROM api_token WHERE api_token.id = action_event.token_id) "
        "WHERE token_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("action_event", "user_name")
    op.drop_column("api_token", "created_by")
    op.drop_index("ix_api_token_user_name", table_name="api_token")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER api_token_user_name_required")
    op.drop_column("api_token", "user_name")
