"""ORM models. API schemas live in `app.schemas`."""

from app.models.action import Action, Owner
from app.models.base import Base
from app.models.day_figure import DayFigure
from app.models.day_group_figure import DayGroupFigure
from app.models.event import ActionEvent
from app.models.evidence import Evidence
from app.models.mail import MailDigest
from app.models.outbox import OutboxEvent
from app.models.report import Finding, Report, Section
from app.models.state import ActionState
from app.models.token import ApiToken
from app.models.webhook import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Action",
    "ActionEvent",
    "ActionState",
    "ApiToken",
    "Base",
    "DayFigure",
    "DayGroupFigure",
    "Evidence",
    "Finding",
    "MailDigest",
    "OutboxEvent",
    "Owner",
    "Report",
    "Section",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
