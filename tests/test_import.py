from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import SessionLocal
from app.errors import ParseError
from app.models import Action, ActionEvent, Finding, Report, Section
from app.principal import system
from app.services.reports import import_text

EXPECTED = json.loads(
    (Path(__file__).parent / "cumbria-peel-2015-effectiveness.expected.json").read_text("utf-8")
)


def _load(text: str, **metadata: str) -> object:
    with SessionLocal.begin() as session:
        return import_text(
            session=session, raw=text, metadata=dict(metadata), actor=system("tests")
        )


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Report, Section, Finding, Action, ActionEvent)
    }


def _snapshot(session: Session) -> list[tuple[object, ...]]:
    rows = session.execute(
        select(
            Finding.reference,
            Finding.text,
            Finding.withdrawn_at,
            Finding.updated_at,
            Action.status,
            Action.version,
            Action.updated_at,
        )
        .join(Action, Action.finding_id == Finding.id)
        .order_by(Finding.reference)
    )
    return [tuple(row) for row in rows]


def test_seed_import_creates_17_findings_each_with_an_open_action(
    seeded: int, session: Session
) -> None:
    report = session.get(Report, seeded)
    assert report is not None
    assert (report.force, report.programme, report.year_label, report.pillar) == (
        "Cumbria",
        "PEEL",
        "2015",
        "Effectiveness",
    )
    assert report.start_year == 2015
    findings = session.scalars(select(Finding).order_by(Finding.position)).all()
    assert [f.text for f in findings] == [f["text"] for f in EXPECTED["findings"]]
    assert [f.question for f in findings] == [f["question"] for f in EXPECTED["findings"]]
    assert [f.reference for f in findings] == [
        f"CUMBRIA-2015-EFF-AFI-{n:02d}" for n in range(1, 18)
    ]
    actions = session.scalars(select(Action)).all()
    assert len(actions) == 17
    assert {a.status for a in actions} == {"open"}
    assert all(a.reference == a.finding.reference for a in actions)
    assert findings[8].subpoints == EXPECTED["findings"][8]["subpoints"]
    assert (
        findings[8]
        .actions[0]
        .description.endswith(
            "- identification of the risks associated with child sexual exploitation."
        )
    )


def test_sections_keep_the_question_tree_and_narrative(seeded: int, session: Session) -> None:
    sections = session.scalars(select(Section).order_by(Section.position)).all()
    main, *subs = sections
    assert main.heading == "How effective is the force at keeping people safe and reducing crime?"
    assert main.parent is None
    assert len(subs) == 4
    assert all(s.parent_id == main.id for s in subs)
    assert subs[1].paragraphs[0] == "The standards of investigation of crime in Cumbria are mixed."


def test_loading_the_same_text_again_changes_no_row(
    seeded: int, seed_text: str, session: Session
) -> None:
    before, counts = _snapshot(session), _counts(session)
    result = _load(seed_text.replace("\n", "\r\n") + "  \n")
    session.expire_all()
    assert result.changed is False and result.created is False
    assert _snapshot(session) == before
    assert _counts(session) == counts


def test_edited_report_updates_in_place_and_keeps_references_and_state(
    seeded: int, seed_text: str, session: Session
) -> None:
    first = session.scalars(select(Action).where(Action.reference.endswith("AFI-03"))).one()
    first.status = "in_progress"
    session.commit()

    inserted = "- The constabulary should publish a digital forensics plan within six months."
    standard = "- The constabulary should ensure that all investigations are completed to a "
    sex_offenders = (
        "- The constabulary should ensure that the risks posed by registered sex offenders are "
        "managed effectively.\n"
    )
    edited = seed_text.replace(
        standard + "consistently good standard.",
        standard + "consistently high standard.\n" + inserted,
    ).replace(sex_offenders, "")
    result = _load(edited)
    assert (result.added, result.updated, result.withdrawn) == (1, 1, 1)
    session.expire_all()

    by_ref = {f.reference: f for f in session.scalars(select(Finding))}
    assert by_ref["CUMBRIA-2015-EFF-AFI-03"].text.endswith("consistently high standard.")
    assert by_ref["CUMBRIA-2015-EFF-AFI-04"].text.startswith(
        "The constabulary should ensure that there is regular"
    )
    assert by_ref["CUMBRIA-2015-EFF-AFI-18"].text == inserted[2:]
    assert by_ref["CUMBRIA-2015-EFF-AFI-07"].withdrawn_at is not None
    assert sum(f.withdrawn_at is None for f in by_ref.values()) == 17
    kept = session.scalars(select(Action).where(Action.reference.endswith("AFI-03"))).one()
    assert kept.status == "in_progress"
    assert kept.description.endswith("consistently high standard.")
    kinds = session.scalars(
        select(ActionEvent.kind).where(ActionEvent.action_id == kept.id).order_by(ActionEvent.id)
    ).all()
    assert kinds == ["created", "reimported"]

    # The withdrawn finding comes back when the text returns, with its old reference.
    _load(seed_text)
    session.expire_all()
    restored = session.scalars(select(Finding).where(Finding.reference.endswith("AFI-07"))).one()
    assert restored.withdrawn_at is None


def test_a_failure_mid_file_stores_nothing(
    seed_text: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import history

    def failing_history(**kwargs: object) -> int:
        raise RuntimeError("disk full")

    # The history is written last, after the report, its findings and actions.
    monkeypatch.setattr(history, "record_many", failing_history)
    with pytest.raises(RuntimeError):
        _load(seed_text)
    assert all(count == 0 for count in _counts(session).values())


def test_unparseable_text_stores_nothing(session: Session) -> None:
    with pytest.raises(ParseError):
        _load("just some words\nand more words")
    assert _counts(session)["report"] == 0


def test_reports_without_pillar_and_other_programmes_get_distinct_prefixes(
    session: Session,
) -> None:
    body = "How good is it?\nAreas for improvement\n- The force should do better.\n"
    one = _load(body, force="Cumbria", programme="PEEL", year="2015")
    two = _load(body, force="Cumbria", programme="CRIME", year="2015")
    assert one.report.reference_prefix == "CUMBRIA-2015"
    assert two.report.reference_prefix == "CUMBRIA-CRIME-2015"
    assert two.report.findings[0].reference == "CUMBRIA-CRIME-2015-AFI-01"


def _large_report(findings: int, edited: frozenset[int] = frozenset()) -> str:
    """A seed-format report: questions of four findings each; `edited` findings reworded."""
    lines = ["Kent PEEL 2019", "Effectiveness"]
    for number in range(findings):
        if number % 4 == 0:
            lines += [
                f"How well does the force meet demand ({number // 4})?",
                "Areas for improvement",
            ]
        ending = "and report on it every quarter." if number in edited else "every quarter."
        lines.append(
            f"- The force should review its crime recording (finding {number}) so that it can "
            f"show progress {ending}"
        )
    return "\n".join(lines) + "\n"


def test_an_edited_reimport_of_a_large_report_keeps_every_reference(session: Session) -> None:
    first = _load(_large_report(1200))
    actions = {
        reference: id_ for reference, id_ in session.execute(select(Action.reference, Action.id))
    }
    edited = frozenset(range(3, 1200, 5))

    result = _load(_large_report(1200, edited))

    assert (result.added, result.updated, result.withdrawn) == (0, len(edited), 0)
    assert result.report.id == first.report.id
    session.expire_all()
    rows = session.execute(
        select(Finding.reference, Finding.text, Action.id)
        .join(Action, Action.finding_id == Finding.id)
        .order_by(Finding.position)
    ).all()
    assert len(rows) == 1200
    for number, (reference, text, action_id) in enumerate(rows):
        assert reference == f"KENT-2019-EFF-AFI-{number + 1:02d}"
        assert f"(finding {number})" in text
        assert text.endswith("and report on it every quarter.") == (number in edited)
        assert action_id == actions[reference]
    reimported = session.scalar(
        select(func.count()).select_from(ActionEvent).where(ActionEvent.kind == "reimported")
    )
    assert reimported == len(edited)
