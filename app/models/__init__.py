"""ORM models. API schemas live in `app.schemas`."""

from app.models.action import Action, Owner
from app.models.base import Base
from app.models.event import ActionEvent
from app.models.report import Finding, Report, Section

__all__ = ["Action", "ActionEvent", "Base", "Finding", "Owner", "Report", "Section"]
