"""Import of the TE office's integration records (its JSON export) through the staff API.

Each record becomes the same events staff would have caused, with the original author
(``X-On-Behalf-Of``), the organisation of the import's token (the TE office's) as the acting
organisation, the original dates as business time, and the record's origin
(``X-Record-Source``: the export's source and the record id) in every event. Only a token of the
integration role may name another author. Running an
import again changes nothing: client ids follow from the record ids, and steps already taken
are skipped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import httpx
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.assessment import Interview
from shared.contracts.clients import ClientFacts, PersonalDetails
from shared.contracts.plans import Goal, Measure, PlanKind, PlanPeriod
from shared.contracts.records import InformationSource
from shared.iso_text import Day, Moment

IMPORT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:kotoutus:te-import")
# Where an imported record's information came from, for the national data store (Decree
# 874/2024 §1(1), §2(1)): the TE office's record (X-Record-Source names which one).
SOURCES = [InformationSource.TE_OFFICE.value]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ImportedAssessment(_Record):
    by: str = Field(description="The TE official who recorded it.")
    at: Moment
    started_on: Day | None = None
    interview: Interview | None = None
    completed_on: Day | None = None
    plan_needed: bool | None = None
    reason: str | None = None


class ImportedPlan(_Record):
    by: str
    at: Moment
    agreed_on: Day
    period: PlanPeriod
    kind: PlanKind = PlanKind.PERSON
    goals: tuple[Goal, ...] = ()
    measures: tuple[Measure, ...] = Field(min_length=1)
    job_seeking_obligation: bool = False


class ImportedClient(_Record):
    record_id: str = Field(min_length=1, max_length=100)
    registered_by: str
    registered_at: Moment
    relationship_started_on: Day
    personal: PersonalDetails
    facts: ClientFacts
    assessment: ImportedAssessment | None = None
    plan: ImportedPlan | None = None


class TeExport(_Record):
    source: str = Field(examples=["urn:fi:te-office:lappi:uras"])
    # The acting organisation is the import token's; this names whose export it is.
    organisation: str = Field(default="te_office:lappi")
    clients: tuple[ImportedClient, ...]


class ImportReport(BaseModel):
    clients: int = 0
    registered: int = 0
    assessments_completed: int = 0
    plans_agreed: int = 0
    skipped: list[str] = []


@dataclass(frozen=True)
class Caller:
    """Calls the staff API as the record's original author, saying where the record is from."""

    http: httpx.Client
    token: str
    origin: str

    def __call__(
        self, method: str, url: str, author: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "X-On-Behalf-Of": author,
            "X-Record-Source": self.origin,
        }
        return self.http.request(method, url, json=body, headers=headers)


def client_id_of(export: TeExport, record: ImportedClient) -> UUID:
    return uuid5(IMPORT_NAMESPACE, f"{export.source}#{record.record_id}")


def import_export(
    export: TeExport,
    http: httpx.Client,
    *,
    token: str,
    intake: str = "",
    assessment: str = "",
    plans: str = "",
    wait_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ImportReport:
    report = ImportReport()
    for record in export.clients:
        report.clients += 1
        client_id = client_id_of(export, record)
        call = Caller(http, token, f"{export.source}#{record.record_id}")
        registered = call(
            "POST",
            f"{intake}/clients",
            record.registered_by,
            {
                "client_id": str(client_id),
                "occurred_at": record.registered_at.isoformat(),
                "relationship_started_on": record.relationship_started_on.isoformat(),
                "personal": record.personal.model_dump(mode="json", exclude_none=True),
                "facts": record.facts.model_dump(mode="json"),
            },
        )
        if registered.status_code == 201:
            report.registered += 1
        elif _code(registered) != "client_already_registered":
            # The answer may repeat the record's personal data: keep only its code and fields.
            report.skipped.append(f"{record.record_id}: {_summary(registered)}")
            continue
        if record.assessment is not None and _import_assessment(
            record, client_id, call, assessment, wait_seconds, sleep
        ):
            report.assessments_completed += 1
        if record.plan is not None and _import_plan(
            record.plan, client_id, call, plans, wait_seconds, sleep
        ):
            report.plans_agreed += 1
    return report


def _summary(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        # A problem document (shared.api.Problem): where and what, never the value.
        fields = [f"{e.get('pointer') or '(body)'}: {e.get('code')}" for e in body["errors"]]
        return f"HTTP {response.status_code}: " + "; ".join(fields)
    return f"HTTP {response.status_code}: {body.get('code') if isinstance(body, dict) else ''}"


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _wait(
    probe: Callable[[], httpx.Response], seconds: float, sleep: Callable[[float], None]
) -> httpx.Response:
    """The services react to each other through events: wait for the next step to exist."""
    deadline = time.monotonic() + seconds
    while True:
        response = probe()
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        sleep(0.05)


def _import_assessment(
    record: ImportedClient,
    client_id: UUID,
    call: Caller,
    base: str,
    wait: float,
    sleep: Callable[[float], None],
) -> bool:
    found = record.assessment
    assert found is not None
    url = f"{base}/clients/{client_id}/assessment"
    current = _wait(lambda: call("GET", url, found.by), wait, sleep)
    if current.status_code == 404:  # not opened by a group: it was asked for
        call(
            "POST",
            url,
            found.by,
            {
                "received_on": record.relationship_started_on.isoformat(),
                "occurred_at": found.at.isoformat(),
            },
        )
        current = call("GET", url, found.by)
    state = current.json()
    if found.started_on and found.interview and not state.get("started_on"):
        call(
            "POST",
            f"{url}/start",
            found.by,
            {
                "started_on": found.started_on.isoformat(),
                "interview": found.interview.model_dump(mode="json"),
                "occurred_at": found.at.isoformat(),
            },
        )
    if found.completed_on and found.plan_needed is not None and not state.get("completed_on"):
        done = call(
            "POST",
            f"{url}/complete",
            found.by,
            {
                "completed_on": found.completed_on.isoformat(),
                "plan_needed": found.plan_needed,
                "reason": found.reason or "imported from the TE office",
                "sources": SOURCES,
                "occurred_at": found.at.isoformat(),
            },
        )
        return bool(done.status_code == 200)
    return False


def _import_plan(
    plan: ImportedPlan,
    client_id: UUID,
    call: Caller,
    base: str,
    wait: float,
    sleep: Callable[[float], None],
) -> bool:
    url = f"{base}/clients/{client_id}/plan"
    current = _wait(lambda: call("GET", url, plan.by), wait, sleep)
    if current.status_code != 200 or current.json().get("agreed_on"):
        return False
    agreed = call(
        "POST",
        f"{url}/agree",
        plan.by,
        {
            "agreed_on": plan.agreed_on.isoformat(),
            "period": plan.period.model_dump(mode="json"),
            "kind": plan.kind.value,
            "goals": [g.value for g in plan.goals],
            "measures": [m.model_dump(mode="json") for m in plan.measures],
            "job_seeking_obligation": plan.job_seeking_obligation,
            "sources": SOURCES,
            "occurred_at": plan.at.isoformat(),
        },
    )
    return bool(agreed.status_code == 200)
