"""Synthetic data for the benchmark: report texts in the seed's format, loaded into a fresh
database through the real import path, then given varied statuses, priorities, owners, due
dates and update times. Reproducible: the same seed gives the same data.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

FORCES = (
    "Avon and Somerset", "Bedfordshire", "Cambridgeshire", "Cheshire", "Cleveland", "Cumbria",
    "Derbyshire", "Devon and Cornwall", "Dorset", "Durham", "Dyfed-Powys", "Essex",
    "Gloucestershire", "Greater Manchester", "Gwent", "Hampshire", "Hertfordshire", "Humberside",
    "Kent", "Lancashire", "Leicestershire", "Lincolnshire", "Merseyside", "Norfolk",
    "North Wales", "North Yorkshire", "Northamptonshire", "Northumbria", "Nottinghamshire",
    "South Wales", "South Yorkshire", "Staffordshire", "Suffolk", "Surrey", "Sussex",
    "Thames Valley", "Warwickshire", "West Mercia", "West Midlands", "West Yorkshire",
    "Wiltshire",
)  # fmt: skip
PILLARS = ("Effectiveness", "Efficiency", "Legitimacy", "Leadership")
TOPICS = (
    "keeping people safe and reducing crime", "investigating crime and managing offenders",
    "protecting vulnerable people", "tackling serious and organised crime",
    "planning for future demand", "treating people fairly", "developing its workforce",
    "using its resources", "engaging with local communities", "preventing anti-social behaviour",
)  # fmt: skip
VERBS = ("improve", "review", "strengthen", "evaluate", "develop", "publish", "monitor")
NOUNS = (
    "supervision of investigations", "use of digital evidence", "workforce planning",
    "victim updates", "crime recording", "safeguarding referrals", "partnership working",
    "training records", "demand analysis", "vetting arrangements", "use of stop and search",
)  # fmt: skip
BLOCKS = ("Areas for improvement", "Areas for improvement", "Causes of concern", "Recommendations")
STATUS_WEIGHTS = {
    "open": 30,
    "in_progress": 25,
    "blocked": 5,
    "pending_sign_off": 8,
    "completed": 25,
    "superseded": 3,
    "withdrawn": 4,
}
PRIORITIES = ("low", "medium", "high", "critical")


def report_text(rng: random.Random, force: str, year: int, pillar: str, findings: int) -> str:
    """A report in the seed's format: header, pillar, questions, blocks of `- ` items."""
    lines = [f"{force} PEEL {year}", pillar]
    number = 0
    while number < findings:
        topic = rng.choice(TOPICS)
        lines.append(f"How effective is the force at {topic} ({number + 1})?")
        lines.append(
            f"The force has made progress with {rng.choice(NOUNS)}, but more remains to be done "
            f"in {force}. Inspectors found {rng.randint(2, 40)} cases that needed attention."
        )
        lines.append(rng.choice(BLOCKS))
        for _ in range(min(rng.randint(2, 6), findings - number)):
            number += 1
            lines.append(
                f"- The force should {rng.choice(VERBS)} its {rng.choice(NOUNS)} "
                f"(finding {number} of {force} {year} {pillar.lower()}) so that it can show "
                f"{rng.choice(TOPICS)} is improving."
            )
    return "\n".join(lines) + "\n"


def fill_database(url: str, actions: int, *, seed: int = 7) -> None:
    from sqlalchemy import bindparam, func, select, update

    from app import clock, migrate
    from app.db import SessionLocal
    from app.models import Action, Owner
    from app.principal import system
    from app.services.reports import import_text

    migrate.upgrade(url)
    rng = random.Random(seed)  # noqa: S311  (reproducible data, not secrets)
    identities = [(f, y, p) for f in FORCES for y in range(2014, 2030) for p in PILLARS]
    rng.shuffle(identities)
    made = 0
    started = time.perf_counter()
    for force, year, pillar in identities:
        if made >= actions:
            break
        count = min(rng.randint(15, 35), actions - made)
        with SessionLocal.begin() as session:
            import_text(
                session=session,
                raw=report_text(rng, force, year, pillar, count),
                metadata={},
                actor=system("bench"),
            )
        made += count
    with SessionLocal.begin() as session:
        now = clock.utcnow()
        owners = [
            Owner(
                name=f"Owner {i:02d}",
                email=f"owner{i}@example.org",
                team=f"Team {i % 5}",
                created_at=now,
                updated_at=now,
            )
            for i in range(25)
        ]
        session.add_all(owners)
        session.flush()
        owner_ids = [owner.id for owner in owners]
        ids = session.scalars(select(Action.id)).all()
        today = clock.today()
        statuses = list(STATUS_WEIGHTS)
        weights = list(STATUS_WEIGHTS.values())
        changes = []
        for action_id in ids:
            priority = rng.choice(PRIORITIES)
            changes.append(
                {
                    "b_id": action_id,
                    "b_status": rng.choices(statuses, weights)[0],
                    "b_priority": priority,
                    "b_rank": PRIORITIES.index(priority),
                    "b_due": None
                    if rng.random() < 0.15
                    else today + timedelta(days=rng.randint(-400, 300)),
                    "b_owner": None if rng.random() < 0.2 else rng.choice(owner_ids),
                    "b_updated": now - timedelta(minutes=rng.randint(0, 500_000)),
                }
            )
        table = Action.__table__
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=bindparam("b_status"),
                priority=bindparam("b_priority"),
                priority_rank=bindparam("b_rank"),
                due_date=bindparam("b_due"),
                owner_id=bindparam("b_owner"),
                updated_at=bindparam("b_updated"),
            ),
            changes,
        )
        total = session.scalar(select(func.count(Action.id)))
    print(f"filled {total} actions in {time.perf_counter() - started:.1f}s", flush=True)
