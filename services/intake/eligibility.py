"""Scope, group and responsibility decided by the rule tables of the business date. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta

from services.intake.model import ClientFacts, Eligibility
from shared.law.rulebook import RuleBook, RuleRef
from shared.values import OrganisationKind


def determine_eligibility(
    book: RuleBook, facts: ClientFacts, on: date, reached_on: date | None = None
) -> tuple[Eligibility, RuleRef]:
    """``reached_on``: when the municipality's services first reached the person (the client
    relationship's start). A group exempt from the permit's age (a trafficking victim) is so
    only if first reached after that time ran out (681/2023 §14(6), §20(4))."""
    rule = book.in_force("eligibility.scope", on)
    group = _group(rule.value("groups"), facts) or str(rule.value("default_group"))
    reasons: list[str] = []
    permit = facts.residence_permit
    if facts.deceased:
        reasons.append("deceased")
    if facts.finnish_citizen:
        reasons.append("Finnish citizen")
    if permit is None:
        reasons.append("no residence permit, right of residence or residence card recorded")
    elif permit.type.value not in rule.value("permit_types"):
        reasons.append(f"permit type {permit.type.value} is not in scope")
    else:
        max_years = rule.values().get("max_years_since_first_permit")
        if max_years is not None:
            limit = permit.first_permit_on + relativedelta(years=int(max_years))
            reached_late = reached_on is None or reached_on > limit
            exempt = group in rule.value("permit_age_exempt") and reached_late
            if on > limit and not exempt:
                reasons.append(
                    f"first permit {permit.first_permit_on} is over {max_years} years old"
                )
    in_scope = not reasons
    if in_scope:
        reasons.append(f"group {group}")
    return (
        Eligibility(in_scope=in_scope, group=group if in_scope else None, reasons=tuple(reasons)),
        rule.ref,
    )


def _group(groups: list[dict[str, Any]], facts: ClientFacts) -> str | None:
    for group in groups:
        if any(getattr(facts, fact) for fact in group["any_of"]):
            return str(group["id"])
    return None


def responsible_kind(
    book: RuleBook, facts: ClientFacts, on: date
) -> tuple[OrganisationKind, RuleRef]:
    rule = book.in_force("responsibility.assessment", on)
    kind = OrganisationKind(rule.value("jobseeker" if facts.registered_jobseeker else "other"))
    return kind, rule.ref
