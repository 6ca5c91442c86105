"""Owners: the people or teams accountable for actions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Action, Owner
from app.schemas.owners import OwnerCreate, OwnerUpdate


def list_owners(*, session: Session, team: str | None = None) -> Sequence[Owner]:
    query = select(Owner).order_by(Owner.name, Owner.id)
    if team:
        query = query.where(Owner.team == team)
    return session.scalars(query).all()


def owner_ids_matching(*, session: Session, id_or_name: int | str) -> Sequence[int]:
    """The owner with this id (an int), or every owner with exactly this name (a str)."""
    column = Owner.id if isinstance(id_or_name, int) else Owner.name
    return session.scalars(select(Owner.id).where(column == id_or_name)).all()


def get_owner(*, session: Session, owner_id: int) -> Owner:
    owner = session.get(Owner, owner_id)
    if owner is None:
        raise NotFound(f"No owner with id {owner_id}.")
    return owner


def create_owner(*, session: Session, data: OwnerCreate) -> Owner:
    now = clock.utcnow()
    owner = Owner(
        name=data.name,
        email=data.email,
        team=data.team,
        digest_opt_out=data.digest_opt_out,
        created_at=now,
        updated_at=now,
    )
    session.add(owner)
    session.flush()
    return owner


def update_owner(*, session: Session, owner_id: int, data: OwnerUpdate) -> Owner:
    owner = get_owner(session=session, owner_id=owner_id)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("An owner's name cannot be removed.", field="name")
    for field, value in changes.items():
        setattr(owner, field, value)
    if changes:
        owner.updated_at = clock.utcnow()
    session.flush()
    return owner


def delete_owner(*, session: Session, owner_id: int) -> None:
    owner = get_owner(session=session, owner_id=owner_id)
    if session.scalar(select(exists().where(Action.owner_id == owner_id))):
        raise Conflict(
            f"Owner {owner.name!r} still owns actions; reassign them before deleting the owner."
        )
    session.delete(owner)
    session.flush()
