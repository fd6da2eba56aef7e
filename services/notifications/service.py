"""Notifications as the rest of the system sees it."""

from __future__ import annotations

from services.notifications.api import router
from services.notifications.application import NotificationsApplication
from services.notifications.dispatcher import dispatcher
from services.notifications.retention import letters_retention_watch
from shared.contracts import events as contracts
from shared.messaging.consumers import Handlers
from shared.retention import holds
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
            # The client's letters, by their stored name (see services.notifications.letters).
            "ClientOutbox.MessageSent": contracts.NotificationSent,
            "ClientOutbox.MessageFailed": contracts.NotificationFailed,
        },
    ),
    policies=Handlers[NotificationsApplication]()
    # Deadlines: the reminder book, and the staff reminders in the letters following it.
    .on(contracts.AssessmentDue, NotificationsApplication.on_assessment_due)
    .on(contracts.AssessmentStarted, NotificationsApplication.on_assessment_step_done)
    .on(contracts.AssessmentCompleted, NotificationsApplication.on_assessment_step_done)
    .on(contracts.AssessmentWaived, NotificationsApplication.on_assessment_step_done)
    .on(contracts.PlanPreparationDue, NotificationsApplication.on_plan_preparation_due)
    .on(contracts.PlanDrafted, NotificationsApplication.on_plan_prepared)
    .on(contracts.PlanAgreed, NotificationsApplication.on_plan_prepared)
    .on(contracts.EnrolmentDue, NotificationsApplication.on_enrolment_due)
    .on(contracts.ReviewDue, NotificationsApplication.on_review_due)
    .on(contracts.PlanEnrolled, NotificationsApplication.on_plan_enrolled)
    .on(contracts.PlanReviewed, NotificationsApplication.on_plan_reviewed)
    # Overdue: an alert to the supervisor.
    .on(contracts.AssessmentOverdue, NotificationsApplication.on_assessment_overdue)
    .on(contracts.EnrolmentOverdue, NotificationsApplication.on_enrolment_overdue)
    .on(contracts.ReviewOverdue, NotificationsApplication.on_review_overdue)
    # Partners, the caseworker, who answers for the client, erasure.
    .on(contracts.ReferralMade, NotificationsApplication.on_referral_made)
    .on(contracts.ResponsibilityAssigned, NotificationsApplication.on_responsibility_assigned)
    .on(contracts.ResponsibilityTransferred, NotificationsApplication.on_responsibility_transferred)
    .on(contracts.WorkerAssigned, NotificationsApplication.on_worker_assigned)
    .on(contracts.ClientErased, NotificationsApplication.on_client_erased)
    # Restriction of processing (GDPR Art. 18): letters held, then released.
    .on(contracts.ProcessingRestricted, NotificationsApplication.on_processing_restricted)
    .on(contracts.RestrictionLifted, NotificationsApplication.on_restriction_lifted)
    # The data subject's copy: a deadline of a month (GDPR Art. 12(3)).
    .on(contracts.SubjectAccessRequested, NotificationsApplication.on_subject_access_requested)
    .on(contracts.SubjectAccessDelivered, NotificationsApplication.on_subject_access_delivered)
    # Retention: legal holds stop the letters' clocks (services/notifications/retention.py).
    .on(contracts.LegalHoldPlaced, holds.on_legal_hold_placed)
    .on(contracts.LegalHoldLifted, holds.on_legal_hold_lifted),
    routes=router,
    background=(dispatcher, letters_retention_watch),
)
