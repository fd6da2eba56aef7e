"""Plans as the rest of the system sees it."""

from __future__ import annotations

from services.plans.api import router
from services.plans.application import PlansApplication
from shared.contracts import events as contracts
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
        },
    ),
    policies={"PlanNeedDecided": PlansApplication.on_plan_need_decided},
    routes=router,
)
