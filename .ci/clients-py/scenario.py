"""One scenario through the Python client generated from the live OpenAPI document
(openapi-python-client), as a frontend would use it: no cast, no hand-written type, the
generated code as it was made. Run by .ci/clients, which generates the package
`afi_tracker_client` and starts the service.

    python scenario.py BASE_URL TOKEN
"""

from __future__ import annotations

import io
import sys

from afi_tracker_client import AuthenticatedClient
from afi_tracker_client.api.actions import (
    export_actions_csv,
    get_action,
    get_action_history,
    get_action_stats,
    list_actions,
    transition_action,
    update_action,
)
from afi_tracker_client.api.evidence import add_evidence, add_evidence_file, get_evidence_content
from afi_tracker_client.api.health import get_health, get_readiness
from afi_tracker_client.api.reports import import_report
from afi_tracker_client.models import (
    ActionOut,
    ActionPage,
    ActionStatus,
    ActionUpdate,
    ConflictProblem,
    DryRunResult,
    EventKind,
    EventPage,
    EvidenceFileUpload,
    FileEvidence,
    HealthOut,
    HistorySort,
    NoteEvidence,
    NoteIn,
    PreconditionFailedProblem,
    Priority,
    ReadinessOut,
    StatsGroupBy,
    StatsOut,
    TransitionIn,
)
from afi_tracker_client.types import File

REPORT = "Essex PEEL 2019\nIs it good?\nAreas for improvement\n- The force should act.\n"


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"python client: {what}")
    print(f"python client: {what}")


def main(base_url: str, token: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    # Up and ready, each answer a model of its own.
    health = get_health.sync(client=client)
    ready = get_readiness.sync(client=client)
    assert isinstance(health, HealthOut) and isinstance(ready, ReadinessOut), (health, ready)
    check(health.status == "ok" and ready.status == "ready", "health and readiness")

    # The list, filtered, and its second page by cursor.
    first = list_actions.sync_detailed(
        client=client, status=[ActionStatus.OPEN], priority=[Priority.MEDIUM], limit=2
    )
    page = first.parsed
    assert isinstance(page, ActionPage), first.content
    check(len(page.items) == 2 and isinstance(page.next_cursor, str), "a page of open actions")
    check(all(a.status is ActionStatus.OPEN for a in page.items), "filtered by status")
    check('rel="next"' in first.headers["link"], "Link to the next page")
    assert isinstance(page.next_cursor, str)
    second = list_actions.sync_detailed(
        client=client,
        status=[ActionStatus.OPEN],
        priority=[Priority.MEDIUM],
        limit=2,
        cursor=page.next_cursor,
    ).parsed
    assert isinstance(second, ActionPage)
    check(second.items[0].id > page.items[-1].id, "page 2 by cursor")

    # One action, and a change guarded by its ETag.
    action_id = page.items[0].id
    read = get_action.sync_detailed(action_id, client=client)
    assert isinstance(read.parsed, ActionOut)
    etag = read.headers["etag"]
    changed = update_action.sync_detailed(
        action_id, client=client, body=ActionUpdate(priority=Priority.HIGH), if_match=etag
    )
    assert isinstance(changed.parsed, ActionOut), changed.content
    check(changed.parsed.priority is Priority.HIGH, "PATCH with If-Match")
    stale = update_action.sync_detailed(
        action_id, client=client, body=ActionUpdate(priority=Priority.LOW), if_match=etag
    )
    problem = stale.parsed
    assert isinstance(problem, PreconditionFailedProblem), stale.content
    check(problem.current_etag == changed.headers["etag"], "412 read as a typed problem")

    # A step the workflow does not allow: 409 naming the allowed ones.
    refused = transition_action.sync_detailed(
        action_id, client=client, body=TransitionIn(to=ActionStatus.COMPLETED)
    ).parsed
    assert isinstance(refused, ConflictProblem), refused
    check(
        refused.current_status is ActionStatus.OPEN
        and ActionStatus.IN_PROGRESS in (refused.allowed or []),
        "refused transition (409 with allowed)",
    )

    # A note and a file as evidence, and the file back.
    note = add_evidence.sync_detailed(
        action_id, client=client, body=NoteIn(kind="note", text="Reviewed at the board.")
    ).parsed
    check(isinstance(note, NoteEvidence), "a note as evidence")
    content = b"Minutes of the board, 3 March.\n"
    upload = File(payload=io.BytesIO(content), file_name="minutes.txt", mime_type="text/plain")
    added = add_evidence_file.sync_detailed(
        action_id, client=client, body=EvidenceFileUpload(file=upload, description="Minutes")
    ).parsed
    assert isinstance(added, FileEvidence), added
    check(added.size_bytes == len(content), "a file as evidence")
    downloaded = get_evidence_content.sync_detailed(added.id, client=client).parsed
    assert isinstance(downloaded, File)
    check(downloaded.payload.read() == content, "the file downloaded")

    # History, newest first.
    history = get_action_history.sync_detailed(
        action_id, client=client, sort=HistorySort.ID_DESC, limit=10
    ).parsed
    assert isinstance(history, EventPage)
    kinds = [event.kind for event in history.items]
    check(kinds[:2] == [EventKind.EVIDENCE_ADDED] * 2, "history, newest first")

    # Stats, and the CSV export.
    stats = get_action_stats.sync_detailed(client=client, group_by=StatsGroupBy.PRIORITY).parsed
    assert isinstance(stats, StatsOut)
    check(stats.totals.total >= len(page.items), "stats by priority")
    csv = export_actions_csv.sync_detailed(client=client, status=[ActionStatus.OPEN]).parsed
    assert isinstance(csv, str)
    rows = csv.splitlines()
    check(rows[0].startswith("id,reference,") and len(rows) > len(page.items), "CSV export")

    # Report text as text/plain, parsed only.
    parsed = import_report.sync_detailed(
        client=client, body=File(payload=io.BytesIO(REPORT.encode())), dry_run=True
    ).parsed
    assert isinstance(parsed, DryRunResult), parsed
    check(parsed.force == "Essex", "report text, dry run")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
