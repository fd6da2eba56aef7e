"""The parts of the system: the four services, in the order a client's path runs through
them, and the read side."""

from __future__ import annotations

from services.assessment.service import SERVICE as ASSESSMENT
from services.intake.service import SERVICE as INTAKE
from services.notifications.service import SERVICE as NOTIFICATIONS
from services.plans.service import SERVICE as PLANS
from services.readside.service import SERVICE as READ_SIDE_MODEL
from shared.service import ReadModel, Service

SERVICES: dict[str, Service] = {s.name: s for s in (INTAKE, ASSESSMENT, PLANS, NOTIFICATIONS)}
READ_SIDE: ReadModel = READ_SIDE_MODEL
