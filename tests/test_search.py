"""Full-text search (`q`): its syntax, the same answers on SQLite and PostgreSQL (each run checks
the database it runs on against one reading of the text in Python), the index following every
write, sorting by relevance, and hostile input."""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, delete, select, text, update
from sqlalchemy.orm import Session

from app import migrate
from app.db import SessionLocal, make_engine
from app.models import Action, Finding, Report, Section
from app.principal import system
from app.schemas.filters import ActionFilters, ActionSort
from app.services import action_filters, action_pages, action_reads
from app.services import dump as dump_service
from app.services.reports import import_text
from app.services.search import InvalidSearch, Phrase, parse
from app.services.search_index import TABLE_NAME
from tests.conftest import SEED, fresh_database
from tests.helpers import assert_problem
from tests.query_data import KENT, Dataset, fetch_all

# --- syntax ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("safeguarding vetting", [Phrase(("safeguarding",)), Phrase(("vetting",))]),
        ("safeguard*", [Phrase(("safeguard",), prefix=True)]),
        ('"vet all new"', [Phrase(("vet", "all", "new"))]),
        ('"vet all"*', [Phrase(("vet", "all"), prefix=True)]),
        ('"vet all*"', [Phrase(("vet", "all"), prefix=True)]),
        ("CUM-PEEL15-EFF-AFI3", [Phrase(("CUM", "PEEL15", "EFF", "AFI3"))]),
        ("force's", [Phrase(("force", "s"))]),
        ('"unclosed phrase', [Phrase(("unclosed", "phrase"))]),
        ('a"b c"d', [Phrase(("a",)), Phrase(("b", "c")), Phrase(("d",))]),
        ("*** ict", [Phrase(("ict",))]),
        ("NEAR(a b)", [Phrase(("NEAR", "a")), Phrase(("b",))]),
        ("title:ict ^x", [Phrase(("title", "ict")), Phrase(("x",))]),
        ("a OR b", [Phrase(("a",)), Phrase(("OR",)), Phrase(("b",))]),
        ("café Ünïcödé", [Phrase(("café",)), Phrase(("Ünïcödé",))]),
    ],
)
def test_search_text_reads_into_phrases(text: str, phrases: list[Phrase]) -> None:
    assert list(parse(text).phrases) == phrases


@pytest.mark.parametrize("text", ["***", "-", "*", '""', '"', "  ", "(-) ^:", "\u2019\u2014"])
def test_a_search_without_a_word_is_refused(text: str) -> None:
    with pytest.raises(InvalidSearch):
        parse(text)


def test_every_word_reaches_the_databases_quoted() -> None:
    query = parse('CUM-PEEL15 safeguard* "vet all"* NEAR(x) a:b')
    assert query.fts5() == '"CUM PEEL15" "safeguard"* "vet all"* "NEAR x" "a b"'
    assert query.tsquery() == (
        "('CUM' <-> 'PEEL15') & ('safeguard':*) & ('vet' <-> 'all':*) & ('NEAR' <-> 'x') "
        "& ('a' <-> 'b')"
    )


# --- the same answers on both databases ----------------------------------------------------------


def _documents(session: Session) -> dict[int, list[str]]:
    """Each action's words, read in Python: runs of letters and digits, case-folded."""
    rows = session.execute(
        select(Action.id, Action.reference, Action.title, Action.description, Finding.text)
        .add_columns(Section.heading)
        .join(Finding, Action.finding_id == Finding.id)
        .outerjoin(Section, Finding.section_id == Section.id)
    ).all()
    return {
        row[0]: re.findall(r"[^\W_]+", " ".join(part or "" for part in row[1:]).lower())
        for row in rows
    }


def _has(words: list[str], phrase: Phrase) -> bool:
    wanted = [word.lower() for word in phrase.words]
    size = len(wanted)
    for start in range(len(words) - size + 1):
        here = words[start : start + size]
        last_ok = here[-1].startswith(wanted[-1]) if phrase.prefix else here[-1] == wanted[-1]
        if here[:-1] == wanted[:-1] and last_ok:
            return True
    return False


def _expected(session: Session, q: str) -> list[int]:
    phrases = parse(q).phrases
    documents = _documents(session)
    return sorted(i for i, words in documents.items() if all(_has(words, p) for p in phrases))


def _found(client: TestClient, q: str, extra: str = "") -> list[int]:
    items = fetch_all(client, "/api/v1/actions?" + _query(q=q, limit="7") + extra)
    return [item["id"] for item in items]


def _query(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


QUERIES = [
    "force",
    "FORCE",
    "vet",
    "vet*",
    "leader*",
    "plans",
    "plan*",
    '"vet all new"',
    '"all new"*',
    "should develop",
    '"the force should"',
    "ICT",
    "100%_of",
    "workforce planning",
    "CUMBRIA-2015-EFF-AFI-01",
    "cumbria-2015-eff-afi*",
    "cumbria-2015-eff-afi-0*",
    "effective* neighbourhood",
    "\u2018what works\u2019",
    "what-works",
    "leaders OR estate",
    "zzzz",
    "NEAR(force",
    "title:force",
]


@pytest.mark.parametrize("q", QUERIES)
def test_each_search_finds_exactly_the_actions_with_its_words(
    client: TestClient, dataset: Dataset, session: Session, q: str
) -> None:
    expected = _expected(session, q)
    assert _found(client, q) == expected
    body = client.get("/api/v1/actions?" + _query(q=q, count="true", limit="1")).json()
    assert body["total"] == len(expected)
    stats = client.get("/api/v1/stats?" + _query(q=q)).json()
    assert stats["totals"]["total"] == len(expected)
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get("/api/v1/actions?" + _query(q=q, format="csv")).text))
    )
    assert [int(row["id"]) for row in csv_rows] == expected


def test_the_searches_tell_actions_apart(
    client: TestClient, dataset: Dataset, session: Session
) -> None:
    """The data makes the searches above differ: none is all or nothing by accident."""
    total = len(_documents(session))
    sizes = {q: len(_expected(session, q)) for q in QUERIES}
    assert sizes["zzzz"] == 0 and sizes["leaders OR estate"] == 0
    assert 0 < sizes["plans"] < sizes["plan*"] < total
    assert sizes["CUMBRIA-2015-EFF-AFI-01"] == 1
    assert 1 < sizes["cumbria-2015-eff-afi*"] < total
    assert 1 < sizes["cumbria-2015-eff-afi-0*"] < sizes["cumbria-2015-eff-afi*"]
    assert sizes['"vet all new"'] == 1 and sizes["\u2018what works\u2019"] >= 1


def test_search_combines_with_other_filters(client: TestClient, dataset: Dataset) -> None:
    every = fetch_all(client, "/api/v1/actions?" + _query(q="force", limit="500"))
    durham = [i["id"] for i in every if i["force"] == "Durham"]
    assert 0 < len(durham) < len(every)
    assert _found(client, "force", "&force=durham") == durham


# --- the index follows every write -------------------------------------------------------------


def _index_ids(connection: Connection) -> list[int]:
    key = "rowid" if connection.dialect.name == "sqlite" else "action_id"
    return sorted(connection.scalars(text(f"SELECT {key} FROM {TABLE_NAME}")))


def _action_ids(connection: Connection) -> list[int]:
    return sorted(connection.scalars(select(Action.id)))


def test_created_and_edited_actions_are_found_by_their_new_words(
    client: TestClient, seeded: int, session: Session
) -> None:
    finding = session.scalars(select(Finding.id).order_by(Finding.id)).first()
    created = client.post(
        "/api/v1/actions",
        json={"finding_id": finding, "title": "Quokka census", "description": "Count them"},
    )
    assert created.status_code == 201, created.text
    action_id = created.json()["id"]
    assert _found(client, "quokka") == [action_id]

    edited = client.patch(f"/api/v1/actions/{action_id}", json={"title": "Wombat census"})
    assert edited.status_code == 200, edited.text
    assert _found(client, "quokka") == []
    assert _found(client, "wombat census") == [action_id]
    edited = client.patch(f"/api/v1/actions/{action_id}", json={"description": "Numbat too"})
    assert _found(client, "numbat") == [action_id]
    assert _found(client, "count them") == []


def _import(raw: str) -> int:
    with SessionLocal.begin() as session:
        return import_text(session=session, raw=raw, metadata={}, actor=system("tests")).report.id


def _kent_actions(session: Session, report_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Finding.text, Action.id)
        .join(Action, Action.finding_id == Finding.id)
        .where(Finding.report_id == report_id)
    ).all()
    return {finding_text: action_id for finding_text, action_id in rows}


def test_a_re_import_changes_what_the_finding_and_question_words_find(
    client: TestClient, session: Session
) -> None:
    kent = _import(KENT)
    actions = _kent_actions(session, kent)
    leaders = actions["The force should develop its leaders."]
    # A person's title and description: the re-import leaves them, only the finding changes.
    client.patch(
        f"/api/v1/actions/{leaders}", json={"title": "Mentoring", "description": "Mentors"}
    )
    assert _found(client, "mentoring") == [leaders]
    assert _found(client, '"develop its leaders"') == [leaders]

    edited = KENT.replace("How well is the force led?", "How well is the force governed?")
    edited = edited.replace("develop its leaders.", "develop its senior leaders.")
    _import(edited)
    assert _kent_actions(session, kent)["The force should develop its senior leaders."] == leaders
    assert _found(client, '"develop its senior leaders"') == [leaders]
    assert _found(client, '"develop its leaders"') == []
    assert _found(client, "governed") == sorted(actions.values())
    assert _found(client, "led") == []


def test_withdrawn_findings_keep_their_actions_found_once(
    client: TestClient, session: Session
) -> None:
    kent = _import(KENT)
    vet = _kent_actions(session, kent)["The force should vet all new leaders."]
    _import(KENT.replace("- The force should vet all new leaders.\n", ""))
    [item] = fetch_all(client, "/api/v1/actions?" + _query(q="vet"))
    assert item["id"] == vet and item["finding_withdrawn_at"] is not None
    _import(KENT)
    assert _found(client, "vet") == [vet]


def test_bulk_sql_updates_and_deletions_reach_the_index(
    client: TestClient, seeded: int, session: Session, db_connection: Connection
) -> None:
    first, second = session.scalars(select(Action.id).order_by(Action.id).limit(2)).all()
    session.execute(update(Action).where(Action.id == first).values(title="Axolotl"))
    section = session.scalars(
        select(Finding.section_id)
        .join(Action, Action.finding_id == Finding.id)
        .where(Action.id == second)
    ).one()
    session.execute(update(Section).where(Section.id == section).values(heading="Platypus?"))
    session.commit()
    assert _found(client, "axolotl") == [first]
    assert second in _found(client, "platypus")
    assert _found(client, "platypus") == _expected(session, "platypus")

    session.execute(delete(Action).where(Action.id == first))
    session.commit()
    assert _found(client, "axolotl") == []
    assert _index_ids(db_connection) == _action_ids(db_connection)


@pytest.fixture
def own_database(base_database_url: str) -> Iterator[tuple[str, Any]]:
    """A database of the kind under test, apart from the test's, with foreign keys enforced
    (the shared in-memory SQLite database of the tests has them off) and the seed loaded."""
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            import_text(session=session, raw=SEED.read_text(), metadata={}, actor=system("t"))
        try:
            yield url, engine
        finally:
            engine.dispose()


def _search(connection: Connection, q: str) -> list[int]:
    page = action_reads.list_page(db=connection, filters=ActionFilters(q=q), limit=500)
    return [item["id"] for item in page["items"]]


def test_deleting_a_report_takes_its_actions_out_of_the_index(
    own_database: tuple[str, Any],
) -> None:
    _url, engine = own_database
    with engine.begin() as connection:
        assert _search(connection, "cumbria")
        assert _index_ids(connection) == _action_ids(connection) != []
        connection.execute(delete(Report))
        assert _action_ids(connection) == []
        assert _index_ids(connection) == []
        assert _search(connection, "cumbria") == []


def test_a_restored_database_is_searchable(
    own_database: tuple[str, Any], base_database_url: str, tmp_path: Path
) -> None:
    _url, engine = own_database
    path = tmp_path / "dump.jsonl"
    with engine.connect() as connection:
        expected = _search(connection, "neighbourhood*")
        dump_service.dump(connection=connection, path=path)
    assert expected
    with fresh_database(base_database_url) as url:
        migrate.upgrade(url)
        other = make_engine(url)
        try:
            with other.begin() as connection:
                dump_service.restore(connection=connection, path=path)
            with other.connect() as connection:
                assert _search(connection, "neighbourhood*") == expected
                assert _index_ids(connection) == _action_ids(connection)
        finally:
            other.dispose()


# --- relevance ---------------------------------------------------------------------------------


def _relevance_data(client: TestClient, session: Session) -> tuple[int, int]:
    finding = session.scalars(select(Finding.id).order_by(Finding.id)).first()
    strong = client.post(
        "/api/v1/actions",
        json={"finding_id": finding, "title": "Zebra zebra zebra", "description": "Zebra."},
    ).json()["id"]
    weak = client.post(
        "/api/v1/actions",
        json={
            "finding_id": finding,
            "title": "Crossings",
            "description": "A long note about roads, lights, kerbs, signs and one zebra "
            "crossing among many other kinds of crossing, with their costs and their uses.",
        },
    ).json()["id"]
    return strong, weak


def test_relevance_puts_the_best_matches_first(
    client: TestClient, seeded: int, session: Session
) -> None:
    strong, weak = _relevance_data(client, session)
    best = client.get("/api/v1/actions?q=zebra&sort=relevance").json()["items"]
    assert [i["id"] for i in best] == [strong, weak]
    worst = client.get("/api/v1/actions?q=zebra&sort=-relevance").json()["items"]
    assert [i["id"] for i in worst] == [weak, strong]


@pytest.mark.parametrize("sort", [ActionSort.RELEVANCE, ActionSort.RELEVANCE_DESC])
@pytest.mark.parametrize("q", ["force", "force should", "the*", '"the force"'])
def test_relevance_pages_through_every_match_once_in_order(
    client: TestClient, dataset: Dataset, session: Session, sort: ActionSort, q: str
) -> None:
    whole = client.get("/api/v1/actions?" + _query(q=q, sort=sort.value, limit="500")).json()
    paged = fetch_all(client, "/api/v1/actions?" + _query(q=q, sort=sort.value, limit="3"))
    ids = [i["id"] for i in paged]
    assert ids == [i["id"] for i in whole["items"]]
    assert sorted(ids) == _expected(session, q)
    assert len(ids) > 6


def test_a_relevance_cursor_carries_the_rank_as_a_number(
    client: TestClient, dataset: Dataset
) -> None:
    cursor = client.get("/api/v1/actions?q=force&sort=relevance&limit=2").json()["next_cursor"]
    payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert type(payload["k"]) is float


@pytest.mark.parametrize("key", ["1", None, True, "NaN", [1.0]])
def test_a_relevance_cursor_with_a_bad_rank_is_refused(
    client: TestClient, dataset: Dataset, key: Any
) -> None:
    cursor = client.get("/api/v1/actions?q=force&sort=relevance&limit=2").json()["next_cursor"]
    payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    forged = base64.urlsafe_b64encode(orjson.dumps({**payload, "k": key})).decode().rstrip("=")
    response = client.get("/api/v1/actions?q=force&sort=relevance&limit=2&cursor=" + forged)
    assert assert_problem(response, 422)["errors"][0]["field"] == "cursor"


def test_relevance_without_a_search_is_refused_by_the_service(db_connection: Connection) -> None:
    with pytest.raises(action_pages.RelevanceWithoutSearch):
        action_reads.list_page(db=db_connection, filters=ActionFilters(), sort=ActionSort.RELEVANCE)


# --- hostile input -----------------------------------------------------------------------------

HOSTILE = [
    "NEAR(",
    "NEAR(a b, 2)",
    "col:",
    "title:force",
    "^force",
    '"unbalanced',
    'force"',
    "*",
    "**force",
    "force**",
    "AND",
    "force AND",
    "OR force",
    "NOT",
    "-force",
    "'",
    "\\",
    "force'",
    ":*",
    "force:*",
    "!force & |",
    "<-> force",
    "(",
    "{force should}",
    "+",
    "x" * 200,
    " ".join(["a"] * 100),
    "a* " * 66,
    "\u0000",
    "force\u0000",
    "\U0001f46e police",
    "\u00b2",
    "e\u0301t\u00e9",
    "\u202eforce",
    "%",
]


@pytest.mark.parametrize("q", HOSTILE)
@pytest.mark.parametrize(
    "route",
    [
        "/api/v1/actions?count=true",
        "/api/v1/actions?sort=relevance",
        "/api/v1/actions?sort=-due_date",
        "/api/v1/actions?format=csv",
        "/api/v1/stats?group_by=owner",
    ],
)
def test_hostile_searches_are_answered_or_refused_naming_q(
    client: TestClient, dataset: Dataset, q: str, route: str
) -> None:
    response = client.get(f"{route}&{_query(q=q)}")
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert {e["field"] for e in assert_problem(response, 422)["errors"]} == {"q"}


def test_a_search_without_a_word_is_a_422_naming_q_before_any_csv(client: TestClient) -> None:
    response = client.get("/api/v1/actions?format=csv&q=***")
    body = assert_problem(response, 422)
    assert body["errors"][0]["field"] == "q"
    assert "word" in body["errors"][0]["message"]


# --- the index, not a scan ---------------------------------------------------------------------


def test_the_page_and_count_statements_read_the_index(db_connection: Connection) -> None:
    """SQLite: the statements start from the FTS5 table and scan no table. PostgreSQL chooses
    by table statistics, which vary with what the suite left behind: a page sorted by id or due
    date may walk its sort order and probe the search for each row when it expects many
    matches (at scale, measured in bench/README, it takes the GIN index for a rare word). Where
    the search alone decides (the count of a search, the relevance page), with sequential and
    plain index scans priced out, the GIN index must serve it."""
    sqlite = db_connection.dialect.name == "sqlite"
    filters = ActionFilters(q="force", unassigned=False)
    shape, params = action_filters.filter_values(filters=filters, as_of=date(2030, 1, 1))
    relevance = action_pages.page_statement(shape, ActionSort.RELEVANCE, after=False)
    search_alone = action_reads._count_statement(("q",))
    if sqlite:
        statements = [
            action_pages.page_statement(shape, sort, after=False)
            for sort in (ActionSort.ID, ActionSort.DUE_DATE)
        ]
        statements += [relevance, action_reads._count_statement(shape), search_alone]
    else:
        db_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        db_connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
        # The search alone: beside another indexed condition, with tables this small, either
        # index may lead.
        only_q = action_pages.page_statement(("q",), ActionSort.RELEVANCE, after=False)
        statements = [only_q, search_alone]
    for statement in statements:
        plan = _plan(db_connection, statement, {**params, "limit": 51})
        if sqlite:
            assert "SCAN action_search VIRTUAL TABLE INDEX" in plan, plan
            assert not re.search(r"\bSCAN (action|finding|report)\b", plan), plan
        else:
            assert "Bitmap Index Scan on ix_action_search_document" in plan, plan


def _plan(connection: Connection, statement: Any, params: dict[str, Any]) -> str:
    compiled = statement.compile(dialect=connection.dialect)
    values = compiled.construct_params(params)
    if connection.dialect.name == "sqlite":
        positional = tuple(values[name] for name in compiled.positiontup or ())
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), positional)
        return "\n".join(row[-1] for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), values)
    return "\n".join(row[0] for row in rows)


def test_migrations_index_the_rows_already_there(base_database_url: str) -> None:
    """0007 indexes what 0006 held; downgrading removes the index and its triggers."""
    with fresh_database(base_database_url) as url:
        # Rows written by today's code (at the latest revision), then taken back to 0006.
        migrate.upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session, session.begin():
            import_text(session=session, raw=SEED.read_text(), metadata={}, actor=system("t"))
        engine.dispose()
        migrate.downgrade(url, "0006")
        migrate.upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            assert _index_ids(connection) == _action_ids(connection) != []
            assert len(_search(connection, "neighbourhood*")) > 0
        engine.dispose()
        migrate.downgrade(url, "0006")
        plain = create_engine(url)
        with plain.begin() as connection:
            connection.execute(update(Action).values(title="After the downgrade"))
            connection.execute(delete(Action))
        plain.dispose()
