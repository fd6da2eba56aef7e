"""Follow-up statistics of the municipal integration programme, counted from public events.

Pure: the events and today's caseload counts come in, figures go out. A figure is one row
(period, measure, dimension, value), so the same report serves JSON and CSV. Periods are
calendar months and the year in Finnish time; an event counts in the period of its business
date (when it happened), not when it was recorded.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from shared.clock import HELSINKI
from shared.contracts import PublicEvent
from shared.law.deadlines import Deadline

COUNTED = frozenset(
    {
        "AssessmentDue",
        "AssessmentStarted",
        "AssessmentFindingsRecorded",
        "ReferralMade",
        "ReferralOutcomeRecorded",
        "PlanAgreed",
        "PlanExtended",
        "PlanEnded",
    }
)


class Figure(BaseModel):
    period: str  # "2025" or "2025-03"; "now" for today's caseload
    measure: str
    dimension: str
    value: float


class Report(BaseModel):
    year: int
    figures: list[Figure]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["period", "measure", "dimension", "value"])
        for figure in self.figures:
            value = int(figure.value) if figure.value.is_integer() else round(figure.value, 4)
            writer.writerow([figure.period, figure.measure, figure.dimension, value])
        return out.getvalue()


def _day(event: PublicEvent, data: Any) -> date:
    for name in ("started_on", "referred_on", "on", "agreed_on", "ended_on"):
        value = getattr(data, name, None)
        if isinstance(value, date):
            return value
    occurred: datetime = event.occurred_at
    return occurred.astimezone(HELSINKI).date()


def report(
    year: int,
    events: Iterable[PublicEvent],
    clients_now: Iterable[tuple[str | None, str, int]],
) -> Report:
    counts: Counter[tuple[str, str, str]] = Counter()
    due_by_assessment: dict[UUID, Deadline] = {}
    starts: list[tuple[date, UUID]] = []
    for event in events:
        data: Any = event.data
        if event.event_type == "AssessmentDue":
            due_by_assessment[data.assessment_id] = data.deadline
            continue
        day = _day(event, data)
        if day.year != year:
            continue
        for period in (str(year), f"{day:%Y-%m}"):
            for measure, dimension in _measures(event, data):
                counts[(period, measure, dimension)] += 1
        if event.event_type == "AssessmentStarted":
            starts.append((day, data.assessment_id))
    for day, assessment_id in starts:
        for period in (str(year), f"{day:%Y-%m}"):
            for measure, dimension in _start_measures(day, due_by_assessment.get(assessment_id)):
                counts[(period, measure, dimension)] += 1
    figures = [
        Figure(period=period, measure=measure, dimension=dimension, value=value)
        for (period, measure, dimension), value in counts.items()
    ]
    figures += _shares(counts)
    figures += [
        Figure(
            period="now",
            measure="clients",
            dimension=f"{group or 'no_group'}/{status}",
            value=count,
        )
        for group, status, count in clients_now
    ]
    return Report(year=year, figures=sorted(figures, key=_figure_order))


def _start_measures(day: date, due: Deadline | None) -> list[tuple[str, str]]:
    """A start against its statutory deadline; where the law says "without delay" (681/2023
    §14(2)), against the day the municipality learned of the person and against the
    municipality's own target, each reported as what it is."""
    if due is None:
        return [("assessments_started", "late_or_unknown")]
    if due.is_target:
        on_the_day = "yes" if day <= due.starts_on else "no"
        in_target = "within_municipal_target" if day <= due.due else "after_municipal_target"
        return [
            ("assessments_started_on_the_day_learned", on_the_day),
            ("assessments_started_against_municipal_target", in_target),
        ]
    return [("assessments_started", "within_deadline" if day <= due.due else "late_or_unknown")]


def _measures(event: PublicEvent, data: Any) -> list[tuple[str, str]]:
    match event.event_type:
        case "ReferralMade":
            return [("referrals_made", str(data.service))]
        case "ReferralOutcomeRecorded":
            return [("referral_outcomes", f"{data.service}/{data.outcome}")]
        case "PlanAgreed":
            return [("plans_agreed", str(data.kind))]
        case "PlanExtended":
            return [("plans_extended", "all")]
        case "PlanEnded":
            return [("plans_ended", str(data.reason))]
        case "AssessmentFindingsRecorded":
            return [
                ("language_levels", f"{skill.language}/{kind}/{level}")
                for skill in data.findings.language_skills
                for kind in ("speaking", "listening", "reading", "writing")
                if (level := getattr(skill, kind)) is not None
            ]
    return []


SHARES = {
    # measure: (its "in time" dimension, the other, the share's name)
    "assessments_started": (
        "within_deadline",
        "late_or_unknown",
        "assessments_started_within_deadline_share",
    ),
    "assessments_started_against_municipal_target": (
        "within_municipal_target",
        "after_municipal_target",
        "assessments_started_within_municipal_target_share",
    ),
    "assessments_started_on_the_day_learned": (
        "yes",
        "no",
        "assessments_started_on_the_day_learned_share",
    ),
}


def _shares(counts: Counter[tuple[str, str, str]]) -> list[Figure]:
    """The share of assessments started in time, per period and way of counting."""
    shares = []
    for measure, (in_time_dimension, late_dimension, name) in SHARES.items():
        periods = {period for period, counted, _ in counts if counted == measure}
        for period in periods:
            in_time = counts[(period, measure, in_time_dimension)]
            late = counts[(period, measure, late_dimension)]
            value = in_time / (in_time + late)
            shares.append(Figure(period=period, measure=name, dimension="all", value=value))
    return shares


def _figure_order(figure: Figure) -> tuple[str, str, str]:
    return (figure.period, figure.measure, figure.dimension)
