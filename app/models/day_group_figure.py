from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.day_counts import DayCounts


class DayGroupFigure(DayCounts, Base):
    """The trend's figures of one day that has ended (`day_figure`), for the states of one
    group: of one status, RAG ('' for none), assigned or not, and programme (lower-cased, as
    the filter compares it). A day's groups add up to its `day_figure` row; groups whose
    figures are all 0 are not kept.

    Counted in the same pass as the day's row and written in the same transaction
    (app.services.day_groups); they go with it (`ON DELETE CASCADE`), so a day's groups are
    kept exactly when its row is, in the row's time zone. The trend whose filters are only of
    these (status, RAG, assigned or not, programme) reads them (app.services.trend_kept).
    Derived data: deleting rows only makes the trend slower."""

    __tablename__ = "day_group_figure"
    __table_args__ = ({"sqlite_with_rowid": False},)

    day_date: Mapped[date] = mapped_column(
        ForeignKey("day_figure.day_date", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    rag: Mapped[str] = mapped_column(String(10), primary_key=True)
    assigned: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    programme: Mapped[str] = mapped_column(String(50), primary_key=True)
