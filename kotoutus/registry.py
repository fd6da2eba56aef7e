"""The four services, in the order a client's path runs through them."""

from __future__ import annotations

from services.assessment.service import SERVICE as ASSESSMENT
from services.intake.service import SERVICE as INTAKE
from services.notifications.service import SERVICE as NOTIFICATIONS
from services.plans.service import SERVICE as PLANS
from shared.service import Service

SERVICES: dict[str, Service] = {s.name: s for s in (INTAKE, ASSESSMENT, PLANS, NOTIFICATIONS)}
