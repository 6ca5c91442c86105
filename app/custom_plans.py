"""Statements PostgreSQL plans for their values every time they run (the CUSTOM_PLAN option)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

# Execution option: plan this statement for its values every time it runs (PostgreSQL). psycopg
# prepares a statement once it has run five times, and PostgreSQL may then settle on one generic
# plan for all values: for a statement whose best plan depends on its values (an owner holding
# 18,000 actions or 900), one wrong for some of them. A statement never prepared is planned for
# the values it is sent with; planning it costs a few ms each time, hence only where it pays.
CUSTOM_PLAN = "afi_custom_plan"


def plan_marked_statements_each_time(engine: Engine) -> None:
    """Have the engine's (PostgreSQL) statements marked CUSTOM_PLAN sent unprepared."""
    # The dialect's own call wrapped, not a do_execute event, which would execute the
    # statement in its stead and so outside the deadlines db_faults puts around that call.
    from psycopg import ServerCursor

    dialect: Any = engine.dialect
    execute = dialect.do_execute

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        marked = context is not None and context.execution_options.get(CUSTOM_PLAN)
        # A server-side cursor's statement (stream_results) is never prepared in the first place
        # (and psycopg's server cursors take no `prepare`).
        if marked and not isinstance(cursor, ServerCursor):
            cursor.execute(statement, parameters, prepare=False)
        else:
            execute(cursor, statement, parameters, context)

    dialect.do_execute = do_execute
