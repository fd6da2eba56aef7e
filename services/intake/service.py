"""Intake as the rest of the system sees it."""

from __future__ import annotations

from services.intake.api import routes
from services.intake.application import IntakeApplication
from shared.contracts import events as contracts
from shared.service import PublicMapping, Service

SERVICE = Service(
    name="intake",
    application=IntakeApplication,
    publishes=PublicMapping(
        "intake",
        "client_id",
        {
            "Client.Registered": contracts.ClientRegistered,
            "Client.EligibilityDetermined": contracts.EligibilityDetermined,
            "Client.ResponsibilityAssigned": contracts.ResponsibilityAssigned,
            "Client.ResponsibilityTransferred": contracts.ResponsibilityTransferred,
            "Client.FactsChanged": contracts.ClientFactsChanged,
            "Client.DetailsCorrected": contracts.ClientDetailsCorrected,
            "Client.WorkerAssigned": contracts.WorkerAssigned,
            "Client.Merged": contracts.ClientsMerged,
            "Client.Closed": contracts.ClientClosed,
            "Client.Erased": contracts.ClientErased,
        },
        flatten=("facts",),
    ),
    routes=routes,
    receives=IntakeApplication.receive_many,
)
