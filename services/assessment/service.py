"""Assessment as the rest of the system sees it."""

from __future__ import annotations

from services.assessment import retention
from services.assessment.api import router
from services.assessment.application import AssessmentApplication
from services.assessment.overdue import overdue_watch
from shared import restriction_record
from shared.contracts import events as contracts
from shared.messaging.consumers import Handlers
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
            "InitialAssessment.Waived": contracts.AssessmentWaived,
            "InitialAssessment.Overdue": contracts.AssessmentOverdue,
            "InitialAssessment.FindingsRecorded": contracts.AssessmentFindingsRecorded,
            "InitialAssessment.ReferralMade": contracts.ReferralMade,
            "InitialAssessment.ReferralOutcomeRecorded": contracts.ReferralOutcomeRecorded,
            "InitialAssessment.Completed": contracts.AssessmentCompleted,
            "InitialAssessment.PlanNeedDecided": contracts.PlanNeedDecided,
            "InitialAssessment.Documented": contracts.AssessmentDocumented,
            # Retention (services/assessment/retention.py).
            "FindingsRetention.Expired": contracts.AssessmentFindingsExpired,
        },
    ),
    policies=Handlers[AssessmentApplication]()
    .on(contracts.EligibilityDetermined, AssessmentApplication.on_eligibility_determined)
    .on(contracts.ResponsibilityTransferred, AssessmentApplication.on_responsibility_transferred)
    .on(contracts.ClientErased, AssessmentApplication.on_client_erased)
    # Retention: the notes' clock (services/assessment/retention.py).
    .on(contracts.ClientClosed, retention.on_client_closed)
    .on(contracts.ClientsMerged, retention.on_clients_merged)
    .on(contracts.LegalHoldPlaced, retention.on_legal_hold_placed)
    .on(contracts.LegalHoldLifted, retention.on_legal_hold_lifted)
    # Restriction of processing (GDPR Art. 18): the case's reads refuse while it holds.
    .on(contracts.ProcessingRestricted, restriction_record.on_processing_restricted)
    .on(contracts.RestrictionLifted, restriction_record.on_restriction_lifted),
    routes=router,
    background=(overdue_watch, retention.findings_retention_watch),
)
