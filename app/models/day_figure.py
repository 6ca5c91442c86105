from __future__ import annotations

from datetime import date

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.day_counts import DayCounts


class DayFigure(DayCounts, Base):
    """The trend's figures of one day that has ended (in `time_zone`), as the actions' states
    give them: how many actions existed, were open and were overdue (by days past due) at the
    end of the day, and how many were completed and opened during it.

    The past does not change (every write is dated now), so a day's figures are kept once the
    background worker has counted them (app.services.day_figures), and the trend without
    filters reads them rather than the states (app.services.trend_kept). A write dated on or
    before a kept day (a clock moved back) deletes that day's figures in its own transaction
    (app.services.states). Derived data: deleting rows only makes the trend slower."""

    __tablename__ = "day_figure"

    day_date: Mapped[date] = mapped_column(primary_key=True)
    # AFI_TIMEZONE when the day was counted: its end depends on it.
    time_zone: Mapped[str] = mapped_column(String(64))
    # Actions that existed at the end of the day (0: none existed on any day before either).
    actions: Mapped[int]
