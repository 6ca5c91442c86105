"""A bare ASGI baseline: the same SQL the service runs, with the stdlib sqlite3 module and orjson.

No framework, no ORM, no validation: it answers the exact request targets listed in the spec file
(`BENCH_SPEC`, written by bench/run.py) by replaying the statements and parameters that
SQLAlchemy sent for them, shaping rows into the same JSON the service answers. It is the
ceiling the service is measured against.

    BENCH_DB=/tmp/afi.db BENCH_SPEC=/tmp/spec.json uvicorn bench.baseline:app
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from datetime import date
from typing import Any

import orjson

ACTIVE = frozenset({"open", "in_progress", "blocked"})
STATUSES = (
    "open",
    "in_progress",
    "blocked",
    "pending_sign_off",
    "completed",
    "superseded",
    "withdrawn",
)


def _connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _action(row: dict[str, Any], as_of: date) -> dict[str, Any]:
    owner_id = row["owner_id"]
    name, email, team = row.pop("owner_name"), row.pop("owner_email"), row.pop("owner_team")
    row["owner"] = (
        {"id": owner_id, "name": name, "email": email, "team": team} if owner_id else None
    )
    due = row["due_date"]
    days = 0
    if due is not None and row["status"] in ACTIVE:
        days = max((as_of - date.fromisoformat(due)).days, 0)
    row["is_overdue"] = days > 0
    row["days_overdue"] = days
    return row


def _page(rows: list[dict[str, Any]], spec: dict[str, Any], as_of: date) -> dict[str, Any]:
    limit = spec["limit"]
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_action(row, as_of) for row in rows]
    next_cursor = None
    if more:
        last = rows[-1]
        payload = {"s": spec["sort"], "k": last.get("sort_key"), "i": last["id"]}
        next_cursor = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()
    for item in items:
        item.pop("sort_key", None)
    return {"items": items, "next_cursor": next_cursor, "total": None}


def _stats(
    results: list[list[dict[str, Any]]], spec: dict[str, Any], as_of: date
) -> dict[str, Any]:
    """The service's statements (app.services.stats), in order: counts per owner and status,
    the overdue figures per owner, then the oldest actions' references and the owners' names."""
    counts_rows, overdue_rows, *lookups = results
    references = {
        row["id"]: row["reference"] for rows in lookups for row in rows if "reference" in row
    }
    names = {row["id"]: row["name"] for rows in lookups for row in rows if "name" in row}
    counts: dict[Any, dict[str, int]] = {}
    for row in counts_rows:
        values = list(row.values())
        counts.setdefault(values[0], dict.fromkeys(STATUSES, 0))[values[1]] = values[2]
    overdue = {row["gkey"]: row for row in overdue_rows}
    groups = []
    for key, per_status in counts.items():
        late = overdue.get(key)
        oldest = None
        if late is not None and list(late.values())[3] is not None:
            due = date.fromisoformat(late["due"])
            action_id = list(late.values())[3]
            oldest = {
                "action_id": action_id,
                "reference": references.get(action_id),
                "due_date": due,
                "days_overdue": (as_of - due).days,
            }
        total = sum(per_status.values())
        groups.append(
            {
                "key": key,
                "label": names.get(key, "Unassigned"),
                "counts": per_status,
                "total": total,
                "overdue": late["n"] if late else 0,
                "completed_share": per_status["completed"] / total if total else 0.0,
                "oldest_overdue": oldest,
            }
        )
    groups.sort(key=lambda group: (group["key"] is None, str(group["label"]).casefold()))
    return {"group_by": spec["group_by"], "as_of": as_of, "groups": groups}


class Baseline:
    def __init__(self, database: str, spec_path: str) -> None:
        self.connection = _connect(database)
        with open(spec_path, encoding="utf-8") as file:
            spec = json.load(file)
        self.as_of = date.fromisoformat(spec["as_of"])
        self.targets: dict[bytes, dict[str, Any]] = {
            target.encode(): entry for target, entry in spec["targets"].items()
        }

    def answer(self, target: bytes) -> tuple[int, bytes]:
        spec = self.targets.get(target)
        if spec is None:
            return 404, b'{"title":"Not found"}'
        results = []
        for sql, params in spec["statements"]:
            cursor = self.connection.execute(sql, params)
            names = [column[0] for column in cursor.description]
            results.append([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])
        rows = results[spec["body"]]
        if spec["shape"] == "page":
            body: Any = _page(rows, spec, self.as_of)
        elif spec["shape"] == "stats":
            body = _stats(results, spec, self.as_of)
        else:
            if not rows:
                return 404, b'{"title":"Not found"}'
            body = _action(rows[0], self.as_of)
        return 200, orjson.dumps(body, option=orjson.OPT_UTC_Z)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        target = scope["raw_path"]
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        status, body = self.answer(target)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


app = Baseline(os.environ.get("BENCH_DB", "afi.db"), os.environ.get("BENCH_SPEC", "spec.json"))
