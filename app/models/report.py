from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from sqlalchemy.types import JSON

from app.models.base import Base

if TYPE_CHECKING:
    from app.models.action import Action


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("identity_key"),
        # The action filters compare these case-insensitively (app.services.action_filters).
        Index("ix_report_force_lower", func.lower(text("force"))),
        Index("ix_report_programme_lower", func.lower(text("programme"))),
        Index("ix_report_pillar_lower", func.lower(text("pillar"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    force: Mapped[str] = mapped_column(String(200), index=True)
    programme: Mapped[str] = mapped_column(String(50), index=True)
    year_label: Mapped[str] = mapped_column(String(20), index=True)
    start_year: Mapped[int] = mapped_column(index=True)
    pillar: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(500), index=True)
    # force|programme|year|pillar, case-folded: the report's identity across re-imports.
    identity_key: Mapped[str] = mapped_column(String(900))
    reference_prefix: Mapped[str] = mapped_column(String(100), unique=True)
    source_sha256: Mapped[str] = mapped_column(String(64), index=True)
    source_text: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    sections: Mapped[list[Section]] = relationship(
        back_populates="report", order_by="Section.position", cascade="all, delete-orphan"
    )
    findings: Mapped[list[Finding]] = relationship(
        back_populates="report", order_by="Finding.position", cascade="all, delete-orphan"
    )
    if TYPE_CHECKING:
        finding_count: Mapped[int]  # a column_property, mapped below once Finding exists


class Section(Base):
    __tablename__ = "section"
    __table_args__ = (Index("ix_section_report_id_position", "report_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("section.id", ondelete="SET NULL"))
    position: Mapped[int]
    heading: Mapped[str] = mapped_column(Text)
    paragraphs: Mapped[list[str]] = mapped_column(JSON, default=list)

    report: Mapped[Report] = relationship(back_populates="sections")
    parent: Mapped[Section | None] = relationship(remote_side=[id])


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (
        Index("ix_finding_report_id_position", "report_id", "position"),
        # Few findings are ever withdrawn: the overdue rule looks them up here, not per action.
        Index(
            "ix_finding_withdrawn",
            "id",
            sqlite_where=text("withdrawn_at IS NOT NULL"),
            postgresql_where=text("withdrawn_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    section_id: Mapped[int | None] = mapped_column(
        ForeignKey("section.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), index=True)
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    number: Mapped[int]
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    subpoints: Mapped[list[str]] = mapped_column(JSON, default=list)
    context: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    report: Mapped[Report] = relationship(back_populates="findings")
    section: Mapped[Section | None] = relationship()
    actions: Mapped[list[Action]] = relationship(
        back_populates="finding",
        foreign_keys="Action.finding_id",
        order_by="Action.id",
        cascade="all, delete-orphan",
    )

    @property
    def question(self) -> str | None:
        return self.section.heading if self.section else None


Report.finding_count = column_property(
    select(func.count(Finding.id))
    .where(Finding.report_id == Report.id, Finding.withdrawn_at.is_(None))
    .correlate_except(Finding)
    .scalar_subquery(),
    deferred=True,
)
