"""Layouts the parser must read besides the seed's, and input it must refuse."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.enums import FindingKind
from app.errors import ParseError
from app.parser import ParsedReport, normalise_text, parse_report

HERE = Path(__file__).resolve().parent
SEED_TEXT = (HERE.parent / "seeds" / "cumbria-peel-2015-effectiveness.txt").read_text("utf-8")
SEED_FINDINGS: list[dict[str, Any]] = json.loads(
    (HERE / "cumbria-peel-2015-effectiveness.expected.json").read_text("utf-8")
)["findings"]
SEED_SHA256 = parse_report(SEED_TEXT).sha256
HEADER_EXPECTED = (
    "a header line '<Force> <PROGRAMME> <YEAR>' (or force, programme and year given by the caller)"
)
CONTENT_EXPECTED = (
    "a question heading (a line ending in '?') or a findings block such as 'Areas for improvement'"
)
AFI = FindingKind.AREA_FOR_IMPROVEMENT
COC = FindingKind.CAUSE_OF_CONCERN
REC = FindingKind.RECOMMENDATION
Q1 = "How effective is the force at keeping people safe?"
Q2 = "How effective is the force at investigating crime?"


def summary(report: ParsedReport) -> list[dict[str, Any]]:
    return [
        {"kind": f.kind.value, "question": f.question, "text": f.text, "subpoints": f.subpoints}
        for f in report.findings
    ]


def assert_seed_findings(report: ParsedReport) -> None:
    assert summary(report) == SEED_FINDINGS
    assert (report.force, report.programme, report.year, report.pillar) == (
        "Cumbria",
        "PEEL",
        "2015",
        "Effectiveness",
    )


def report(*lines: str) -> str:
    return "\n".join(["Westshire PEEL 2017", *lines])


def is_subpoint(line: str) -> bool:
    return line.startswith("- ") and line[2].islower()


def remark_seed(item: Callable[[int], str], sub: Callable[[int], str]) -> str:
    """The seed with its item and sub-point markers replaced; numbering restarts per list."""
    lines: list[str] = []
    items = subs = 0
    for line in SEED_TEXT.split("\n"):
        if is_subpoint(line):
            subs += 1
            line = f"{sub(subs)} {line[2:]}"
        elif line.startswith("- "):
            items, subs = items + 1, 0
            line = f"{item(items)} {line[2:]}"
        elif line == "Areas for improvement":
            items = 0
        lines.append(line)
    return "\n".join(lines)


def wrap_seed(width: int, *, indent: str, separator: str) -> str:
    """The seed hard-wrapped at `width`, continuation lines indented by `indent`."""
    blocks = []
    for line in SEED_TEXT.split("\n"):
        marker, body = ("- ", line[2:]) if line.startswith("- ") else ("", line)
        wrapped = textwrap.wrap(body, width, initial_indent=marker, subsequent_indent=indent)
        blocks.append("\n".join(wrapped))
    return separator.join(blocks)


# Normalisation


def test_normalise_text_unifies_line_ends_and_strips_whitespace() -> None:
    raw = "\ufeff\n  \nHeader  \r\n\r\n  indented\t\rlast \n\n"
    assert normalise_text(raw) == "Header\n\n  indented\nlast"
    assert normalise_text(raw.encode("utf-8")) == "Header\n\n  indented\nlast"


@pytest.mark.parametrize("as_bytes", [False, True], ids=["str", "bytes"])
def test_crlf_line_endings(as_bytes: bool) -> None:
    text = SEED_TEXT.replace("\n", "\r\n") + "\r\n"
    parsed = parse_report(text.encode("utf-8") if as_bytes else text)
    assert_seed_findings(parsed)
    assert parsed.sha256 == SEED_SHA256
    assert parsed.normalised_text == SEED_TEXT


def test_old_mac_cr_line_endings() -> None:
    parsed = parse_report(SEED_TEXT.replace("\n", "\r"))
    assert_seed_findings(parsed)
    assert parsed.sha256 == SEED_SHA256


@pytest.mark.parametrize(
    "raw",
    [b"\xef\xbb\xbf" + SEED_TEXT.encode("utf-8"), "\ufeff" + SEED_TEXT],
    ids=["bytes", "str"],
)
def test_byte_order_mark(raw: str | bytes) -> None:
    parsed = parse_report(raw)
    assert_seed_findings(parsed)
    assert parsed.sha256 == SEED_SHA256
    assert not parsed.normalised_text.startswith("\ufeff")


def test_trailing_spaces_and_surrounding_blank_lines() -> None:
    text = "\n\n" + "\n".join(f"{line}  \t" for line in SEED_TEXT.split("\n")) + "\n \n"
    parsed = parse_report(text)
    assert_seed_findings(parsed)
    assert parsed.sha256 == SEED_SHA256


def test_blank_lines_between_paragraphs() -> None:
    parsed = parse_report(SEED_TEXT.replace("\n", "\n\n"))
    assert_seed_findings(parsed)
    assert [len(s.paragraphs) for s in parsed.sections] == [0, 5, 7, 7, 5]
    lines = parsed.normalised_text.split("\n")
    assert all(lines[f.line - 1] == f"- {f.text}" for f in parsed.findings)
    assert parsed.sha256 != SEED_SHA256  # the text differs, so does the hash


def test_a_stray_blank_line_does_not_glue_paragraphs_together() -> None:
    lines = SEED_TEXT.split("\n")
    parsed = parse_report("\n".join([*lines[:2], "", *lines[2:]]))
    assert_seed_findings(parsed)
    assert [len(s.paragraphs) for s in parsed.sections] == [0, 5, 7, 7, 5]


# Bullets, numbers and sub-point markers


@pytest.mark.parametrize(
    ("item", "sub"),
    [
        (lambda n: "•", lambda n: "•"),
        (lambda n: "*", lambda n: "*"),
        (lambda n: "–", lambda n: "–"),
        (lambda n: "•", lambda n: "◦"),
        (lambda n: f"{n}.", lambda n: f"({'abc'[n - 1]})"),
        (lambda n: f"{n})", lambda n: f"{'abc'[n - 1]})"),
        (lambda n: f"{n}.", lambda n: f"({'i' * n})"),
        (lambda n: "-", lambda n: "  -"),
    ],
    ids=[
        "bullet",
        "asterisk",
        "en-dash",
        "hollow-sub",
        "num-paren-letter",
        "paren",
        "roman",
        "indent",
    ],
)
def test_item_and_subpoint_markers(item: Callable[[int], str], sub: Callable[[int], str]) -> None:
    assert_seed_findings(parse_report(remark_seed(item, sub)))


@pytest.mark.parametrize("marker", ["(a)", "a)", "(ii)", "◦"])
def test_a_subpoint_marker_makes_a_subpoint_whatever_the_case(marker: str) -> None:
    parsed = parse_report(
        report(
            Q1,
            "Areas for improvement",
            "- The force should improve its call handling.",
            f"{marker} Call takers should assess risk.",
            "- The force should improve its records.",
        )
    )
    assert [(f.text, f.subpoints) for f in parsed.findings] == [
        ("The force should improve its call handling.", ["Call takers should assess risk."]),
        ("The force should improve its records.", []),
    ]


def test_a_list_of_lettered_items_is_a_list_of_findings() -> None:
    parsed = parse_report(
        report(
            Q1,
            "Recommendations",
            "HMIC recommends that the force:",
            "(a) Reviews its policy:",
            "(i) on missing children; and",
            "(ii) on domestic abuse.",
            "(b) Trains its staff.",
        )
    )
    assert [(f.text, f.subpoints) for f in parsed.findings] == [
        ("Reviews its policy:", ["on missing children; and", "on domestic abuse."]),
        ("Trains its staff.", []),
    ]
    assert {f.context for f in parsed.findings} == {"HMIC recommends that the force:"}


def test_a_deeper_indented_bullet_is_a_subpoint() -> None:
    parsed = parse_report(
        report(
            Q1,
            "Areas for improvement",
            "  • The force should improve its call handling.",
            "      • Call takers should assess risk.",
            "  • The force should improve its records.",
        )
    )
    assert [len(f.subpoints) for f in parsed.findings] == [1, 0]
    assert parsed.findings[0].subpoints == ["Call takers should assess risk."]


def test_capitalised_bullets_of_another_style_after_a_colon_are_subpoints() -> None:
    parsed = parse_report(
        report(
            Q1,
            "Areas for improvement",
            "1. The force should improve:",
            "• Its call handling.",
            "• Its records.",
            "2. The force should train its staff.",
        )
    )
    assert summary(parsed) == [
        {
            "kind": "area_for_improvement",
            "question": Q1,
            "text": "The force should improve:",
            "subpoints": ["Its call handling.", "Its records."],
        },
        {
            "kind": "area_for_improvement",
            "question": Q1,
            "text": "The force should train its staff.",
            "subpoints": [],
        },
    ]


# Hard-wrapped text


def test_hard_wrapped_with_indented_continuations() -> None:
    text = wrap_seed(50, indent="  ", separator="\n")
    assert len(text.split("\n")) > 150
    parsed = parse_report(text)
    assert_seed_findings(parsed)
    assert [len(s.paragraphs) for s in parsed.sections] == [0, 5, 7, 7, 5]


def test_hard_wrapped_blocks_separated_by_blank_lines() -> None:
    text = wrap_seed(60, indent="", separator="\n\n")
    parsed = parse_report(text)
    assert_seed_findings(parsed)
    assert [len(s.paragraphs) for s in parsed.sections] == [0, 5, 7, 7, 5]
    assert (
        parsed.main_question
        == "How effective is the force at keeping people safe and reducing crime?"
    )


def test_hard_wrapped_lines_join_where_the_sentence_is_unfinished() -> None:
    parsed = parse_report(
        report(
            "How effective is the force at",
            "keeping people safe?",
            "The force works well with",
            "partners. It has a co-",
            "ordinated approach.",
            "Areas for improvement",
            "- The force should improve the way",
            "it handles calls from vulnerable",
            "people.",
            "- The force should train its staff.",
        )
    )
    assert [s.heading for s in parsed.sections] == [Q1]
    assert parsed.sections[0].paragraphs == [
        "The force works well with partners. It has a co-ordinated approach."
    ]
    assert [(f.text, f.line) for f in parsed.findings] == [
        ("The force should improve the way it handles calls from vulnerable people.", 8),
        ("The force should train its staff.", 11),
    ]


# Singular headings, causes of concern, recommendations


def test_singular_area_for_improvement_heading_with_a_paragraph() -> None:
    parsed = parse_report(
        report(
            Q1,
            "The force works well with partners.",
            "Area for improvement",
            "The force should improve how it records crime.",
            "We set out our detailed findings below.",
        )
    )
    assert summary(parsed) == [
        {
            "kind": "area_for_improvement",
            "question": Q1,
            "text": "The force should improve how it records crime.",
            "subpoints": [],
        }
    ]
    assert parsed.sections[0].paragraphs == [
        "The force works well with partners.",
        "We set out our detailed findings below.",
    ]


def test_singular_heading_paragraph_ending_in_a_colon_carries_the_subpoints() -> None:
    parsed = parse_report(
        report(
            Q1, "Area for improvement", "The force should improve:", "- its records;", "- its IT."
        )
    )
    assert [(f.text, f.subpoints, f.context) for f in parsed.findings] == [
        ("The force should improve:", ["its records;", "its IT."], None)
    ]


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("Areas for improvement", AFI),
        ("AREA FOR IMPROVEMENT:", AFI),
        ("Cause of concern", COC),
        ("Causes of concern:", COC),
        ("Cause(s) of concern", COC),
        ("causes of concern", COC),
        ("Recommendation", REC),
        ("Recommendations:", REC),
        ("Recommendation(s)", REC),
        ("Recommendation 2", REC),
    ],
)
def test_block_headings(heading: str, kind: FindingKind) -> None:
    parsed = parse_report(report(Q1, "Some narrative.", heading, "- The force should act."))
    assert [(f.kind, f.text) for f in parsed.findings] == [(kind, "The force should act.")]
    assert parsed.sections[0].paragraphs == ["Some narrative."]


def test_hmic_cause_of_concern_then_recommendations_with_a_lead_in() -> None:
    lead_in = "HMIC recommends that within three months the force should:"
    parsed = parse_report(
        report(
            Q1,
            "Cause of concern",
            "The force does not understand the risks faced by vulnerable people.",
            "Recommendations",
            lead_in,
            "- review how it assesses risk; and",
            "- train its control room staff.",
        )
    )
    assert [(f.kind, f.text, f.context) for f in parsed.findings] == [
        (COC, "The force does not understand the risks faced by vulnerable people.", None),
        (REC, "review how it assesses risk; and", lead_in),
        (REC, "train its control room staff.", lead_in),
    ]
    assert [f.line for f in parsed.findings] == [4, 7, 8]
    assert all(f.subpoints == [] for f in parsed.findings)


def test_recommendations_inside_a_cause_of_concern_block() -> None:
    lead_in = "To address this cause of concern, we recommend that the force:"
    parsed = parse_report(
        report(
            Q1,
            "Cause of concern",
            "The force is not doing enough to protect children.",
            lead_in,
            "• Reviews its safeguarding hub.",
            "• Trains its staff.",
        )
    )
    assert [(f.kind, f.context) for f in parsed.findings] == [
        (COC, None),
        (REC, lead_in),
        (REC, lead_in),
    ]


def test_each_lead_in_is_the_context_of_the_items_after_it() -> None:
    parsed = parse_report(
        report(
            Q1,
            "Recommendations",
            "Within three months the force should:",
            "1. Review its policy.",
            "Within six months the force should:",
            "1. Train its staff.",
            "2. Audit its records.",
        )
    )
    assert [(f.text, f.context) for f in parsed.findings] == [
        ("Review its policy.", "Within three months the force should:"),
        ("Train its staff.", "Within six months the force should:"),
        ("Audit its records.", "Within six months the force should:"),
    ]
    assert {f.kind for f in parsed.findings} == {REC}


# Narrative that is not a finding


NARRATIVE = [
    Q1,
    "The force should be proud of its neighbourhood teams. It has:",
    "- strong local partnerships;",
    "- well-run watch schemes.",
    "Areas for improvement",
    "- The force should evaluate its problem-solving.",
    "We set out our detailed findings below.",
    "- This bullet is narrative again.",
    Q2,
    "Officers should, and do, follow up leads.",
]


@pytest.mark.parametrize("separator", ["\n", "\n\n"], ids=["line-mode", "block-mode"])
def test_narrative_bullets_prose_and_text_after_the_list_are_not_findings(separator: str) -> None:
    parsed = parse_report(separator.join(["Westshire PEEL 2017", *NARRATIVE]))
    assert [f.text for f in parsed.findings] == ["The force should evaluate its problem-solving."]
    assert [s.paragraphs for s in parsed.sections] == [
        [
            "The force should be proud of its neighbourhood teams. It has:",
            "strong local partnerships;",
            "well-run watch schemes.",
            "We set out our detailed findings below.",
            "This bullet is narrative again.",
        ],
        ["Officers should, and do, follow up leads."],
    ]


def test_report_without_findings_gives_a_warning_not_an_error() -> None:
    parsed = parse_report(report("Effectiveness", Q1, "The force should do well.", Q2, "Fine."))
    assert parsed.findings == []
    assert len(parsed.warnings) == 1
    assert "No findings" in parsed.warnings[0]
    assert [s.heading for s in parsed.sections] == [Q1, Q2]
    assert parsed.main_question is None
    assert [s.parent for s in parsed.sections] == [None, None]


def test_an_empty_findings_block_is_warned_about() -> None:
    parsed = parse_report(report(Q1, "Areas for improvement", Q2, "- Nothing here.", "Text."))
    assert parsed.findings == []
    assert any("'Areas for improvement' at line 3" in w for w in parsed.warnings)


def test_findings_before_any_question_have_no_question() -> None:
    parsed = parse_report(report("Areas for improvement", "- The force should act."))
    assert [(f.question, f.line) for f in parsed.findings] == [(None, 3)]
    assert parsed.sections == []
    assert parsed.pillar is None


# Header and caller metadata


@pytest.mark.parametrize(
    ("header", "force", "programme", "year", "start_year"),
    [
        ("Avon and Somerset PEEL 2018/19", "Avon and Somerset", "PEEL", "2018/19", 2018),
        ("City of London PEEL 2018/2019", "City of London", "PEEL", "2018/2019", 2018),
        ("Dyfed-Powys CPI 2016-17", "Dyfed-Powys", "CPI", "2016-17", 2016),
        (
            "Metropolitan Police Service PEEL 2021",
            "Metropolitan Police Service",
            "PEEL",
            "2021",
            2021,
        ),
    ],
)
def test_header_forms(header: str, force: str, programme: str, year: str, start_year: int) -> None:
    parsed = parse_report(f"{header}\nLegitimacy\n{Q1}\nAreas for improvement\n- Act.")
    assert (parsed.force, parsed.programme, parsed.year, parsed.start_year) == (
        force,
        programme,
        year,
        start_year,
    )
    assert parsed.title == f"{header} – Legitimacy"


def test_callers_metadata_wins_over_the_header() -> None:
    parsed = parse_report(
        SEED_TEXT, force="Cumbria Constabulary", year="2015/16", pillar="Efficiency"
    )
    assert (parsed.force, parsed.programme, parsed.year, parsed.start_year, parsed.pillar) == (
        "Cumbria Constabulary",
        "PEEL",
        "2015/16",
        2015,
        "Efficiency",
    )
    assert parsed.title == "Cumbria Constabulary PEEL 2015/16 – Efficiency"
    assert len(parsed.findings) == 17


def test_no_header_with_callers_metadata_parses_from_line_one() -> None:
    body = SEED_TEXT.split("\n", 1)[1]
    parsed = parse_report(body, force="Cumbria", programme="PEEL", year="2015")
    assert_seed_findings(parsed)
    assert parsed.findings[0].line == 10
    assert parsed.title == "Cumbria PEEL 2015 – Effectiveness"


def test_no_header_and_no_pillar_with_callers_metadata() -> None:
    parsed = parse_report(
        f"{Q1}\nAreas for improvement\n- Act.", force="Kent", programme="PEEL", year="2016"
    )
    assert (parsed.pillar, parsed.title) == (None, "Kent PEEL 2016")
    assert [(f.question, f.text, f.line) for f in parsed.findings] == [(Q1, "Act.", 3)]


@pytest.mark.parametrize(
    "metadata",
    [{}, {"force": "Cumbria", "programme": "PEEL"}, {"force": "Cumbria", "year": "2015"}],
)
def test_no_header_without_full_metadata_is_an_error(metadata: dict[str, str]) -> None:
    body = SEED_TEXT.split("\n", 1)[1]
    with pytest.raises(ParseError) as caught:
        parse_report(body, **metadata)
    assert caught.value.expected == HEADER_EXPECTED
    assert caught.value.line == 1
    assert "found 'Effectiveness'" in caught.value.detail


def test_a_callers_year_must_start_with_four_digits() -> None:
    with pytest.raises(ParseError) as caught:
        parse_report(SEED_TEXT, year="last year")
    assert "four digits" in caught.value.expected


# Not a report at all


@pytest.mark.parametrize("raw", ["", b"", " \n\t\n  ", "\ufeff\r\n"])
def test_empty_text_expects_the_header_on_line_one(raw: str | bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_report(raw)
    assert (caught.value.expected, caught.value.line) == (HEADER_EXPECTED, 1)


def test_empty_text_with_callers_metadata_expects_content() -> None:
    with pytest.raises(ParseError) as caught:
        parse_report("\n\n", force="Kent", programme="PEEL", year="2016")
    assert (caught.value.expected, caught.value.line) == (CONTENT_EXPECTED, 1)


def test_random_prose_expects_the_header() -> None:
    prose = "It was a bright cold day in April, and the clocks were striking thirteen. " * 3
    with pytest.raises(ParseError) as caught:
        parse_report(f"\n{prose}\nWinston Smith hurried home.")
    assert (caught.value.expected, caught.value.line) == (HEADER_EXPECTED, 1)
    assert f"found {prose[:80]!r}" in caught.value.detail


def test_prose_with_callers_metadata_expects_a_question_or_findings_block() -> None:
    with pytest.raises(ParseError) as caught:
        parse_report(
            "It was a bright cold day.\nThe clocks struck thirteen.\nNobody should go out.",
            force="Kent",
            programme="PEEL",
            year="2016",
        )
    assert (caught.value.expected, caught.value.line) == (CONTENT_EXPECTED, 3)


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", 1),
        (b"Cumbria PEEL 2015\nEffectiveness\nabc\x00def\n", 3),
        (b"Cumbria PEEL 2015\r\n\xff\xfe broken\r\n", 2),
        (b"Cumbria PEEL 2015\nGood \xe2\x80\x99 text\nbad \xc3(\n", 3),
        ("Cumbria PEEL 2015\nEffectiveness\n\x07bell", 3),
    ],
    ids=["png", "nul", "invalid-utf8", "truncated-sequence", "control-in-str"],
)
def test_binary_input_names_utf8_and_the_line(raw: str | bytes, line: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse_report(raw)
    assert (caught.value.expected, caught.value.line) == ("UTF-8 text", line)
