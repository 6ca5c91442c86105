"""A committee pack built by hand (no database): what the renderers' tests draw from."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.schemas.changes import ChangeKind, ChangeOut, ChangesOut
from app.schemas.pack import Pack, PackFigures, PackItem, ReportRag
from app.schemas.trend import Ageing, TrendInterval, TrendOut, TrendPoint

AS_OF = date(2025, 5, 12)
LONDON = ZoneInfo("Europe/London")
# Text a user could have written into a report's title, an owner's name or a note.
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)> "quoted" \'single\''
FORMULA = '=HYPERLINK("http://evil.example","click")'


def item(**changes: object) -> PackItem:
    fields: dict[str, object] = {
        "action_id": 1,
        "reference": "CUMBRIA-2015-EFF-AFI-01",
        "title": "Improve the response to vulnerable people",
        "report": "Cumbria PEEL 2015 Effectiveness",
        "owner": "Supt Jones",
        "status": "in_progress",
        "priority": "high",
        "original_due_date": date(2025, 3, 31),
        "due_date": date(2025, 4, 30),
        "due_date_revisions": 1,
        "rag": "amber",
        "percent_complete": 45,
        "last_progress_at": datetime(2025, 4, 2, 8, 30, tzinfo=UTC),
        "progress_note": "Training planned.\nSecond line.",
        "days_overdue": 12,
        "stale": False,
    }
    fields.update(changes)
    return PackItem(**fields)  # type: ignore[arg-type]


def trend(points: int = 12) -> TrendOut:
    # The last days of May 2024, June 2024, ...: each the day before a month's first.
    firsts = [date(2024 + (5 + m) // 12, (5 + m) % 12 + 1, 1) for m in range(points)]
    period_ends = [date.fromordinal(first.toordinal() - 1) for first in firsts]
    return TrendOut(
        interval=TrendInterval.MONTH,
        items=[
            TrendPoint(period_end=end, open=10 + i, overdue=i % 4, completed=i, opened=2)
            for i, end in enumerate(period_ends)
        ],
        ageing=Ageing(as_of=AS_OF, days_0_30=3, days_31_90=2, days_91_180=1, days_over_180=0),
    )


def changes() -> ChangesOut:
    at = datetime(2025, 4, 10, 13, 5, tzinfo=UTC)
    return ChangesOut(
        since=date(2025, 1, 1),
        until=AS_OF,
        items=[
            ChangeOut(kind=ChangeKind.STATUS_CHANGED, action_id=1, reference="R-1", title="One",
                      at=at, from_="open", to="in_progress", actor="ed"),
            ChangeOut(kind=ChangeKind.DUE_DATE_REVISED, action_id=1, reference="R-1",
                      title="One", at=at, from_="2025-03-31", to="2025-04-30", actor="ed",
                      reason="Waiting for the new system"),
            ChangeOut(kind=ChangeKind.RAG_CHANGED, action_id=2, reference="R-2", title=HOSTILE,
                      at=at, from_="green", to="red", actor="ann"),
            ChangeOut(kind=ChangeKind.NEWLY_OVERDUE, action_id=3, reference="R-3",
                      title=FORMULA, at=at, to="2025-04-01"),
        ],
    )  # fmt: skip


def sample_pack(**changes_to_pack: object) -> Pack:
    fields: dict[str, object] = {
        "title": "Committee pack",
        "scope": (("Force", "Cumbria"), ("Programme", "PEEL")),
        "as_of": AS_OF,
        "generated_at": datetime(2025, 5, 12, 9, 0, tzinfo=UTC),
        "tz": LONDON,
        "items": (
            item(),
            item(
                action_id=2,
                reference="CUMBRIA-2015-EFF-AFI-02",
                title=HOSTILE,
                report=HOSTILE,
                owner=FORMULA,
                status="pending_sign_off",
                rag=None,
                percent_complete=None,
                last_progress_at=None,
                progress_note=None,
                original_due_date=None,
                due_date=None,
                due_date_revisions=0,
                days_overdue=0,
                stale=True,
            ),
        ),
        "changes": changes(),
        "figures": PackFigures(
            trend=trend(),
            rag_by_report=(
                ReportRag(
                    report_id=1,
                    report="Cumbria PEEL 2015 Effectiveness",
                    red=1,
                    amber=3,
                    green=5,
                    not_assessed=2,
                ),
                ReportRag(report_id=2, report=HOSTILE, red=2, not_assessed=1),
            ),
        ),
    }
    fields.update(changes_to_pack)
    return Pack(**fields)  # type: ignore[arg-type]


def empty_pack() -> Pack:
    """A pack of nothing: no items, changes, periods or reports."""
    trend = TrendOut(
        interval=TrendInterval.QUARTER,
        items=[],
        ageing=Ageing(as_of=AS_OF, days_0_30=0, days_31_90=0, days_91_180=0, days_over_180=0),
    )
    return sample_pack(
        items=(),
        changes=ChangesOut(since=AS_OF, until=AS_OF, items=[]),
        figures=PackFigures(trend=trend, rag_by_report=()),
        scope=(),
    )
