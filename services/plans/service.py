"""Plans as the rest of the system sees it."""

from __future__ import annotations

from services.plans.api import router
from services.plans.application import PlansApplication
from services.plans.deadlines import plan_deadline_watch
from shared import restriction_record
from shared.contracts import events as contracts
from shared.messaging.consumers import Handlers
from shared.retention import holds
from shared.service import PublicMapping, Service

SERVICE = Service(
    name="plans",
    application=PlansApplication,
    publishes=PublicMapping(
        "plans",
        "plan_id",
        {
            "IntegrationPlan.PreparationDue": contracts.PlanPreparationDue,
            "IntegrationPlan.Drafted": contracts.PlanDrafted,
            "IntegrationPlan.Agreed": contracts.PlanAgreed,
            "IntegrationPlan.EnrolmentDue": contracts.EnrolmentDue,
            "IntegrationPlan.ReviewDue": contracts.ReviewDue,
            "IntegrationPlan.Enrolled": contracts.PlanEnrolled,
            "IntegrationPlan.Reviewed": contracts.PlanReviewed,
            "IntegrationPlan.Extended": contracts.PlanExtended,
            "IntegrationPlan.Ended": contracts.PlanEnded,
            "IntegrationPlan.EnrolmentOverdue": contracts.EnrolmentOverdue,
            "IntegrationPlan.ReviewOverdue": contracts.ReviewOverdue,
            "IntegrationPlan.Documented": contracts.PlanDocumented,
            "IntegrationPlan.ReviewDocumented": contracts.ReviewDocumented,
        },
    ),
    policies=Handlers[PlansApplication]()
    .on(contracts.PlanNeedDecided, PlansApplication.on_plan_need_decided)
    .on(contracts.ClientRegistered, PlansApplication.on_client_registered)
    .on(contracts.ClientFactsChanged, PlansApplication.on_client_facts_changed)
    .on(contracts.ResponsibilityTransferred, PlansApplication.on_responsibility_transferred)
    # Restriction of processing (GDPR Art. 18): the case's reads refuse while it holds.
    .on(contracts.ProcessingRestricted, restriction_record.on_processing_restricted)
    .on(contracts.RestrictionLifted, restriction_record.on_restriction_lifted)
    # Retention: legal holds stop the plan's clock (services/plans/retention.py).
    .on(contracts.LegalHoldPlaced, holds.on_legal_hold_placed)
    .on(contracts.LegalHoldLifted, holds.on_legal_hold_lifted),
    routes=router,
    # No retention timer runs here: plan contents end in archiving, which the report
    # (`kotoutus retention report`, services/plans/retention.py) names and nothing deletes.
    background=(plan_deadline_watch,),
)
