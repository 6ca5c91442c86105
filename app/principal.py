"""Who does something: the authenticated token, or the command line acting for the operator."""

from __future__ import annotations

from dataclasses import dataclass

from app.enums import Role


@dataclass(frozen=True)
class Principal:
    token_id: int | None
    name: str
    role: Role | None
    owner_id: int | None = None
    owner_name: str | None = None

    @property
    def label(self) -> str:
        """How history shows this principal: the token's name, and the owner it acts for."""
        return f"{self.name} (for {self.owner_name})" if self.owner_name else self.name

    def same_person_as(self, token_id: int | None, owner_id: int | None) -> bool:
        if self.token_id is not None and self.token_id == token_id:
            return True
        return self.owner_id is not None and self.owner_id == owner_id


ANONYMOUS = Principal(token_id=None, name="anonymous", role=None)


def system(name: str) -> Principal:
    """The operator at the command line, who can already reach the database directly."""
    return Principal(token_id=None, name=name, role=Role.ADMIN)
