"""What the parser produces: plain data, no database."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.enums import FindingKind


class ParsedSection(BaseModel):
    heading: str
    parent: str | None = None
    paragraphs: list[str] = Field(default_factory=list)


class ParsedFinding(BaseModel):
    kind: FindingKind
    question: str | None
    text: str
    subpoints: list[str] = Field(default_factory=list)
    context: str | None = None
    line: int


class ParsedReport(BaseModel):
    force: str
    programme: str
    year: str
    start_year: int
    pillar: str | None
    title: str
    main_question: str | None
    sections: list[ParsedSection]
    findings: list[ParsedFinding]
    warnings: list[str] = Field(default_factory=list)
    normalised_text: str
    sha256: str
