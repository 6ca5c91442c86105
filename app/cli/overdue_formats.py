"""How `afi overdue` prints its result: text, json, junit or github."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # importing it opens the database, which --help must not need
    from app.services.overdue import OverdueCheck

JSON_FORMAT_VERSION = 1


def _owner(item: dict[str, Any]) -> str | None:
    owner = item.get("owner")
    return owner["name"] if owner else None


def _days_until(item: dict[str, Any], as_of: date) -> int:
    due: date = item["due_date"]
    return (due - as_of).days


def _brief(item: dict[str, Any], result: OverdueCheck) -> dict[str, Any]:
    due = item["due_date"]
    return {
        "id": item["id"],
        "reference": item["reference"],
        "title": item["title"],
        "status": item["status"],
        "priority": item["priority"],
        "owner": _owner(item),
        "due_date": due.isoformat() if due else None,
        "days_overdue": item["days_overdue"],
        "force": item["force"],
        "year": item["year"],
        "report_id": item["report_id"],
    }


def _undated(result: OverdueCheck) -> list[dict[str, Any]]:
    """Checked actions without a due date: they cannot be overdue, nor are they on time."""
    return [item for item in result.checked if item["due_date"] is None]


def render_json(result: OverdueCheck, *, failed: bool, fail_on: str) -> str:
    """The documented shape (see README, "afi overdue"); `version` changes if it ever does."""
    body = {
        "version": JSON_FORMAT_VERSION,
        "as_of": result.as_of.isoformat(),
        "due_within": result.due_within,
        "fail_on": fail_on,
        "failed": failed,
        "checked": len(result.checked),
        "overdue_count": len(result.overdue),
        "due_soon_count": len(result.due_soon),
        "no_due_date_count": len(_undated(result)),
        "overdue": [_brief(item, result) for item in result.overdue],
        "due_soon": [_brief(item, result) for item in result.due_soon],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def render_junit(result: OverdueCheck, *, fail_on: str) -> str:
    """JUnit XML: one test case per checked action; overdue ones (and due-soon ones, with
    --fail-on due-soon) fail, so CI systems list them natively."""
    overdue = {item["id"] for item in result.overdue}
    due_soon = {item["id"] for item in result.due_soon}
    failing = overdue | (due_soon if fail_on == "due-soon" else set())
    suites = ET.Element("testsuites", name="afi overdue")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"overdue actions as of {result.as_of.isoformat()}",
        tests=str(len(result.checked)),
        failures=str(len(failing)),
        errors="0",
        skipped=str(len(_undated(result))),
    )
    for item in result.checked:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"afi.{item['force']}.{item['year']}".replace(" ", "_"),
            name=f"{item['reference']}: {item['title']}",
        )
        details = (
            f"Status {item['status']}, priority {item['priority']}, "
            f"owner {_owner(item) or 'unassigned'}, due {item['due_date'] or 'not set'}."
        )
        if item["id"] in overdue:
            days = item["days_overdue"]
            failure = ET.SubElement(
                case, "failure", type="overdue", message=f"overdue by {days} days"
            )
            failure.text = details
        elif item["id"] in due_soon:
            days = _days_until(item, result.as_of)
            message = f"due in {days} days"
            if item["id"] in failing:
                ET.SubElement(case, "failure", type="due-soon", message=message).text = details
            else:
                ET.SubElement(case, "system-out").text = f"{message}. {details}"
        elif item["due_date"] is None:
            ET.SubElement(case, "skipped", message="no due date").text = details
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(result: OverdueCheck, *, fail_on: str) -> str:
    """GitHub Actions workflow commands: an error per overdue action, a warning per due-soon."""
    lines = []
    for item in result.overdue:
        days = item["days_overdue"]
        title = _escape_property(f"Overdue: {item['reference']}")
        message = (
            f"{item['title']} is {days} days overdue (due {item['due_date']}), "
            f"owner {_owner(item) or 'unassigned'}"
        )
        lines.append(f"::error title={title}::{_escape_data(message)}")
    level = "error" if fail_on == "due-soon" else "warning"
    for item in result.due_soon:
        title = _escape_property(f"Due soon: {item['reference']}")
        message = f"{item['title']} is due on {item['due_date']}"
        lines.append(f"::{level} title={title}::{_escape_data(message)}")
    undated = len(_undated(result))
    if undated:
        lines.append(f"::notice title=No due date::{undated} checked actions have no due date")
    lines.append(_summary_line(result))
    return "\n".join(lines)


def _summary_line(result: OverdueCheck) -> str:
    soon = (
        f", {len(result.due_soon)} due within {result.due_within} days"
        if result.due_within is not None
        else ""
    )
    undated = len(_undated(result))
    return (
        f"{len(result.overdue)} overdue{soon}, {undated} without a due date, "
        f"{len(result.checked)} checked (as of {result.as_of.isoformat()})"
    )


def print_text(result: OverdueCheck, *, console: Console) -> None:
    rows = [(item, "overdue") for item in result.overdue] + [
        (item, "due soon") for item in result.due_soon
    ]
    if rows:
        table = Table(box=None, header_style="bold")
        for column in ("reference", "state", "days", "due", "status", "priority", "owner", "title"):
            # A narrow terminal folds titles and owners; references and dates stay whole.
            whole = column not in ("title", "owner")
            table.add_column(column, overflow="fold", no_wrap=whole, min_width=None)
        for item, state in rows:
            days = item["days_overdue"] or _days_until(item, result.as_of)
            table.add_row(
                item["reference"],
                state,
                str(days),
                item["due_date"].isoformat(),
                item["status"],
                item["priority"],
                _owner(item) or "-",
                item["title"],
            )
        console.print(table)
    console.print(_summary_line(result))
