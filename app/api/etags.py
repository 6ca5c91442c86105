"""Entity tags of actions and the `If-Match` header that names them (RFC 9110 8.8.3, 13.1.1).

An action's ETag names its version counter, which every write changes. The services speak in
versions: a route turns `If-Match` into the versions it accepts, and the answers (and a 412's
`current_etag`) name the version by its tag.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

IfMatch = Annotated[str | None, Header(description="ETag from a previous read; 412 if stale")]

_TAG = re.compile(r'"([0-9]+)-([0-9]+)"')


def etag(*, action_id: int, version: int) -> str:
    """The entity tag of one version of an action."""
    return f'"{action_id}-{version}"'


def accepted_versions(*, if_match: str | None, action_id: int) -> frozenset[int] | None:
    """The versions of the action that `If-Match` accepts, or None for any (no header, `*`).

    RFC 9110 13.1.1: If-Match compares strongly, so a weak tag (W/"...") never matches; nor
    does a tag of another action or one not written as this service writes it.
    """
    if if_match is None:
        return None
    tags = {tag.strip() for tag in if_match.split(",")}
    if "*" in tags:
        return None
    versions = set()
    for tag in tags:
        found = _TAG.fullmatch(tag)
        if found and etag(action_id=action_id, version=int(found[2])) == tag:
            versions.add(int(found[2]))
    return frozenset(versions)
