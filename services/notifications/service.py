"""Notifications as the rest of the system sees it."""

from __future__ import annotations

from services.notifications.api import router
from services.notifications.application import NotificationsApplication
from shared.contracts import events as contracts
from shared.service import PublicMapping, Service

SERVICE = Service(
    name="notifications",
    application=NotificationsApplication,
    publishes=PublicMapping(
        "notifications",
        None,
        {
            "ClientReminders.ReminderScheduled": contracts.ReminderScheduled,
            "ClientReminders.ReminderCancelled": contracts.ReminderCancelled,
        },
    ),
    policies={
        "AssessmentDue": NotificationsApplication.on_assessment_due,
        "AssessmentStarted": NotificationsApplication.on_assessment_step_done,
        "AssessmentCompleted": NotificationsApplication.on_assessment_step_done,
        "AssessmentWaived": NotificationsApplication.on_assessment_step_done,
        "PlanPreparationDue": NotificationsApplication.on_plan_preparation_due,
        "PlanDrafted": NotificationsApplication.on_plan_prepared,
        "PlanAgreed": NotificationsApplication.on_plan_prepared,
        "EnrolmentDue": NotificationsApplication.on_plan_deadline,
        "ReviewDue": NotificationsApplication.on_plan_deadline,
        "PlanEnrolled": NotificationsApplication.on_plan_step_done,
        "PlanReviewed": NotificationsApplication.on_plan_step_done,
    },
    routes=router,
)
