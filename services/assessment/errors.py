"""What the initial assessment refuses, as the staff API names it (the interview's own, of
Government Decree 869/2024, is ``interview.InterviewIncompleteError``)."""

from __future__ import annotations

from shared.errors import DomainError


class AssessmentAlreadyStartedError(DomainError):
    code = "assessment_already_started"
    texts = {
        "fi": "Alkukartoitus on jo aloitettu",
        "sv": "Den inledande kartläggningen har redan påbörjats",
        "en": "The initial assessment has already started",
    }


class AssessmentNotStartedError(DomainError):
    code = "assessment_not_started"
    texts = {
        "fi": "Alkukartoitusta ei ole aloitettu",
        "sv": "Den inledande kartläggningen har inte påbörjats",
        "en": "The initial assessment has not started",
    }


class AssessmentAlreadyCompletedError(DomainError):
    code = "assessment_already_completed"
    texts = {
        "fi": "Alkukartoitus on jo valmis",
        "sv": "Den inledande kartläggningen är redan klar",
        "en": "The initial assessment is already completed",
    }


class WaiverRefusedError(DomainError):
    code = "waiver_refused"
    texts = {
        "fi": "Laki ei salli jättää tätä arviointia tekemättä",
        "sv": "Lagen tillåter inte att denna bedömning lämnas ogjord",
        "en": "The law gives no ground for leaving this assessment unmade",
    }


class DateBeforeError(DomainError):
    code = "date_out_of_order"
    texts = {
        "fi": "Päivämäärä on aiempaa vaihetta aikaisempi",
        "sv": "Datumet är tidigare än föregående steg",
        "en": "The date is earlier than the previous step",
    }


class InterpreterNotAllowedError(DomainError):
    code = "interpreter_not_allowed"
    texts = {
        "fi": "Tulkkina on oltava ammattitulkki, ei perheenjäsen, lapsi tai ystävä",
        "sv": "Tolken ska vara en yrkestolk, inte en familjemedlem, ett barn eller en vän",
        "en": "The interpreter must be a professional, never a family member, child or friend",
    }


class InterviewerNotOfficialError(DomainError):
    code = "interviewer_not_official"
    texts = {
        "fi": "Alkuhaastattelun tekee virkamies",
        "sv": "Den inledande intervjun görs av en tjänsteman",
        "en": "The initial interview is done by a public official",
    }


class AssessmentClosedError(DomainError):
    code = "assessment_closed"
    texts = {
        "fi": "Alkukartoitus on jo valmis tai siitä on luovuttu",
        "sv": "Kartläggningen är redan klar eller har avstått",
        "en": "The assessment is already completed or waived",
    }


class UnknownReferralError(DomainError):
    code = "unknown_referral"
    texts = {
        "fi": "Ohjausta ei löydy",
        "sv": "Hänvisningen hittas inte",
        "en": "No such referral",
    }


class PlanPlannedBeforeStartError(DomainError):
    code = "plan_planned_before_assessment"
    texts = {
        "fi": "Kotoutumissuunnitelman suunniteltu laatimisajankohta on ennen alkukartoituksen "
        "aloittamista",
        "sv": "Den planerade tidpunkten för integrationsplanen är före den inledande "
        "kartläggningens början",
        "en": "The planned date of the integration plan is before the initial assessment started",
    }


class AssessmentAlreadyOpenError(DomainError):
    code = "assessment_already_open"
    texts = {
        "fi": "Asiakkaalla on jo alkukartoitus",
        "sv": "Klienten har redan en kartläggning",
        "en": "The client already has an initial assessment",
    }
