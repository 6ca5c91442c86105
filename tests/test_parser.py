"""The seed report parses to exactly its expected JSON."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.enums import FindingKind
from app.parser import ParsedReport, normalise_text, parse_report

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "cumbria-peel-2015-effectiveness.txt"
EXPECTED = Path(__file__).resolve().parent / "cumbria-peel-2015-effectiveness.expected.json"
SEED_SHA256 = "604c32d475d1de42e27bd9cf2326de728df94fa265e376db906413e6612bdb42"

MAIN_QUESTION = "How effective is the force at keeping people safe and reducing crime?"
SUB_QUESTIONS = [
    "How effective is the force at preventing crime and anti-social behaviour, "
    "and keeping people safe?",
    "How effective is the force at investigating crime and managing offenders?",
    "How effective is the force at protecting from harm those who are vulnerable, "
    "and supporting victims?",
    "How effective is the force at tackling serious and organised crime, including its "
    "arrangement for fulfilling its national policing responsibilities?",
]


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXPECTED.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def report() -> ParsedReport:
    return parse_report(SEED.read_bytes())


def test_metadata_comes_from_the_header_and_pillar_lines(
    report: ParsedReport, expected: dict[str, Any]
) -> None:
    assert (report.force, report.programme, report.year, report.pillar) == (
        expected["force"],
        expected["programme"],
        expected["year"],
        expected["pillar"],
    )
    assert report.start_year == 2015
    assert report.title == "Cumbria PEEL 2015 – Effectiveness"


def test_findings_match_the_expected_json_in_order(
    report: ParsedReport, expected: dict[str, Any]
) -> None:
    got = [
        {"kind": f.kind.value, "question": f.question, "text": f.text, "subpoints": f.subpoints}
        for f in report.findings
    ]
    assert got == expected["findings"]


def test_seventeen_areas_for_improvement_split_2_6_5_4(report: ParsedReport) -> None:
    assert len(report.findings) == 17
    assert {f.kind for f in report.findings} == {FindingKind.AREA_FOR_IMPROVEMENT}
    per_question = Counter(f.question for f in report.findings)
    assert [per_question[q] for q in SUB_QUESTIONS] == [2, 6, 5, 4]
    assert MAIN_QUESTION not in per_question


def test_only_the_first_vulnerability_finding_has_subpoints(report: ParsedReport) -> None:
    with_subpoints = [f for f in report.findings if f.subpoints]
    assert len(with_subpoints) == 1
    finding = with_subpoints[0]
    assert finding.question == SUB_QUESTIONS[2]
    assert finding.text.endswith("such as:")
    assert finding.subpoints[0] == "the national decision-making model with control room staff;"
    assert report.findings.index(finding) == 8


def test_findings_carry_their_line_number_and_no_context(report: ParsedReport) -> None:
    lines = report.normalised_text.split("\n")
    assert [f.line for f in report.findings][:3] == [11, 12, 22]
    for finding in report.findings:
        assert lines[finding.line - 1] == f"- {finding.text}"
        assert finding.context is None


def test_sections_are_the_five_question_headings_with_parents(report: ParsedReport) -> None:
    assert [s.heading for s in report.sections] == [MAIN_QUESTION, *SUB_QUESTIONS]
    assert [s.parent for s in report.sections] == [None] + [MAIN_QUESTION] * 4
    assert report.main_question == MAIN_QUESTION


def test_sections_hold_the_narrative_but_not_the_findings(report: ParsedReport) -> None:
    assert [len(s.paragraphs) for s in report.sections] == [0, 5, 7, 7, 5]
    first = report.sections[1].paragraphs[0]
    assert first.startswith("Cumbria Constabulary has a strong focus on tackling crime")
    assert report.sections[2].paragraphs[-1].startswith("Good schemes are in place")
    paragraphs = {p for s in report.sections for p in s.paragraphs}
    assert "Areas for improvement" not in paragraphs
    assert not paragraphs & {f.text for f in report.findings}


def test_the_seed_parses_without_warnings(report: ParsedReport) -> None:
    assert report.warnings == []


def test_sha256_is_of_the_normalised_text_and_stable(report: ParsedReport) -> None:
    seed_text = SEED.read_text(encoding="utf-8")
    assert report.normalised_text == normalise_text(seed_text) == seed_text.strip()
    assert report.sha256 == hashlib.sha256(report.normalised_text.encode("utf-8")).hexdigest()
    assert report.sha256 == SEED_SHA256
    assert parse_report(seed_text).sha256 == SEED_SHA256


def test_parsing_is_repeatable(report: ParsedReport) -> None:
    assert parse_report(SEED.read_bytes()) == report
