"""e-mail digests: one per owner and day, and an owner's opt-out (issue 16)

Named 0013b to stay clear of the numbers other work takes; the merger rechains.

Revision ID: 0013b
Revises: 0013
Create Date: 2026-11-30 07:17:32.140428
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013b"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("digest_date", sa.Date(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owner.id"],
            name=op.f("fk_mail_digest_owner_id_owner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_digest")),
        sa.UniqueConstraint(
            "owner_id", "digest_date", name=op.f("uq_mail_digest_owner_id_digest_date")
        ),
    )
    with op.batch_alter_table("mail_digest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_digest_next_attempt_at"), ["next_attempt_at"], unique=False
        )

    with op.batch_alter_table("owner", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("owner", schema=None) as batch_op:
        batch_op.drop_column("digest_opt_out")

    with op.batch_alter_table("mail_digest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_digest_next_attempt_at"))

    op.drop_table("mail_digest")
