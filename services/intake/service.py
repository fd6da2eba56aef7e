"""Intake as the rest of the system sees it."""

from __future__ import annotations

from services.intake.api import router
from services.intake.application import IntakeApplication
from shared.contracts import events as contracts
from shared.service import PublicMapping, Service

SERVICE = Service(
    name="intake",
    application=IntakeApplication,
    publishes=PublicMapping(
        "intake", "client_id", {"Client.Registered": contracts.ClientRegistered}
    ),
    routes=router,
)
