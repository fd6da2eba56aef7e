"""What the integration plan refuses, as the staff API names it."""

from __future__ import annotations

from shared.errors import DomainError, NotFoundError


class PlanAlreadyDraftedError(DomainError):
    code = "plan_already_drafted"
    texts = {
        "fi": "Kotoutumissuunnitelman laatiminen on jo aloitettu",
        "sv": "Integrationsplanen har redan börjat utarbetas",
        "en": "Preparation of the integration plan has already started",
    }


class PlanRefusedError(DomainError):
    """The law of the plan's date does not allow it; the detail names the rule."""

    code = "plan_refused"
    texts = {
        "fi": "Laki ei salli tätä kotoutumissuunnitelmaa",
        "sv": "Lagen tillåter inte denna integrationsplan",
        "en": "The law does not allow this integration plan",
    }


class PlanStateError(DomainError):
    code = "plan_state"
    texts = {
        "fi": "Suunnitelman tila ei salli tätä",
        "sv": "Planens läge tillåter inte detta",
        "en": "The plan's state does not allow this",
    }


class ReviewNotFoundError(NotFoundError):
    code = "review_not_found"
    texts = {
        "fi": "Suunnitelmaa ei ole tarkistettu sinä päivänä",
        "sv": "Planen har inte setts över den dagen",
        "en": "The plan was not reviewed on that day",
    }


class PlannedBeforeError(DomainError):
    """A planned review day before the plan was agreed, or before the review it follows."""

    code = "review_planned_too_early"
    texts = {
        "fi": "Suunniteltu tarkistamisen ajankohta on ennen suunnitelman laatimista tai "
        "edellistä tarkistusta",
        "sv": "Den planerade tidpunkten för översynen är före planens upprättande eller "
        "föregående översyn",
        "en": "The planned review date is before the plan was agreed or the review it follows",
    }
