"""Notifications as the rest of the system sees it."""

from __future__ import annotations

from fastapi import APIRouter

from services.notifications.api import router as reminder_routes
from services.notifications.application import NotificationsApplication
from services.notifications.dispatcher import dispatcher
from services.notifications.outbox_api import router as outbox_routes
from services.notifications.outbox_app import OutboxApplication, with_outbox
from shared.contracts import events as contracts
from shared.service import PublicMapping, Service

router = APIRouter()
router.include_router(reminder_routes)
router.include_router(outbox_routes)

SERVICE = Service(
    name="notifications",
    application=OutboxApplication,
    publishes=PublicMapping(
        "notifications",
        None,
        {
            "ClientReminders.ReminderScheduled": contracts.ReminderScheduled,
            "ClientReminders.ReminderCancelled": contracts.ReminderCancelled,
            "ClientOutbox.MessageSent": contracts.NotificationSent,
            "ClientOutbox.MessageFailed": contracts.NotificationFailed,
        },
    ),
    policies=with_outbox(
        {
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
        }
    ),
    routes=router,
    background=(dispatcher,),
)
