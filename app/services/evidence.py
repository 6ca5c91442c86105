"""Evidence on actions: notes, links and files. Adding or removing one writes a history event in
the same transaction; the action row itself is never changed. Callers own commit/rollback."""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.enums import ActionStatus, EventKind
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Action, Evidence
from app.principal import Principal
from app.schemas.evidence import MAX_DESCRIPTION_CHARS, EvidenceKind, LinkIn, NoteIn
from app.services import history, lookups, storage

logger = logging.getLogger("afi.evidence")

MAX_FILE_NAME_CHARS = 200
DEFAULT_MEDIA_TYPE = "application/octet-stream"
# Characters that no file name should carry: separators and what Windows refuses.
_UNSAFE_NAME_CHARS = frozenset('/\\<>:"|?*')
# Control, format (e.g. right-to-left override), surrogate and line/paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_RESTRICTED_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_PENDING = ActionStatus.PENDING_SIGN_OFF
# Statuses whose evidence is what sign-off was asked for, or given, on.
_EVIDENCE_KEPT = frozenset({_PENDING, ActionStatus.COMPLETED})
_MEDIA_TYPE = re.compile(rf"{_RESTRICTED_NAME}/{_RESTRICTED_NAME}")
_CHARSET = re.compile(r"[a-z0-9][a-z0-9!#$%&'+\-^_`{}~.]{0,39}")


@dataclass(frozen=True)
class StoredFile:
    """A file evidence item and where its bytes are."""

    evidence: Evidence
    path: Path


def sanitise_file_name(raw: str | None) -> str | None:
    """A display name safe to store and to send back: the last path component only, without
    control or format characters, separators or Windows-reserved characters, length-capped.
    None when nothing usable is left."""
    if raw is None:
        return None
    name = unicodedata.normalize("NFKC", raw)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if ch in _UNSAFE_NAME_CHARS else ch for ch in name)
    name = " ".join(name.split()).strip(" .")
    if not name:
        return None
    if len(name) > MAX_FILE_NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and 0 < len(suffix) <= 16:
            name = f"{stem[: MAX_FILE_NAME_CHARS - len(suffix) - 1].rstrip(' .')}.{suffix}"
        else:
            name = name[:MAX_FILE_NAME_CHARS].rstrip(" .")
    return name


def normalise_media_type(raw: str | None, *, file_name: str | None) -> str:
    """`type/subtype` (plus a charset if one was given) when well-formed; otherwise guessed from
    the file name, or application/octet-stream."""
    value = (raw or "").strip().lower()
    essence, _, params = value.partition(";")
    essence = essence.strip()
    if _MEDIA_TYPE.fullmatch(essence) and essence != DEFAULT_MEDIA_TYPE:
        for param in params.split(";"):
            key, _, param_value = param.partition("=")
            charset = param_value.strip().strip('"')
            if key.strip() == "charset" and _CHARSET.fullmatch(charset):
                return f"{essence}; charset={charset}"
        return essence
    guessed = mimetypes.guess_type(file_name, strict=False)[0] if file_name else None
    if guessed and _MEDIA_TYPE.fullmatch(guessed.lower()):
        return guessed.lower()
    return DEFAULT_MEDIA_TYPE


def add_note(*, session: Session, action_id: int, note: NoteIn, actor: Principal) -> Evidence:
    action = lookups.get_action(session=session, action_id=action_id, for_update=True)
    evidence = _new(action=action, kind=EvidenceKind.NOTE, actor=actor, description=note.text)
    return _added(session=session, action=action, evidence=evidence, actor=actor)


def add_link(*, session: Session, action_id: int, link: LinkIn, actor: Principal) -> Evidence:
    action = lookups.get_action(session=session, action_id=action_id, for_update=True)
    evidence = _new(
        action=action,
        kind=EvidenceKind.LINK,
        actor=actor,
        url=str(link.url),
        description=link.description,
    )
    return _added(session=session, action=action, evidence=evidence, actor=actor)


def add(
    *, session: Session, action_id: int, payload: NoteIn | LinkIn, actor: Principal
) -> Evidence:
    """A note or a link, as validated from a JSON body."""
    if isinstance(payload, NoteIn):
        return add_note(session=session, action_id=action_id, note=payload, actor=actor)
    return add_link(session=session, action_id=action_id, link=payload, actor=actor)


def add_file(
    *,
    session: Session,
    action_id: int,
    blob: storage.StagedBlob,
    file_name: str | None,
    media_type: str | None,
    description: str | None,
    actor: Principal,
) -> Evidence:
    """A file already streamed to `blob` (see `storage.BlobWriter`): moved into the store (kept
    once if identical content is already there) and recorded. The caller discards `blob` if
    this raises; that is a no-op once it is stored."""
    action = lookups.get_action(session=session, action_id=action_id, for_update=True)
    if blob.size_bytes == 0:
        raise InvalidInput("The uploaded file is empty.", field="file", error_type="empty")
    description = (description or "").strip() or None
    if description is not None and len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidInput(
            f"The description should have at most {MAX_DESCRIPTION_CHARS} characters.",
            field="description",
            error_type="string_too_long",
        )
    name = sanitise_file_name(file_name)
    storage.store(blob)
    evidence = _new(
        action=action,
        kind=EvidenceKind.FILE,
        actor=actor,
        description=description,
        file_sha256=blob.sha256,
        file_name=name,
        media_type=normalise_media_type(media_type, file_name=name),
        size_bytes=blob.size_bytes,
    )
    return _added(session=session, action=action, evidence=evidence, actor=actor)


def list_for_action(
    *, session: Session, action_id: int, include_deleted: bool = False
) -> Sequence[Evidence]:
    lookups.get_action(session=session, action_id=action_id)
    query = select(Evidence).where(Evidence.action_id == action_id)
    if not include_deleted:
        query = query.where(Evidence.deleted_at.is_(None))
    return session.scalars(query.order_by(Evidence.id)).all()


def count_active(*, session: Session, action_id: int) -> int:
    """How many evidence items of the action are not deleted."""
    count = session.scalar(
        select(func.count(Evidence.id)).where(
            Evidence.action_id == action_id, Evidence.deleted_at.is_(None)
        )
    )
    return int(count or 0)


def get_evidence(*, session: Session, evidence_id: int) -> Evidence:
    """One evidence item, deleted or not (a deleted one shows `deleted_at`)."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"No evidence with id {evidence_id}.")
    return evidence


def get_file(*, session: Session, evidence_id: int) -> StoredFile:
    """A file's stored bytes. Notes, links and deleted items have none (NotFound)."""
    evidence = get_evidence(session=session, evidence_id=evidence_id)
    if evidence.kind != EvidenceKind.FILE:
        raise NotFound(f"Evidence {evidence_id} is a {evidence.kind}; it has no file content.")
    if evidence.deleted_at is not None:
        raise NotFound(f"Evidence {evidence_id} has been removed.")
    sha = evidence.file_sha256
    if not storage.is_sha256(sha):
        logger.error("evidence %s has an invalid file digest %r", evidence_id, sha)
        raise NotFound(f"The content of evidence {evidence_id} is not available.")
    assert sha is not None
    path = storage.existing_blob(sha)
    if path is None:
        logger.error("evidence %s: blob %s is missing from the store", evidence_id, sha)
        raise NotFound(f"The content of evidence {evidence_id} is not available.")
    return StoredFile(evidence=evidence, path=path)


def remove(*, session: Session, evidence_id: int, actor: Principal) -> Evidence:
    """Soft delete: the row stays, marked with who removed it and when.

    Conflict while the action waits for sign-off (the approver judges that evidence) and once
    it is completed (its evidence is then the record of why), and when the item was already
    removed.
    """
    found = get_evidence(session=session, evidence_id=evidence_id)
    # Lock the action first (as adding does), then re-read the item under that lock, so that
    # concurrent removals and status changes see each other.
    action = lookups.get_action(session=session, action_id=found.action_id, for_update=True)
    evidence = session.get(Evidence, evidence_id, with_for_update=True, populate_existing=True)
    if evidence is None:
        raise NotFound(f"No evidence with id {evidence_id}.")
    if evidence.deleted_at is not None:
        raise Conflict(
            f"Evidence {evidence_id} was already removed by {evidence.deleted_by}.",
            evidence_id=evidence_id,
        )
    if action.status in _EVIDENCE_KEPT:
        state = "waiting for sign-off" if action.status == _PENDING else "completed"
        raise Conflict(
            f"Action {action.reference} is {state}; its evidence can no longer be removed.",
            evidence_id=evidence_id,
            action_status=action.status,
        )
    evidence.deleted_at = clock.utcnow()
    evidence.deleted_by = actor.label
    history.record(
        session=session,
        action=action,
        kind=EventKind.EVIDENCE_REMOVED,
        actor=actor,
        changes=_summary(evidence),
    )
    session.flush()
    return evidence


def _new(*, action: Action, kind: EvidenceKind, actor: Principal, **fields: Any) -> Evidence:
    return Evidence(
        action_id=action.id,
        kind=kind.value,
        created_at=clock.utcnow(),
        created_by=actor.label,
        **fields,
    )


def _added(*, session: Session, action: Action, evidence: Evidence, actor: Principal) -> Evidence:
    session.add(evidence)
    session.flush()  # assigns the id the event refers to
    history.record(
        session=session,
        action=action,
        kind=EventKind.EVIDENCE_ADDED,
        actor=actor,
        changes=_summary(evidence),
    )
    session.flush()
    return evidence


def _summary(evidence: Evidence) -> dict[str, Any]:
    changes: dict[str, Any] = {"evidence_id": evidence.id, "kind": evidence.kind}
    if evidence.kind == EvidenceKind.LINK:
        changes["url"] = evidence.url
    elif evidence.kind == EvidenceKind.FILE:
        changes.update(
            file_name=evidence.file_name,
            sha256=evidence.file_sha256,
            size_bytes=evidence.size_bytes,
        )
    return changes
