"""What a client's record lacks of the decree's items, for supervisors to fix before
1 Jan 2027."""

from __future__ import annotations

from services.readside.reports.national_data_store.records import ClientRecord


def missing_items(record: ClientRecord) -> list[str]:
    """The decree's items the record lacks, each as ``<record>.<field>`` (e.g.
    ``assessment 3f…: makers``), so supervisors can fix them before 1 Jan 2027."""
    missing: list[str] = []
    if record.person.identity_code is None:
        missing.append("person: identity_code")
    for found in record.assessments:
        where = f"assessment {found.assessment_id}"
        required: dict[str, object] = {
            "drawn_up_on": found.drawn_up_on,
            "content.findings": found.content.findings,
            "further_measures": found.further_measures,
            "makers": found.makers or None,
            "sources": found.sources or None,
        }
        if found.content.plan_needed is False:
            required["referrals"] = found.referrals or None
        else:
            required["plan_planned_on"] = found.plan_planned_on
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    for plan in record.plans:
        where = f"plan {plan.plan_id}"
        required = {
            "goals": plan.goals or None,
            "measures": plan.measures or None,
            "makers": plan.makers or None,
            "review_planned_on": plan.review_planned_on,
            "sources": plan.sources or None,
        }
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    for review in record.reviews:
        where = f"review {review.plan_id} {review.reviewed_on.isoformat()}"
        required = {
            "participation": review.participation,
            "progress": review.progress,
            "results": review.results,
            "hindrances": review.hindrances,
            "changes": review.changes,
            "makers": review.makers or None,
            "next_review_planned_on": review.next_review_planned_on,
            "sources": review.sources or None,
        }
        missing.extend(f"{where}: {name}" for name, value in required.items() if value is None)
    return missing
