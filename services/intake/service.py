"""Intake as the rest of the system sees it."""

from __future__ import annotations

from services.intake.api import routes
from services.intake.application import IntakeApplication
from services.intake.retention import retention_watch
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
            # The data subject's rights (GDPR Art. 15, Art. 18).
            "Client.ProcessingRestricted": contracts.ProcessingRestricted,
            "Client.RestrictionLifted": contracts.RestrictionLifted,
            "Client.SubjectAccessRequested": contracts.SubjectAccessRequested,
            "Client.SubjectAccessDelivered": contracts.SubjectAccessDelivered,
            # Retention (shared/retention): holds and what ran out.
            "Client.LegalHoldPlaced": contracts.LegalHoldPlaced,
            "Client.LegalHoldLifted": contracts.LegalHoldLifted,
            "Client.RecordsExpired": contracts.RecordsExpired,
        },
        flatten=("facts",),
    ),
    routes=routes,
    receives=IntakeApplication.receive_many,
    background=(retention_watch,),  # the identity's retention clock
)
