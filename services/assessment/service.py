"""Assessment as the rest of the system sees it."""

from __future__ import annotations

from services.assessment.api import router
from services.assessment.application import AssessmentApplication
from shared.contracts import events as contracts
from shared.service import PublicMapping, Service

SERVICE = Service(
    name="assessment",
    application=AssessmentApplication,
    publishes=PublicMapping(
        "assessment",
        "assessment_id",
        {
            "InitialAssessment.Due": contracts.AssessmentDue,
            "InitialAssessment.Started": contracts.AssessmentStarted,
            "InitialAssessment.Completed": contracts.AssessmentCompleted,
            "InitialAssessment.PlanNeedDecided": contracts.PlanNeedDecided,
        },
    ),
    policies={"ClientRegistered": AssessmentApplication.on_client_registered},
    routes=router,
)
