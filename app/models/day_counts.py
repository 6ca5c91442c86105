from __future__ import annotations

from sqlalchemy.orm import Mapped


class DayCounts:
    """The trend's figures of one ended day, as `day_figure` keeps them for all actions and
    `day_group_figure` for one group: open and overdue (by days past due) at the end of the
    day, and completed and opened during it."""

    open: Mapped[int]
    overdue_0_30: Mapped[int]
    overdue_31_90: Mapped[int]
    overdue_91_180: Mapped[int]
    overdue_over_180: Mapped[int]
    completed: Mapped[int]
    opened: Mapped[int]
