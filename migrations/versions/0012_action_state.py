"""action_state: each action's states over time, built from its history; and the events by time

A row of `action_state` is what an action's changing fields (status, priority, owner, due date
and original due date, RAG, percentage, last progress, closing, its finding's withdrawal) were
over [valid_from, valid_to); the current state ends at 9999-12-31. From now on the service
writes a state with every event that changes one of those fields (app.services.states); this
migration builds the states of the actions that exist from their history, by this rule:

- The action's row gives its state now. Going back through its events, newest first, each event
  that changed a field (its `changes` hold `[from, to]`) gives the state before it: the fields
  it names get their `from` value. Every kind of event that changes one of these fields records
  both values (`transition`, `signed_off`, `sign_off_refused`, `reopened`, `reinstated`:
  status; `assigned`, `unassigned`: owner; `updated`: priority and a first due date;
  `due_date_revised`: due date; `progress_updated`: RAG, percentage, last progress;
  `reimported` with `withdrawn_at`: the finding put back). `finding_withdrawn` holds no values:
  the finding was not withdrawn before it, and was from its moment on.
- So a field that no event changed had its present value all along (an action given an owner
  or a due date when it was made holds them from its creation), which is also true of data
  written before events carried their values: nothing is guessed beyond this rule.
- `closed_at` is the moment of the event that moved the action to completed, superseded or
  withdrawn, and unset in other statuses; `original_due_date` the action's, from the first
  state with a due date on (unset before).
- The first state begins at the action's `created_at`; each changing event begins the next
  at its own moment; events at the same moment leave one state, the last (as the service
  writes them).

`ix_action_event_created_at` serves the changes between two days (app.services.changes).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STILL_VALID = datetime(9999, 12, 31, tzinfo=UTC)
_BATCH = 20_000
# Spelled out here rather than imported: later code must not change what this migration did.
_CHANGED_KEYS = frozenset(
    {
        "status",
        "owner_id",
        "due_date",
        "priority",
        "rag",
        "percent_complete",
        "last_progress_at",
        "withdrawn_at",
    }
)
_ALWAYS = frozenset({"created", "finding_withdrawn"})
_NEVER = ("comment", "evidence_added", "evidence_removed")
_CLOSED = frozenset({"completed", "superseded", "withdrawn"})
_PRIORITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
_DATES = ("due_date",)
_MOMENTS = ("last_progress_at",)
_COPIED = (
    "report_id",
    "finding_id",
    "created_at",
    "status",
    "priority",
    "priority_rank",
    "owner_id",
    "due_date",
    "original_due_date",
    "rag",
    "percent_complete",
    "last_progress_at",
    "closed_at",
)
# SQLite keeps moments as UTC text with their offset (revision 0005).
_SQLITE_MOMENT = sqlite.DATETIME(  # type: ignore[no-untyped-call]
    storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
    ".%(microsecond)06d+00:00"
)
_MOMENT = sa.DateTime(timezone=True).with_variant(_SQLITE_MOMENT, "sqlite")


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", _MOMENT, nullable=False),
        sa.Column("valid_to", _MOMENT, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("original_due_date", sa.Date(), nullable=True),
        sa.Column("rag", sa.String(10), nullable=True),
        sa.Column("percent_complete", sa.SmallInteger(), nullable=True),
        sa.Column("last_progress_at", _MOMENT, nullable=True),
        sa.Column("closed_at", _MOMENT, nullable=True),
        sa.Column("finding_withdrawn_at", _MOMENT, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "action_state",
        *_columns(),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["action.id"],
            name=op.f("fk_action_state_action_id_action"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_state")),
    )
    backfill(op.get_bind())
    op.create_index("ix_action_state_action_id_valid_to", "action_state", ["action_id", "valid_to"])
    op.create_index(
        "ix_action_state_valid_to_valid_from", "action_state", ["valid_to", "valid_from"]
    )
    op.create_index("ix_action_event_created_at", "action_event", ["created_at"])
    op.execute("ANALYZE action_state")


def downgrade() -> None:
    op.drop_index("ix_action_event_created_at", table_name="action_event")
    op.drop_index("ix_action_state_valid_to_valid_from", table_name="action_state")
    op.drop_index("ix_action_state_action_id_valid_to", table_name="action_state")
    op.drop_table("action_state")


# --- the backfill --------------------------------------------------------------------------

_META = sa.MetaData()
_STATE = sa.Table("action_state", _META, *_columns())
_ACTION = sa.Table(
    "action",
    _META,
    sa.Column("id", sa.Integer),
    sa.Column("report_id", sa.Integer),
    sa.Column("finding_id", sa.Integer),
    sa.Column("created_at", _MOMENT),
    sa.Column("status", sa.String),
    sa.Column("priority", sa.String),
    sa.Column("priority_rank", sa.Integer),
    sa.Column("owner_id", sa.Integer),
    sa.Column("due_date", sa.Date),
    sa.Column("original_due_date", sa.Date),
    sa.Column("rag", sa.String),
    sa.Column("percent_complete", sa.Integer),
    sa.Column("last_progress_at", _MOMENT),
    sa.Column("closed_at", _MOMENT),
)
_FINDING = sa.Table(
    "finding", _META, sa.Column("id", sa.Integer), sa.Column("withdrawn_at", _MOMENT)
)
_EVENT = sa.Table(
    "action_event",
    _META,
    sa.Column("id", sa.Integer),
    sa.Column("action_id", sa.Integer),
    sa.Column("kind", sa.String),
    sa.Column("created_at", _MOMENT),
    sa.Column("changes", sa.JSON),
)


def backfill(connection: sa.Connection) -> int:
    """Write the states of every action from its row and its events (the rule above), in
    batches of actions by id; returns how many states were written."""
    written = 0
    last_id = connection.scalar(sa.select(sa.func.max(_ACTION.c.id))) or 0
    for low in range(1, last_id + 1, _BATCH):
        high = low + _BATCH - 1
        actions = connection.execute(
            sa.select(_ACTION, _FINDING.c.withdrawn_at.label("finding_withdrawn_at"))
            .join_from(_ACTION, _FINDING, _FINDING.c.id == _ACTION.c.finding_id)
            .where(_ACTION.c.id.between(low, high))
            .order_by(_ACTION.c.id)
        ).mappings()
        events: dict[int, list[sa.RowMapping]] = {}
        for event in connection.execute(
            sa.select(_EVENT.c.action_id, _EVENT.c.kind, _EVENT.c.created_at, _EVENT.c.changes)
            .where(_EVENT.c.action_id.between(low, high), _EVENT.c.kind.not_in(_NEVER))
            .order_by(_EVENT.c.action_id, _EVENT.c.id)
        ).mappings():
            if event["kind"] in _ALWAYS or not _CHANGED_KEYS.isdisjoint(event["changes"] or ()):
                events.setdefault(event["action_id"], []).append(event)
        rows = [
            row
            for action in actions.all()
            for row in states_of(action, events.get(action["id"], []))
        ]
        if rows:
            connection.execute(sa.insert(_STATE), rows)
        written += len(rows)
    return written


def states_of(action: sa.RowMapping, events: list[sa.RowMapping]) -> Iterator[dict[str, Any]]:
    """The states of one action, oldest first, from its row and its state-changing events
    (oldest first)."""
    now = {name: action[name] for name in (*_COPIED, "finding_withdrawn_at")}
    after = now
    begun: list[tuple[datetime, dict[str, Any]]] = []
    for event in reversed(events):
        begun.append((_utc(event["created_at"]), after))
        after = _before(after, event)
    begun.append((_utc(action["created_at"]), after))
    begun.reverse()
    # Events at the same moment (or, with a clock set back, earlier) leave the last state.
    kept: list[tuple[datetime, dict[str, Any]]] = []
    for moment, state in begun:
        while kept and kept[-1][0] >= moment:
            kept.pop()
        kept.append((moment, state))
    closed_at = action["closed_at"] if kept[0][1]["status"] in _CLOSED else None
    dated = False
    previous_status = None
    for index, (moment, state) in enumerate(kept):
        last = index == len(kept) - 1
        status = state["status"]
        if status not in _CLOSED:
            closed_at = None
        elif previous_status is not None and previous_status not in _CLOSED:
            closed_at = moment
        previous_status = status
        dated = dated or state["due_date"] is not None
        yield {
            **state,
            "action_id": action["id"],
            "closed_at": action["closed_at"] if last else closed_at,
            "original_due_date": action["original_due_date"] if dated or last else None,
            "valid_from": moment,
            "valid_to": kept[index + 1][0] if not last else STILL_VALID,
        }


def _before(after: dict[str, Any], event: sa.RowMapping) -> dict[str, Any]:
    """The state before `event`, from the state after it."""
    before = dict(after)
    changes = event["changes"] or {}
    for key, change in changes.items():
        if key not in _CHANGED_KEYS or not isinstance(change, list) or len(change) != 2:
            continue
        old = change[0]
        if key == "withdrawn_at":
            before["finding_withdrawn_at"] = _moment(old)
        elif key in _DATES:
            before[key] = date.fromisoformat(old) if isinstance(old, str) else None
        elif key in _MOMENTS:
            before[key] = _moment(old)
        else:
            before[key] = old
        if key == "priority" and old in _PRIORITY_RANK:
            before["priority_rank"] = _PRIORITY_RANK[old]
    if event["kind"] == "finding_withdrawn":
        before["finding_withdrawn_at"] = None
    return before


def _moment(value: object) -> datetime | None:
    return _utc(datetime.fromisoformat(value)) if isinstance(value, str) else None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
