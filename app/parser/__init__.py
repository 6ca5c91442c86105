"""Pure report parser: text in, `ParsedReport` out."""

from app.parser.model import ParsedFinding, ParsedReport, ParsedSection
from app.parser.parse import normalise_text, parse_report

__all__ = ["ParsedFinding", "ParsedReport", "ParsedSection", "normalise_text", "parse_report"]
