"""Evidence: notes, links and files on actions; the file store; soft delete; history."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.helpers import as_actor

PROBLEM = "application/problem+json"


def evidence_url(action_id: int) -> str:
    return f"/api/v1/actions/{action_id}/evidence"


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def upload(
    client: Any,
    action_id: int,
    content: bytes,
    *,
    name: str = "report.pdf",
    media_type: str = "application/pdf",
    description: str | None = None,
    actor: str | None = None,
) -> Any:
    data = {"description": description} if description is not None else None
    return client.post(
        evidence_url(action_id),
        files={"file": (name, content, media_type)},
        data=data,
        headers=as_actor(actor) if actor else None,
    )


def raw_multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"b0undary") -> bytes:
    """A multipart body built by hand (headers, content), so file names reach the server
    byte for byte, without the client escaping them."""
    body = b""
    for headers, content in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    return body + b"--" + boundary + b"--\r\n"


def post_raw(client: Any, action_id: int, body: bytes, boundary: bytes = b"b0undary") -> Any:
    return client.post(
        evidence_url(action_id),
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    )


def events(session: Any, action_id: int, kind: str) -> list[Any]:
    from app.models import ActionEvent

    session.expire_all()
    return list(
        session.scalars(
            select(ActionEvent)
            .where(ActionEvent.action_id == action_id, ActionEvent.kind == kind)
            .order_by(ActionEvent.id)
        )
    )


# --- notes and links -------------------------------------------------------------------------


def test_note_is_added_with_location(client: Any, action_id: int) -> None:
    response = client.post(
        evidence_url(action_id),
        json={"kind": "note", "text": "  Training delivered to all supervisors.  "},
        headers=as_actor("jane"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "note"
    assert body["text"] == "Training delivered to all supervisors."
    assert body["action_id"] == action_id
    assert body["created_by"] == "jane"
    assert body["deleted_at"] is None
    assert body["url"] is None and body["sha256"] is None
    assert response.headers["location"].endswith(f"/api/v1/evidence/{body['id']}")

    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_link_is_added(client: Any, action_id: int) -> None:
    response = client.post(
        evidence_url(action_id),
        json={
            "kind": "link",
            "url": "https://intranet.example.org/policies/stop-and-search?v=2",
            "description": " New policy ",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "link"
    assert body["url"] == "https://intranet.example.org/policies/stop-and-search?v=2"
    assert body["description"] == "New policy"
    assert body["text"] is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example.org/report.pdf",
        "file:///etc/passwd",
        "not a url",
        "https://",
        "https://user:secret@example.org/",
        "https://example.org/" + "a" * 2100,
    ],
)
def test_bad_link_is_refused(client: Any, action_id: int, url: str) -> None:
    response = client.post(evidence_url(action_id), json={"kind": "link", "url": url})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert any(error["field"].endswith("url") for error in problem["errors"])
    assert client.get(evidence_url(action_id)).json()["items"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "note", "text": ""}, "text"),
        ({"kind": "note", "text": "   \n "}, "text"),
        ({"kind": "note"}, "text"),
        ({"kind": "video", "text": "x"}, "kind"),
        ({"text": "no kind"}, "kind"),
        ({"kind": "file", "text": "x"}, "kind"),
        ({"kind": "note", "text": "x", "extra": 1}, "extra"),
        ({"kind": "link"}, "url"),
        ([{"kind": "note", "text": "x"}], "body"),
    ],
)
def test_invalid_json_evidence_is_refused(
    client: Any, action_id: int, payload: Any, field: str
) -> None:
    response = client.post(evidence_url(action_id), json=payload)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert any(error["field"].endswith(field) for error in response.json()["errors"])
    assert client.get(evidence_url(action_id)).json()["items"] == []


def test_malformed_json_and_unsupported_media_type(client: Any, action_id: int) -> None:
    malformed = client.post(
        evidence_url(action_id),
        content=b'{"kind": "note", "text": ',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == PROBLEM
    assert malformed.json()["title"] == "Malformed JSON"

    plain = client.post(
        evidence_url(action_id), content=b"a note", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415
    assert plain.headers["content-type"] == PROBLEM


def test_unknown_ids_are_404(client: Any, action_id: int, data_dir: Path) -> None:
    missing = 10_000_000
    for response in (
        client.post(evidence_url(missing), json={"kind": "note", "text": "x"}),
        client.get(evidence_url(missing)),
        client.get(f"/api/v1/evidence/{missing}"),
        client.get(f"/api/v1/evidence/{missing}/content"),
        client.delete(f"/api/v1/evidence/{missing}"),
        upload(client, missing, b"orphan bytes"),
    ):
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == PROBLEM
    # The upload to an unknown action left nothing behind: no blob, no temporary file.
    assert stored_files(data_dir) == []


# --- files -----------------------------------------------------------------------------------


def test_file_upload_and_download_round_trip(client: Any, action_id: int, data_dir: Path) -> None:
    content = b"%PDF-1.7\n" + bytes(range(256)) * 50
    sha = hashlib.sha256(content).hexdigest()
    name = "Rapport d'été (final).pdf"
    response = upload(client, action_id, content, name=name, description="Signed minutes")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "file"
    assert body["file_name"] == name
    assert body["media_type"] == "application/pdf"
    assert body["size_bytes"] == len(content)
    assert body["sha256"] == sha
    assert body["description"] == "Signed minutes"
    assert body["created_by"] == "test-admin"
    assert response.headers["location"].endswith(f"/api/v1/evidence/{body['id']}")

    blob = data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    assert blob.read_bytes() == content
    assert stored_files(data_dir) == [blob]  # the temporary file is gone

    download = client.get(f"/api/v1/evidence/{body['id']}/content")
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Rapport d_ete (final).pdf"' in disposition
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition


def test_text_file_keeps_its_recorded_media_type(client: Any, action_id: int) -> None:
    response = upload(
        client, action_id, b"<script>alert(1)</script>", name="x.html", media_type="text/html"
    )
    assert response.status_code == 201
    download = client.get(f"/api/v1/evidence/{response.json()['id']}/content")
    assert download.headers["content-type"] == "text/html"  # no charset added on the way out
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"


def test_identical_content_is_stored_once(client: Any, action_id: int, data_dir: Path) -> None:
    content = b"the same minutes, uploaded twice"
    first = upload(client, action_id, content, name="minutes.txt", media_type="text/plain")
    second = upload(client, action_id, content, name="copy.txt", media_type="text/plain")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["sha256"] == second.json()["sha256"]
    assert len(stored_files(data_dir / "blobs")) == 1
    assert len(client.get(evidence_url(action_id)).json()["items"]) == 2
    for response in (first, second):
        download = client.get(f"/api/v1/evidence/{response.json()['id']}/content")
        assert download.content == content

    other = upload(client, action_id, content + b"!", name="minutes.txt")
    assert other.status_code == 201
    assert len(stored_files(data_dir / "blobs")) == 2
    assert stored_files(data_dir / "tmp") == []


def test_oversize_upload_is_413(
    client: Any, action_id: int, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.settings import get_settings

    # The client's body-size middleware was built with the default limit: this is the
    # store's own count, made while streaming.
    monkeypatch.setattr(get_settings(), "max_upload_bytes", 64)
    too_big = upload(client, action_id, b"x" * 65)
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers["content-type"] == PROBLEM
    assert too_big.json()["status"] == 413
    assert stored_files(data_dir) == []  # no blob, no temporary file left
    assert client.get(evidence_url(action_id)).json()["items"] == []

    at_limit = upload(client, action_id, b"x" * 64)
    assert at_limit.status_code == 201, at_limit.text
    assert at_limit.json()["size_bytes"] == 64


def asgi_post_in_chunks(client: Any, path: str, body: bytes, chunk_size: int) -> tuple[int, int]:
    """POST `body` to the ASGI app in chunks of `chunk_size`, as a server would pass it on.
    Returns the status and how many chunks the app pulled before answering."""
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    pulled = 0
    status = 0
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=b0undary"),
            (b"authorization", client.headers["authorization"].encode()),
        ],
    }

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": True}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    asyncio.run(client.app(scope, receive, send))
    return status, pulled


def test_a_large_upload_arriving_in_chunks_is_stored_whole(
    client: Any, action_id: int, data_dir: Path
) -> None:
    content = b"0123456789abcdef" * 65536 * 3  # 3 MiB: more than Starlette keeps in memory
    body = raw_multipart(
        [(b'Content-Disposition: form-data; name="file"; filename="big.bin"', content)]
    )
    status, pulled = asgi_post_in_chunks(client, evidence_url(action_id), body, 16384)
    assert status == 201
    assert pulled == -(-len(body) // 16384)
    sha = hashlib.sha256(content).hexdigest()
    assert (data_dir / "blobs" / sha[:2] / sha[2:4] / sha).read_bytes() == content
    assert not list((data_dir / "tmp").iterdir())  # nothing left behind


def test_oversize_upload_is_refused_before_it_is_read_whole(
    action_id: int, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from app.settings import get_settings
    from tests.conftest import make_app, make_token

    monkeypatch.setattr(get_settings(), "max_upload_bytes", 100_000)
    limited = TestClient(make_app(), headers={"Authorization": f"Bearer {make_token('editor')}"})
    body = raw_multipart(
        [(b'Content-Disposition: form-data; name="file"; filename="big.bin"', b"z" * 1_000_000)]
    )
    status, pulled = asgi_post_in_chunks(limited, evidence_url(action_id), body, 10_000)
    assert status == 413
    assert pulled <= 12  # stopped reading soon after the limit, not at the end of the body
    assert stored_files(data_dir) == []


def test_multipart_problems(client: Any, action_id: int, data_dir: Path) -> None:
    no_file = client.post(
        evidence_url(action_id),
        data={"description": "where is it"},
        files={"other": ("a.txt", b"a")},
    )
    assert no_file.status_code == 422
    assert no_file.headers["content-type"] == PROBLEM

    only_description = post_raw(
        client,
        action_id,
        raw_multipart([(b'Content-Disposition: form-data; name="description"', b"hello")]),
    )
    assert only_description.status_code == 422
    assert only_description.json()["errors"][0]["field"] == "file"

    empty = upload(client, action_id, b"")
    assert empty.status_code == 422

    long_description = upload(client, action_id, b"abc", description="d" * 2001)
    assert long_description.status_code == 422

    truncated = post_raw(
        client,
        action_id,
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
    )
    # The file part never ends, so there is no file: the same answer as a missing one.
    assert truncated.status_code == 422
    assert truncated.headers["content-type"] == PROBLEM

    two_files = post_raw(
        client,
        action_id,
        raw_multipart(
            [
                (b'Content-Disposition: form-data; name="file"; filename="a"', b"a"),
                (b'Content-Disposition: form-data; name="file"; filename="b"', b"b"),
            ]
        ),
    )
    assert two_files.status_code == 400
    assert two_files.headers["content-type"] == PROBLEM
    assert "files" in two_files.json()["detail"]

    assert client.get(evidence_url(action_id)).json()["items"] == []
    assert stored_files(data_dir) == []


@pytest.mark.parametrize(
    ("raw_name", "expected"),
    [
        (b"../../etc/passwd", "passwd"),
        (b"..\\\\..\\\\windows\\\\x.txt", "x.txt"),  # quoted-string escapes: ..\..\windows\x.txt
        (b"/etc/shadow", "shadow"),
        (b"C:\\\\Windows\\\\evil.dll", "evil.dll"),
        (b"a\x00b.txt", "ab.txt"),
        (b"..", None),
        (b"../", None),
        (b"\x1b[31mred\x7f.txt", "[31mred.txt"),
        ("invoice\u202egpj.exe".encode(), "invoicegpj.exe"),
        ("..\uff0f..\uff0fsecret".encode(), "secret"),  # fullwidth solidus
        (b"x<>:|?*.txt", "x______.txt"),
        (b"n" * 300 + b".pdf", "n" * 196 + ".pdf"),
    ],
)
def test_traversal_names_are_sanitised(
    client: Any,
    action_id: int,
    data_dir: Path,
    tmp_path: Path,
    raw_name: bytes,
    expected: str | None,
) -> None:
    before = set(tmp_path.rglob("*"))
    content = b"payload for " + raw_name
    body = raw_multipart(
        [
            (
                b'Content-Disposition: form-data; name="file"; filename="' + raw_name + b'"\r\n'
                b"Content-Type: text/plain",
                content,
            )
        ]
    )
    response = post_raw(client, action_id, body)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["file_name"] == expected
    if expected is not None:
        assert not {"/", "\\", "\x00"} & set(expected)

    sha = hashlib.sha256(content).hexdigest()
    blob = data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    created = {path for path in set(tmp_path.rglob("*")) - before if path.is_file()}
    assert created == {blob}  # the only file written anywhere is the blob, inside the store
    assert blob.read_bytes() == content

    download = client.get(f"/api/v1/evidence/{stored['id']}/content")
    assert download.status_code == 200
    assert download.content == content
    disposition = download.headers["content-disposition"]
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert not {"/", "\\", "\x00", '"'} & set(fallback)
    if expected is None:
        assert f'filename="evidence-{stored["id"]}"' in disposition


@pytest.mark.parametrize(
    "digest",
    [
        "../../../../etc/passwd",
        "A" * 64,
        "a" * 63,
        "a" * 64 + "/../x",
        "0" * 62 + "/x",
        "",
    ],
)
def test_store_builds_paths_only_from_a_sha256(data_dir: Path, digest: str) -> None:
    from app.services import storage

    with pytest.raises(storage.StorageError):
        storage.blob_path(digest)


def test_store_refuses_a_symlink_out_of_the_blobs_root(data_dir: Path, tmp_path: Path) -> None:
    from app.services import storage

    outside = tmp_path / "outside"
    outside.mkdir()
    (data_dir / "blobs").mkdir(parents=True)
    (data_dir / "blobs" / "ab").symlink_to(outside, target_is_directory=True)
    with pytest.raises(storage.StorageError):
        storage.blob_path("ab" + "0" * 62)
    assert storage.blob_path("cd" + "0" * 62).is_relative_to(data_dir / "blobs")


def test_tampered_digest_in_the_database_is_never_read(
    client: Any, action_id: int, session: Any, data_dir: Path
) -> None:
    from app.models import Evidence

    created = upload(client, action_id, b"real content")
    assert created.status_code == 201
    row = session.get(Evidence, created.json()["id"])
    row.file_sha256 = "../../../../../../etc/passwd"
    session.commit()
    response = client.get(f"/api/v1/evidence/{row.id}/content")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert b"root:" not in response.content


def test_note_and_link_have_no_content(client: Any, action_id: int) -> None:
    note = client.post(evidence_url(action_id), json={"kind": "note", "text": "done"})
    link = client.post(evidence_url(action_id), json={"kind": "link", "url": "https://a.example"})
    for created in (note, link):
        response = client.get(f"/api/v1/evidence/{created.json()['id']}/content")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


# --- soft delete -----------------------------------------------------------------------------


def test_soft_delete_hides_from_list(client: Any, action_id: int, session: Any) -> None:
    from app.services.evidence import count_active

    keep = client.post(evidence_url(action_id), json={"kind": "note", "text": "keep"}).json()
    drop = upload(client, action_id, b"to be removed").json()
    assert count_active(session=session, action_id=action_id) == 2

    response = client.delete(f"/api/v1/evidence/{drop['id']}", headers=as_actor("remover"))
    assert response.status_code == 204
    assert response.content == b""

    listed = client.get(evidence_url(action_id)).json()["items"]
    assert [item["id"] for item in listed] == [keep["id"]]
    everything = client.get(evidence_url(action_id), params={"include_deleted": "true"})
    items = {item["id"]: item for item in everything.json()["items"]}
    assert set(items) == {keep["id"], drop["id"]}
    assert items[drop["id"]]["deleted_by"] == "remover"
    assert items[drop["id"]]["deleted_at"] is not None
    assert items[keep["id"]]["deleted_at"] is None

    # The item itself stays readable, marked as removed; its content is no longer served.
    assert client.get(f"/api/v1/evidence/{drop['id']}").json()["deleted_by"] == "remover"
    assert client.get(f"/api/v1/evidence/{drop['id']}/content").status_code == 404
    session.expire_all()
    assert count_active(session=session, action_id=action_id) == 1

    # Deleting twice is a 409 Conflict (the item exists, already removed), not a 404.
    again = client.delete(f"/api/v1/evidence/{drop['id']}")
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM


def test_delete_refused_once_action_is_completed(client: Any, action_id: int, session: Any) -> None:
    from app.models import Action, Evidence

    created = client.post(evidence_url(action_id), json={"kind": "note", "text": "signed off"})
    evidence_id = created.json()["id"]
    action = session.get(Action, action_id)
    action.status = "completed"
    session.commit()

    response = client.delete(f"/api/v1/evidence/{evidence_id}")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    session.expire_all()
    assert session.get(Evidence, evidence_id).deleted_at is None
    assert events(session, action_id, "evidence_removed") == []


def test_count_active(client: Any, action_id: int, session: Any) -> None:
    from app.services.evidence import count_active

    assert count_active(session=session, action_id=action_id) == 0
    ids = [
        client.post(evidence_url(action_id), json={"kind": "note", "text": f"n{i}"}).json()["id"]
        for i in range(3)
    ]
    session.expire_all()
    assert count_active(session=session, action_id=action_id) == 3
    assert client.delete(f"/api/v1/evidence/{ids[0]}").status_code == 204
    session.expire_all()
    assert count_active(session=session, action_id=action_id) == 2
    assert count_active(session=session, action_id=10_000_000) == 0


# --- history ---------------------------------------------------------------------------------


def test_history_events_are_written(client: Any, action_id: int, session: Any) -> None:
    from app.models import Action

    before = session.get(Action, action_id)
    version, updated_at = before.version, before.updated_at

    note = client.post(
        evidence_url(action_id), json={"kind": "note", "text": "n"}, headers=as_actor("ann")
    ).json()
    link = client.post(
        evidence_url(action_id),
        json={"kind": "link", "url": "https://example.org/x"},
        headers=as_actor("bob"),
    ).json()
    file = upload(client, action_id, b"file bytes", name="f.txt", actor="cat").json()
    assert (
        client.delete(f"/api/v1/evidence/{link['id']}", headers=as_actor("dan")).status_code == 204
    )

    added = events(session, action_id, "evidence_added")
    assert [
        (event.actor, event.changes["evidence_id"], event.changes["kind"]) for event in added
    ] == [
        ("ann", note["id"], "note"),
        ("bob", link["id"], "link"),
        ("cat", file["id"], "file"),
    ]
    assert added[1].changes["url"] == "https://example.org/x"
    assert added[2].changes["sha256"] == file["sha256"]
    assert added[2].changes["file_name"] == "f.txt"

    removed = events(session, action_id, "evidence_removed")
    assert len(removed) == 1
    assert removed[0].actor == "dan"
    assert removed[0].changes["evidence_id"] == link["id"]
    assert removed[0].changes["kind"] == "link"

    # The action row itself is untouched.
    after = session.get(Action, action_id)
    assert (after.version, after.updated_at) == (version, updated_at)


def test_refused_evidence_writes_no_history(client: Any, action_id: int, session: Any) -> None:
    client.post(evidence_url(action_id), json={"kind": "note", "text": ""})
    client.post(evidence_url(action_id), json={"kind": "link", "url": "javascript:x"})
    assert events(session, action_id, "evidence_added") == []


def test_openapi_documents_the_routes(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    # One kind of body per operation: notes and links as JSON, files as multipart.
    post = paths["/api/v1/actions/{action_id}/evidence"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json"}
    files = paths["/api/v1/actions/{action_id}/evidence/files"]["post"]
    assert set(files["requestBody"]["content"]) == {"multipart/form-data"}
    assert "delete" in paths["/api/v1/evidence/{evidence_id}"]
    assert "get" in paths["/api/v1/evidence/{evidence_id}/content"]
