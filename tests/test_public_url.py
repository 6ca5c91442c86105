"""Location, Link and the calendar's links: from AFI_PUBLIC_URL, never from the Host header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from pydantic import ValidationError

from tests.conftest import make_token
from tests.helpers import assert_problem, first_action

EVIL = {"Host": "evil.example"}
PUBLIC = "https://afi.example.org/tracker"


@pytest.fixture
def public_url(monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], None]:
    from app.settings import get_settings

    def set_url(value: str | None) -> None:
        monkeypatch.setattr(get_settings(), "public_url", value)

    return set_url


def _created(client: TestClient, seed_text: str) -> Iterator[tuple[Any, str]]:
    """Every kind of thing a POST creates: its response, and the path of what it made."""
    report = client.post(
        "/api/v1/reports",
        content=seed_text.encode(),
        headers={"Content-Type": "text/plain", **EVIL},
    )
    yield report, f"/api/v1/reports/{report.json()['report']['id']}"
    owner = client.post("/api/v1/owners", json={"name": "Jane Doe"}, headers=EVIL)
    yield owner, f"/api/v1/owners/{owner.json()['id']}"
    action = first_action(client)
    extra = client.post(
        "/api/v1/actions", json={"finding_id": action["finding_id"], "title": "More"}, headers=EVIL
    )
    yield extra, f"/api/v1/actions/{extra.json()['id']}"
    note = client.post(
        f"/api/v1/actions/{action['id']}/evidence",
        json={"kind": "note", "text": "Done."},
        headers=EVIL,
    )
    yield note, f"/api/v1/evidence/{note.json()['id']}"
    token = client.post("/api/v1/tokens", json={"name": "ci", "role": "viewer"}, headers=EVIL)
    yield token, f"/api/v1/tokens/{token.json()['id']}"


def _next_link(response: Any) -> str:
    link: str = response.headers["link"]
    assert link.startswith("<") and link.endswith('>; rel="next"'), link
    return link[1 : -len('>; rel="next"')]


def test_without_a_public_url_locations_are_relative(
    client: TestClient, seed_text: str, data_dir: Any
) -> None:
    for response, path in _created(client, seed_text):
        assert response.status_code == 201, response.text
        assert response.headers["location"] == path
        assert client.get(path).status_code == 200


def test_with_a_public_url_locations_are_under_it(
    client: TestClient, seed_text: str, data_dir: Any, public_url: Callable[[str | None], None]
) -> None:
    public_url(PUBLIC)
    for response, path in _created(client, seed_text):
        assert response.status_code == 201, response.text
        assert response.headers["location"] == PUBLIC + path


def test_next_links_never_name_the_host_header(
    client: TestClient, seeded: int, public_url: Callable[[str | None], None]
) -> None:
    page = client.get("/api/v1/actions?limit=2&status=open", headers=EVIL)
    link = _next_link(page)
    assert link.startswith("/api/v1/actions?limit=2&status=open&cursor=")
    following = client.get(link)
    assert following.status_code == 200
    assert following.json()["items"][0]["id"] not in {i["id"] for i in page.json()["items"]}
    public_url(PUBLIC)
    link = _next_link(client.get("/api/v1/actions?limit=2", headers=EVIL))
    assert link.startswith(f"{PUBLIC}/api/v1/actions?limit=2&cursor=")


def test_relative_references_keep_the_root_path(client: TestClient, seeded: int) -> None:
    behind_proxy = TestClient(client.app, root_path="/afi", headers=client.headers)
    link = _next_link(behind_proxy.get("/afi/api/v1/actions?limit=2", headers=EVIL))
    assert link.startswith("/afi/api/v1/actions?limit=2&cursor=")
    created = behind_proxy.post("/afi/api/v1/owners", json={"name": "Ann"}, headers=EVIL)
    assert created.headers["location"] == f"/afi/api/v1/owners/{created.json()['id']}"


def test_no_answer_names_the_host_header(client: TestClient, seeded: int) -> None:
    """Nothing redirects to a URL built from Host either: paths are exact."""
    for path in ("/api/v1/owners/", "/api/v1/actions/", "/health/"):
        response = client.get(path, headers=EVIL)
        assert_problem(response, 404)
        assert "location" not in response.headers
        assert "evil.example" not in response.text


def test_calendar_links_only_under_a_public_url(
    anonymous: TestClient, seeded: int, client: TestClient, public_url: Callable[[str | None], None]
) -> None:
    action = first_action(client)
    client.patch(f"/api/v1/actions/{action['id']}", json={"due_date": "2027-01-10"})
    feed_url = f"/api/v1/calendar.ics?token={make_token('viewer')}"
    feed = anonymous.get(feed_url, headers=EVIL)
    assert feed.status_code == 200 and b"evil.example" not in feed.content
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    assert "url" not in event
    public_url(PUBLIC)
    (event,) = Calendar.from_ical(anonymous.get(feed_url, headers=EVIL).content).walk("VEVENT")
    assert str(event["url"]) == f"{PUBLIC}/api/v1/actions/{action['id']}"
    assert str(event["description"]).endswith(f"\n{PUBLIC}/api/v1/actions/{action['id']}")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("https://afi.example.org", "https://afi.example.org"),
        ("https://afi.example.org/", "https://afi.example.org"),
        ("http://10.0.0.5:8000/afi/", "http://10.0.0.5:8000/afi"),
        ("", None),
    ],
)
def test_the_public_url_setting_is_an_absolute_base(
    value: str, stored: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import Settings

    assert Settings(public_url=value).public_url == stored
    monkeypatch.setenv("AFI_PUBLIC_URL", value)
    assert Settings(_env_file=None).public_url == stored  # type: ignore[call-arg]
    monkeypatch.delenv("AFI_PUBLIC_URL")
    assert Settings(_env_file=None).public_url is None  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "value",
    [
        "afi.example.org",
        "/tracker",
        "ftp://afi.example.org",
        "https://",
        "https://afi.example.org/?x=1",
        "https://afi.example.org/#top",
        "https://user:secret@afi.example.org",
        "https://afi.example.org:99999",
        "https://afi.example.org/a b",
        "https://afi.example.org/\r\nSet-Cookie: x=1",
    ],
)
def test_the_public_url_setting_refuses_anything_else(value: str) -> None:
    from app.settings import Settings

    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=value)


def test_api_answers_are_not_cached_behind_a_root_path(client: TestClient) -> None:
    # The security headers judge the path as the routes see it, not with the root path before it.
    mounted = TestClient(client.app, root_path="/afi", headers=dict(client.headers))
    response = mounted.get("/afi/api/v1/owners")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
