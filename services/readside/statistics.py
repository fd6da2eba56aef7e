"""Follow-up statistics of the municipal integration programme, counted from public events.

Pure: what each event adds to which figure (``counted``, ``start_counted``), and the report
made of the counts and today's caseload counts. A figure is one row (period, measure,
dimension, value), so the same report serves JSON and CSV. Periods are calendar months and the
year in Finnish time; an event counts in the period of its business date (when it happened),
not when it was recorded. The counts are kept as events are applied, by the statistics
projection (``services.readside.projections.statistics``); ``tally`` counts a history in one go.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import BaseModel

from services.readside.caseload import RecordOrder, record_order
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


Key = tuple[str, str, str]
"""(period, measure, dimension)"""


class DueDates(NamedTuple):
    """What a start is measured against: an assessment's deadline (``Deadline``)."""

    starts_on: date
    due: date
    is_target: bool

    @classmethod
    def of(cls, deadline: Deadline) -> DueDates:
        return cls(deadline.starts_on, deadline.due, deadline.is_target)


def _day(event: PublicEvent, data: Any) -> date:
    for name in ("started_on", "referred_on", "on", "agreed_on", "ended_on"):
        value = getattr(data, name, None)
        if isinstance(value, date):
            return value
    occurred: datetime = event.occurred_at
    return occurred.astimezone(HELSINKI).date()


def _periods(day: date) -> tuple[str, str]:
    return (str(day.year), f"{day:%Y-%m}")


def counted(event: PublicEvent) -> list[Key]:
    """What ``event`` adds one to, in the year and the month of its business date. A start
    counts against its assessment's deadline besides (``start_counted``); a deadline adds
    nothing itself."""
    if event.event_type not in COUNTED or event.event_type == "AssessmentDue":
        return []
    data: Any = event.data
    return [
        (period, measure, dimension)
        for period in _periods(_day(event, data))
        for measure, dimension in _measures(event, data)
    ]


def start_counted(started_on: date, due: DueDates | None) -> list[Key]:
    """What an assessment started on ``started_on`` adds one to, against its deadline (None:
    not known)."""
    return [
        (period, measure, dimension)
        for period in _periods(started_on)
        for measure, dimension in _start_measures(started_on, due)
    ]


def tally(events: Iterable[PublicEvent]) -> Counter[Key]:
    """The counts of a whole history, every year (the projection keeps the same as events
    come: a start counts against the latest deadline of its assessment in record order)."""
    counts: Counter[Key] = Counter()
    due: dict[UUID, tuple[RecordOrder, DueDates]] = {}
    starts: list[tuple[date, UUID]] = []
    for event in events:
        data: Any = event.data
        counts.update(counted(event))
        if event.event_type == "AssessmentDue":
            order = record_order(event)
            known = due.get(data.assessment_id)
            if known is None or known[0] < order:
                due[data.assessment_id] = (order, DueDates.of(data.deadline))
        elif event.event_type == "AssessmentStarted":
            starts.append((data.started_on, data.assessment_id))
    for started_on, assessment_id in starts:
        known = due.get(assessment_id)
        counts.update(start_counted(started_on, None if known is None else known[1]))
    return counts


def report(
    year: int,
    counts: Mapping[Key, int],
    clients_now: Iterable[tuple[str | None, str, int]],
) -> Report:
    """The year's figures of ``counts`` (other years' are left out), the shares of starts in
    time, and today's clients by group and status."""
    mine: Counter[Key] = Counter(
        {
            key: value
            for key, value in counts.items()
            if value and (key[0] == str(year) or key[0].startswith(f"{year}-"))
        }
    )
    figures = [
        Figure(period=period, measure=measure, dimension=dimension, value=value)
        for (period, measure, dimension), value in mine.items()
    ]
    figures += _shares(mine)
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


def _start_measures(day: date, due: DueDates | None) -> list[tuple[str, str]]:
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
