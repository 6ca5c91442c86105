"""Who does something: the authenticated token, or the command line acting for the operator."""

from __future__ import annotations

from dataclasses import dataclass

from app.enums import Role

LABEL_MAX_CHARS = 200  # action_event.actor, evidence.created_by and deleted_by


@dataclass(frozen=True)
class Principal:
    token_id: int | None
    name: str
    role: Role | None
    owner_id: int | None = None
    owner_name: str | None = None
    # The user (person) the token belongs to; None for the command line and anonymous callers.
    user: str | None = None

    @property
    def label(self) -> str:
        """How history shows this principal: the token's name, and the owner it acts for.
        At most LABEL_MAX_CHARS (the width of the actor columns): a long owner name is cut."""
        if not self.owner_name:
            return self.name[:LABEL_MAX_CHARS]
        label = f"{self.name} (for {self.owner_name})"
        if len(label) <= LABEL_MAX_CHARS:
            return label
        room = LABEL_MAX_CHARS - len(f"{self.name} (for …)")
        if room < 1:
            return label[:LABEL_MAX_CHARS]
        return f"{self.name} (for {self.owner_name[:room].rstrip()}…)"

    def same_person_as(
        self, *, user: str | None, token_id: int | None, owner_id: int | None
    ) -> bool:
        """Whether whoever acted as (user, token, owner) is this principal's person: the same
        user under any of their tokens, the same token, or a token acting for the same owner."""
        if self.user is not None and self.user == user:
            return True
        if self.token_id is not None and self.token_id == token_id:
            return True
        return self.owner_id is not None and self.owner_id == owner_id


ANONYMOUS = Principal(token_id=None, name="anonymous", role=None)


def system(name: str) -> Principal:
    """The operator at the command line, who can already reach the database directly."""
    return Principal(token_id=None, name=name, role=Role.ADMIN)
