"""The compensation reports end to end in embedded mode: histories made through the staff API
and inbound messages, the reports read through ``/reports/compensation`` (JSON and CSV), the
old law's assessments, the CLI, who may read them, and the access log of every read."""

from __future__ import annotations

import copy
import csv
import io
import string
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kotoutus.cli.reports import Language, language_of
from kotoutus.cli.reports import register_compensation as register_commands
from kotoutus.embedded import EmbeddedSystem
from services.readside.identities import Identity
from services.readside.reports import compensation
from shared import i18n
from shared.auth.access_log import AccessLog
from shared.clock import utc_now
from shared.contracts.inbound import (
    Died,
    HomeMunicipalityRegistered,
    MovedAway,
    ReceptionClientPlaced,
    example,
)
from shared.law.compensation import Conditions
from shared.settings import Settings
from tests.support import (
    ACTOR,
    AUDITOR,
    INTEGRATION,
    INTERVIEW,
    SUPERVISOR,
    TOKEN_KEY,
    bearer,
    eventually,
)

OLD_LAW_AMOUNT = Decimal("123.45")  # a test's figure: the real one is the decree's, unconfirmed
EMPLOYMENT = bearer(organisation="employment_authority:320", subject="ea.caseworker")


@pytest.fixture
def embedded_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=None,
        amqp_url=None,
        token_signing_key=TOKEN_KEY,
        late_entry_grace_hours=0,
        integration_programme_from=date(2023, 1, 1),
        integration_programme_until=date(2025, 12, 31),
        ely_agreement="Lapin ELY-keskus, sopimus kuntaan osoittamisesta 2024",
        old_law_assessment_euros=OLD_LAW_AMOUNT,
    )


@pytest.fixture
def api(embedded: EmbeddedSystem) -> Iterator[TestClient]:
    with TestClient(embedded.api()) as test_client:
        yield test_client


def identity_code(born: date, individual: int) -> str:
    """A valid Finnish personal identity code for ``born``."""
    century = {18: "+", 19: "-", 20: "A"}[born.year // 100]
    digits = f"{born:%d%m%y}{individual:03d}"
    check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(digits) % 31]
    return f"{born:%d%m%y}{century}{individual:03d}{check}"


def register(
    api: TestClient,
    given: str,
    born: date,
    individual: int,
    started: str = "2025-01-10",
    headers: dict[str, str] = ACTOR,
    **facts: Any,
) -> str:
    body = {
        "relationship_started_on": started,
        "personal": {
            "given_names": given,
            "family_name": "Testinen",
            "identity_code": identity_code(born, individual),
        },
        "facts": facts,
    }
    response = api.post("/clients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def inbound(model: type[Any], **data: Any) -> dict[str, Any]:
    message = example(model, f"{model.TYPE}:{sorted(data.items())}")
    message["data"] = {**copy.deepcopy(model.EXAMPLE), **data}
    return message


def report(api: TestClient, persons: int, year: int = 2025, erased: int = 1) -> dict[str, Any]:
    """The year's report once it names ``persons`` persons (delivery is asynchronous)."""

    def probe() -> dict[str, Any] | None:
        response = api.get("/reports/compensation", params={"year": year}, headers=SUPERVISOR)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        # The erased one's erasure may reach the read side after its registration.
        settled = len(found["persons"]) >= persons and found["left_out"]["erased"] == erased
        return found if settled else None

    return eventually(probe, what=f"{persons} persons and the erasure in the report")


def scenario(api: TestClient) -> dict[str, str]:
    """The persons of the issue, through the staff API and the population register."""
    home: dict[str, Any] = {"home_municipality": "320"}
    ids = {
        # A quota refugee whose first home municipality was registered in 2024: four years.
        "quota_2024": register(
            api,
            "Kiintiö",
            date(1985, 1, 1),
            101,
            quota_refugee=True,
            first_home_municipality_on="2024-06-15",
            **home,
        ),
        # A child turning 7 and a young person turning 18 inside their periods.
        "child_7": register(
            api,
            "Lapsi",
            date(2018, 9, 10),
            102,
            international_protection=True,
            first_home_municipality_on="2025-02-01",
            **home,
        ),
        "young_18": register(
            api,
            "Nuori",
            date(2008, 4, 20),
            103,
            international_protection=True,
            first_home_municipality_on="2025-01-15",
            **home,
        ),
        # A quota refugee registered in 2025, and a family member of theirs: three years each.
        "quota_2025": register(
            api,
            "Ankkuri",
            date(1980, 2, 2),
            104,
            quota_refugee=True,
            first_home_municipality_on="2025-05-01",
            **home,
        ),
        # A parent whose period began in 2024 (three years), to whom a child is born here.
        "parent": register(
            api,
            "Vanhempi",
            date(1990, 1, 1),
            106,
            international_protection=True,
            first_home_municipality_on="2024-03-01",
            **home,
        ),
        # International protection without any home-municipality date: facts missing.
        "no_date": register(api, "Puuttuva", date(1995, 5, 5), 108, international_protection=True),
    }
    ids["family"] = register(
        api,
        "Perheenjäsen",
        date(1992, 3, 3),
        105,
        family_tie_to=ids["quota_2025"],
        first_home_municipality_on="2025-08-01",
        **home,
    )
    ids["born_here"] = register(
        api,
        "Vauva",
        date(2025, 6, 10),
        107,
        started="2025-06-20",
        born_in_finland_to=ids["parent"],
        first_home_municipality_on="2025-06-10",
        **home,
    )
    # A beneficiary of international protection from the reception centre, whose home
    # municipality the population register reports (with the first registration's day).
    code = identity_code(date(1990, 5, 10), 109)
    person = {"identity_code": code, "given_names": "Vastaanotto", "family_name": "Testinen"}
    placed = inbound(ReceptionClientPlaced, person=person, international_protection=True)
    assert api.post("/inbound", json=placed, headers=INTEGRATION).json() == {
        "outcome": "registered"
    }
    registered = inbound(
        HomeMunicipalityRegistered,
        person={"identity_code": code},
        municipality="320",
        since="2025-03-01",
        first_registered_on="2025-03-01",
    )
    assert api.post("/inbound", json=registered, headers=INTEGRATION).json() == {
        "outcome": "updated"
    }
    found = api.post(
        "/clients/lookup", json={"kind": "identity_code", "value": code}, headers=ACTOR
    )
    ids["protection_2025"] = found.json()["client_id"]
    # One who is erased: left out of every list.
    ids["erased"] = register(
        api,
        "Poistettu",
        date(1991, 1, 1),
        110,
        international_protection=True,
        first_home_municipality_on="2025-01-01",
        **home,
    )
    erase = {"legal_ground": "GDPR 17(1)(a)"}
    assert api.post(f"/clients/{ids['erased']}/erase", json=erase, headers=ACTOR).is_success
    return ids


EXPECTED_2025 = {
    # (period_starts_on, period_ends_on, years, euros): worked by hand in test_compensation.py
    "quota_2024": ("2024-06-15", "2028-06-14", 4, "5551.36"),
    "protection_2025": ("2025-03-01", "2027-02-28", 2, "8210.02"),
    "child_7": ("2025-02-01", "2027-01-31", 2, "2294.90"),
    "young_18": ("2025-01-15", "2027-01-14", 2, "1973.29"),
    # 245 days of 2 052 € and the adult supplement: 9 793 × 245/365 = 6 573.38.
    "quota_2025": ("2025-05-01", "2028-04-30", 3, "6573.38"),
    "family": ("2025-08-01", "2028-07-31", 3, "4105.01"),
    # 2 052 € and the adult year's 59 days of 2025 (to 28 Feb): 3 303.28.
    "parent": ("2024-03-01", "2027-02-28", 3, "3303.28"),
    "born_here": ("2025-06-10", "2027-02-28", None, "1539.47"),
}


def test_the_year_s_compensation_per_person_and_in_total(api: TestClient) -> None:
    ids = scenario(api)
    found = report(api, persons=len(EXPECTED_2025))
    rows = {row["client_id"]: row for row in found["persons"]}
    by_name = {name: rows[ids[name]] for name in EXPECTED_2025}
    assert set(rows) == {ids[name] for name in EXPECTED_2025}
    for name, (starts, ends, years, euros) in EXPECTED_2025.items():
        row = by_name[name]
        assert (
            row["period_starts_on"],
            row["period_ends_on"],
            row["period_years"],
            row["euros"],
        ) == (starts, ends, years, euros), name
    assert by_name["child_7"]["days_under_7"] == 221 and by_name["child_7"]["days_from_7"] == 113
    assert by_name["young_18"]["days_adult_supplement"] == 0
    assert by_name["family"]["covered_as"] == "681/2023 §2(4)"
    assert by_name["born_here"]["covered_as"] == "681/2023 §2(5)"
    assert by_name["quota_2024"]["quota_refugee"] is True
    assert "compensation.period.begun_before_2025.quota_refugee" in by_name["quota_2024"]["rules"]
    protected = by_name["protection_2025"]
    assert (protected["identity_code"], protected["birth_date"]) == (
        identity_code(date(1990, 5, 10), 109),
        "1990-05-10",
    )
    assert protected["start_assumed"] is False
    total = sum(Decimal(euros) for *_, euros in EXPECTED_2025.values())
    assert total == Decimal("33550.71")
    assert (found["totals"]["euros"], found["totals"]["persons"]) == ("33550.71", 8)
    assert [(m["client_id"], m["missing"]) for m in found["missing_facts"]] == [
        (ids["no_date"], ["first_home_municipality_on"])
    ]
    assert found["left_out"]["erased"] == 1
    assert ids["erased"] not in found["persons"] and found["conditions"]["met_for_the_year"]
    assert found["warnings"] == [
        "1 persons cannot be decided on until the facts listed in missing_facts are recorded."
    ]
    cited = {(rule["law"], rule["section"]) for rule in found["legal_basis"]}
    assert {("872/2024", "§1(1)"), ("681/2023", "§61(3)"), ("681/2023", "§102(6)")} <= cited

    # CSV: one row per person and year, and the missing.
    response = api.get(
        "/reports/compensation", params={"year": 2025, "format": "csv"}, headers=AUDITOR
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    in_csv = {row["client_id"]: row["euros"] for row in table if row["row"] == "person_year"}
    assert in_csv == {ids[name]: e for name, (*_, e) in EXPECTED_2025.items()}
    assert [row["client_id"] for row in table if row["row"] == "missing_facts"] == [ids["no_date"]]

    # 2026: the programme as stated ends with 2025, so the report warns.
    later = api.get("/reports/compensation", params={"year": 2026}, headers=SUPERVISOR).json()
    assert not later["conditions"]["met_for_the_year"]
    assert any("does not cover the whole of 2026" in w for w in later["warnings"])
    later_rows = {row["client_id"]: row["euros"] for row in later["persons"]}
    assert later_rows[ids["born_here"]] == "2741.00"
    assert later_rows[ids["young_18"]] == "7481.30"

    # Staff record the missing fact: the person is decided on.
    change = {
        "changes": {"first_home_municipality_on": "2025-09-01", "home_municipality": "320"},
        "effective_on": "2025-09-01",
    }
    changed = api.post(f"/clients/{ids['no_date']}/facts", json=change, headers=ACTOR)
    assert changed.is_success, changed.text
    decided = report(api, persons=len(EXPECTED_2025) + 1)
    assert decided["missing_facts"] == []
    # 122 days from 1 Sep, with the adult supplement: 9 793 × 122/365 = 3 273.28.
    [row] = [r for r in decided["persons"] if r["client_id"] == ids["no_date"]]
    assert (row["period_ends_on"], row["euros"]) == ("2027-08-31", "3273.28")
    assert decided["totals"]["euros"] == "36823.99"


def test_only_supervisors_and_auditors_read_it_and_every_person_named_is_logged(
    api: TestClient, embedded: EmbeddedSystem
) -> None:
    ids = scenario(api)
    report(api, persons=len(EXPECTED_2025))
    settled = utc_now().isoformat()
    for path in ("/reports/compensation", "/reports/compensation/old-law"):
        assert api.get(path, headers=ACTOR).status_code == 403
        assert api.get(path, headers=INTEGRATION).status_code == 403
        assert api.get(path).status_code == 401
        other = bearer("supervisor", organisation="municipality:698", subject="rovaniemi.boss")
        assert api.get(path, headers=other).status_code == 403
        assert api.get(path, headers=AUDITOR).status_code == 200
        assert api.get(path, headers=SUPERVISOR).status_code == 200

    def reads_of(name: str) -> list[tuple[str, str | None, int]]:
        params = {"client_id": ids[name], "since": settled}
        log = api.get("/audit/access-log", params=params, headers=AUDITOR).json()
        return [(entry["what"], entry["actor"], entry["outcome"]) for entry in log]

    assert ("GET /reports/compensation", "aino.auditor", 200) in reads_of("family")
    assert ("GET /reports/compensation", "sanna.lahtinen", 200) in reads_of("family")
    assert ("GET /reports/compensation", "aino.auditor", 200) in reads_of("no_date")
    # The refusals named no one; the erased are named by no report.
    assert not any(what.startswith("GET /reports/") for what, *_ in reads_of("erased"))
    assert {actor for _, actor, _ in reads_of("family")} == {"aino.auditor", "sanna.lahtinen"}


def test_the_old_law_s_assessments_with_the_deadline(api: TestClient) -> None:
    # Organised by the municipality in 2024: a client on social assistance (1386/2010 §10(1)).
    old = register(
        api,
        "Vanha",
        date(1970, 6, 6),
        201,
        started="2024-10-01",
        non_temporary_social_assistance=True,
        residence_permit={"type": "A", "first_permit_on": "2024-09-01"},
    )
    # A jobseeker's, in 2024 by another authority (today the employment authority answers
    # for them): not the municipality's claim.
    te = register(
        api,
        "Työnhakija",
        date(1971, 7, 7),
        202,
        started="2024-10-01",
        registered_jobseeker=True,
        unemployed=True,
        residence_permit={"type": "A", "first_permit_on": "2024-09-01"},
    )
    # Started in 2025: under the new act, not in this report.
    new = register(
        api,
        "Uusi",
        date(1972, 8, 8),
        203,
        started="2025-02-03",
        non_temporary_social_assistance=True,
        residence_permit={"type": "A", "first_permit_on": "2025-01-02"},
    )

    def start(client_id: str, on: str, headers: dict[str, str]) -> None:
        base = f"/clients/{client_id}/assessment"
        eventually(lambda: api.get(base, headers=headers).is_success, what="the assessment")
        body: dict[str, Any] = {"started_on": on, "interview": INTERVIEW}
        response = api.post(f"{base}/start", json=body, headers=headers)
        assert response.is_success, response.text

    start(old, "2024-10-20", ACTOR)
    done = {"completed_on": "2024-11-10", "plan_needed": False, "reason": "in work"}
    assert api.post(f"/clients/{old}/assessment/complete", json=done, headers=ACTOR).is_success
    start(te, "2024-10-15", EMPLOYMENT)

    def probe() -> dict[str, Any] | None:
        found: dict[str, Any] = api.get("/reports/compensation/old-law", headers=SUPERVISOR).json()
        complete = found["assessments"] and found["assessments"][0]["completed_on"]
        return found if complete and found["other_organisations"] else None

    found = eventually(probe, what="the old law's assessments")
    [row] = found["assessments"]
    assert (row["client_id"], row["started_on"], row["completed_on"], row["organisation"]) == (
        old,
        "2024-10-20",
        "2024-11-10",
        "municipality:320",
    )
    assert (row["identity_code"], row["birth_date"]) == (
        identity_code(date(1970, 6, 6), 201),
        "1970-06-06",
    )
    assert found["other_organisations"] == {"employment_authority:320": 1}
    assert (found["count"], found["claims_by"]) == (1, "2026-12-31")
    assert (found["amount_per_assessment"], found["euros"]) == ("123.45", "123.45")
    assert found["amount_confirmed"] is False
    assert "vuoden 2026 loppuun mennessä" in found["warning"]
    assert "§46" in found["not_in_records"] and "§49(1)(3)" in found["not_in_records"]
    assert new not in {r["client_id"] for r in found["assessments"]}
    log = api.get("/audit/access-log", params={"client_id": old}, headers=AUDITOR).json()
    assert any(entry["what"] == "GET /reports/compensation/old-law" for entry in log)
    table = api.get("/reports/compensation/old-law", params={"format": "csv"}, headers=AUDITOR).text
    [first] = csv.DictReader(io.StringIO(table))
    assert first["started_on"] == "2024-10-20"


def test_only_the_days_lived_here_count_as_the_population_register_reports_them(
    api: TestClient,
) -> None:
    home: dict[str, Any] = {"home_municipality": "320"}
    moving = register(
        api,
        "Muuttaja",
        date(1990, 1, 1),
        401,
        international_protection=True,
        first_home_municipality_on="2025-02-01",
        home_municipality_since="2025-02-01",
        **home,
    )
    dying = register(
        api,
        "Kuollut",
        date(1990, 1, 1),
        402,
        international_protection=True,
        first_home_municipality_on="2025-01-01",
        home_municipality_since="2025-01-01",
        **home,
    )
    moved = inbound(
        MovedAway,
        person={"identity_code": identity_code(date(1990, 1, 1), 401)},
        municipality="698",
        on="2025-07-01",
    )
    died = inbound(
        Died, person={"identity_code": identity_code(date(1990, 1, 1), 402)}, on="2025-01-31"
    )
    for message in (moved, died):
        outcome = api.post("/inbound", json=message, headers=INTEGRATION).json()
        assert outcome == {"outcome": "updated"}

    def probe() -> dict[str, Any] | None:
        found = report(api, persons=2, erased=0)
        rows = {row["client_id"]: row for row in found["persons"]}
        return rows if rows[moving]["days"] < 334 and rows[dying]["days"] < 365 else None

    rows = eventually(probe, what="the move and the death in the report")
    # 1 Feb to 30 Jun: (2 052 + 7 741) × 150/365 = 4 024.52; 31 days of January: 831.73.
    assert (rows[moving]["days"], rows[moving]["euros"]) == (150, "4024.52")
    assert (rows[dying]["days"], rows[dying]["euros"]) == (31, "831.73")
    assert "died on 2025-01-31: counted to that day" in rows[dying]["notes"]
    assert any("the home municipality was not 320" in note for note in rows[moving]["notes"])


def test_without_an_amount_the_old_law_report_gives_no_sum() -> None:
    client_id = UUID(int=7)
    records = {client_id: compensation.ClientRecord(client_id)}
    known = {client_id: Identity("A", "B", None, date(1990, 1, 1))}
    municipality = compensation.Municipality("320", "Kemijärvi", Conditions(None, None, None))
    found = compensation.build_old_law_report(
        [], records, known, municipality, "municipality:320", None, date(2027, 1, 1)
    )
    assert (found.count, found.euros, found.amount_per_assessment) == (0, None, None)
    assert found.days_left == -1 and found.warning.startswith("The deadline has passed.")


def test_the_population_register_may_say_when_the_first_home_municipality_was(
    api: TestClient,
) -> None:
    later_than_since = inbound(
        HomeMunicipalityRegistered,
        person={"identity_code": identity_code(date(1990, 5, 10), 301)},
        municipality="320",
        since="2025-03-01",
        first_registered_on="2025-04-01",
    )
    refused = api.post("/inbound", json=later_than_since, headers=INTEGRATION)
    assert refused.status_code == 422 and "first_registered_on" in refused.text


def test_the_cli_prints_the_report_and_logs_the_persons_it_names(
    api: TestClient, embedded_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = scenario(api)
    report(api, persons=len(EXPECTED_2025))
    monkeypatch.setenv("KOTOUTUS_DATA_DIR", str(embedded_settings.data_dir))
    monkeypatch.setenv("KOTOUTUS_INTEGRATION_PROGRAMME_UNTIL", "2025-12-31")
    commands = typer.Typer()
    register_commands(commands)
    runner = CliRunner()
    printed = runner.invoke(commands, ["compensation", "--year", "2025", "--format", "csv"])
    assert printed.exit_code == 0, printed.output
    table = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert {row["client_id"]: row["euros"] for row in table if row["row"] == "person_year"}[
        ids["family"]
    ] == "4105.01"
    as_json = runner.invoke(commands, ["compensation", "--year", "2025"])
    assert as_json.exit_code == 0
    assert compensation.CompensationReport.model_validate_json(
        as_json.stdout
    ).totals.euros == Decimal("33550.71")
    old = runner.invoke(commands, ["compensation-old-law"])
    assert old.exit_code == 0 and "2026-12-31" in old.stdout
    # The texts in the language of --lang, or else of the locale.
    swedish = runner.invoke(commands, ["compensation", "--year", "2025", "--lang", "sv"])
    assert swedish.exit_code == 0, swedish.output
    assert swedish.stderr.splitlines() == [
        "varning: Inget avtal med NTM-centralen har angetts (inställningen "
        "KOTOUTUS_ELY_AGREEMENT): ersättning från staten förutsätter ett avtal enligt 42 § "
        "(59 § 1 mom. i lag 681/2023).",
        "varning: Antal personer vars ersättning inte kan beräknas förrän de saknade "
        "uppgifterna (missing_facts) har registrerats: 1.",
    ]
    assert compensation.CompensationReport.model_validate_json(swedish.stdout).language == "sv"
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "fi_FI.UTF-8")
    finnish = runner.invoke(commands, ["compensation-old-law"])
    assert finnish.exit_code == 0, finnish.output
    assert finnish.stderr.startswith(
        "varoitus: Vanhan lain mukaiset korvaukset on haettava viimeistään 31.12.2026 "
        "(kotoutumislain 681/2023 102 §:n 1 momentti, sellaisena kuin se on laissa 1100/2024: "
        "”Kunnan on haettava mainitun lain 50 §:n nojalla myönnettäviä korvauksia vuoden 2026 "
        "loppuun mennessä”)."
    )
    log = AccessLog.for_settings(embedded_settings)
    try:
        entries = log.query(client_id=UUID(ids["family"]))
    finally:
        log.close()
    assert any(
        e.what == "kotoutus report compensation --year 2025" and e.actor.startswith("os:")
        for e in entries
        if e.actor
    )


# --- the texts, in the language asked for ---

FACTS_MISSING = {
    "en": "1 persons cannot be decided on until the facts listed in missing_facts are recorded.",
    "fi": "Henkilöitä, joiden korvausta ei voida laskea ennen kuin puuttuvat tiedot "
    "(missing_facts) on kirjattu: 1.",
    "sv": "Antal personer vars ersättning inte kan beräknas förrän de saknade uppgifterna "
    "(missing_facts) har registrerats: 1.",
}
PROGRAMME_PARTIAL = {
    "en": "The integration programme as stated (2023-01-01–2025-12-31) does not cover the whole "
    "of 2026: compensation requires one (Act 681/2023 §59(1) as amended by Act 1100/2024).",
    "fi": "Ilmoitettu kotoutumisohjelma (1.1.2023–31.12.2025) ei kata koko vuotta 2026: valtion "
    "korvauksen edellytyksenä on kotoutumisohjelma (kotoutumislain 681/2023 59 §:n 1 momentti, "
    "sellaisena kuin se on laissa 1100/2024).",
    "sv": "Det angivna integrationsprogrammet (1.1.2023–31.12.2025) täcker inte hela året 2026: "
    "ersättning från staten förutsätter ett integrationsprogram (59 § 1 mom. i lag 681/2023, "
    "sådant det lyder i lag 1100/2024).",
}
ENDS_WITH_PARENT = {
    "en": "ends with the parent's period (681/2023 §61(4))",
    "fi": "päättyy, kun vanhemman korvausaika päättyy (kotoutumislain 681/2023 61 §:n 4 momentti)",
    "sv": "upphör när förälderns ersättningstid upphör (61 § 4 mom. i lag 681/2023)",
}
MISSING_FACTS_CELL = {
    "en": "missing facts: first_home_municipality_on",
    "fi": "puuttuvat tiedot: first_home_municipality_on",
    "sv": "uppgifter som saknas: first_home_municipality_on",
}


def in_language(api: TestClient, path: str, language: str, **params: Any) -> Any:
    headers = {
        **SUPERVISOR,
        "Accept-Language": {"fi": "fi-FI", "sv": "sv-FI,fi;q=0.5"}.get(language, "en-GB"),
    }
    response = api.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-language"] == language
    assert "Accept-Language" in response.headers["vary"]
    return response


def test_the_same_report_speaks_finnish_swedish_and_english_by_accept_language(
    api: TestClient,
) -> None:
    ids = scenario(api)
    report(api, persons=len(EXPECTED_2025))
    found = {
        language: in_language(api, "/reports/compensation", language, year=2025).json()
        for language in i18n.LANGUAGES
    }
    later = {
        language: in_language(api, "/reports/compensation", language, year=2026).json()
        for language in i18n.LANGUAGES
    }
    for language in i18n.LANGUAGES:
        assert found[language]["language"] == language
        assert found[language]["warnings"] == [FACTS_MISSING[language]]
        [detail] = found[language]["warning_details"]
        assert detail == {
            "code": "compensation.warning.facts_missing",
            "message": FACTS_MISSING[language],
            "params": {"persons": 1},
        }
        assert PROGRAMME_PARTIAL[language] in later[language]["warnings"]
        rows = {row["client_id"]: row for row in found[language]["persons"]}
        assert rows[ids["born_here"]]["notes"] == [ENDS_WITH_PARENT[language]]
        assert rows[ids["born_here"]]["note_details"][0]["code"] == (
            "compensation.note.ends_with_parent"
        )
        table = in_language(api, "/reports/compensation", language, year=2025, format="csv").text
        [missing] = [r for r in csv.DictReader(io.StringIO(table)) if r["row"] == "missing_facts"]
        assert missing["notes"] == MISSING_FACTS_CELL[language]
    # The codes and parameters are the same in every language; only the texts differ.
    codes = {
        language: [(d["code"], d["params"]) for d in later[language]["warning_details"]]
        for language in i18n.LANGUAGES
    }
    assert codes["fi"] == codes["sv"] == codes["en"]
    assert (
        "compensation.warning.integration_programme_partial",
        {"programme_from": "2023-01-01", "programme_until": "2025-12-31", "year": 2026},
    ) in codes["en"]
    # A family member's ground names the ground of the person it derives from, translated too.
    family = {
        language: next(r for r in found[language]["persons"] if r["client_id"] == ids["family"])
        for language in i18n.LANGUAGES
    }
    anchor = ids["quota_2025"]
    assert (
        family["en"]["ground"]
        == f"family member of client {anchor} (quota refugee (Aliens Act §90))"
    )
    assert (
        family["fi"]["ground"]
        == f"asiakkaan {anchor} perheenjäsen (kiintiöpakolainen (ulkomaalaislain 90 §))"
    )
    assert (
        family["sv"]["ground"]
        == f"familjemedlem till klient {anchor} (kvotflykting (90 § i utlänningslagen))"
    )
    assert family["sv"]["ground_detail"]["params"] == {
        "client_id": anchor,
        "anchor": "compensation.ground.quota_refugee",
    }
    # The old law's report too.
    old = {
        language: in_language(api, "/reports/compensation/old-law", language).json()
        for language in i18n.LANGUAGES
    }
    assert old["sv"]["warning"].startswith(
        "Ersättningar enligt den gamla lagen ska sökas senast 31.12.2026"
    )
    assert old["fi"]["not_in_records"].startswith("Myös vanhan lain 1386/2010 46 §:n")
    assert old["en"]["amount_note_detail"] == {
        "code": "compensation.old_law.amount_set",
        "message": old["en"]["amount_note"],
        "params": {"amount": "123.45"},
    }
    assert "123,45 €" in old["fi"]["amount_note"] and "123,45 €" in old["sv"]["amount_note"]


def test_the_conditions_and_the_old_law_s_deadline_in_each_language() -> None:
    unstated = compensation.Municipality("320", "Kemijärvi", Conditions(None, None, None))
    expected = {
        "en": [
            "The municipality's integration programme is not stated (setting "
            "KOTOUTUS_INTEGRATION_PROGRAMME_UNTIL): compensation requires one (Act 681/2023 "
            "§59(1) as amended by Act 1100/2024).",
            "No agreement with the ELY centre is stated (setting KOTOUTUS_ELY_AGREEMENT): "
            "compensation requires the agreement of §42 (Act 681/2023 §59(1)).",
        ],
        "fi": [
            "Kunnan kotoutumisohjelmaa ei ole ilmoitettu (määritys "
            "KOTOUTUS_INTEGRATION_PROGRAMME_UNTIL): valtion korvauksen edellytyksenä on "
            "kotoutumisohjelma (kotoutumislain 681/2023 59 §:n 1 momentti, sellaisena kuin se on "
            "laissa 1100/2024).",
            "Sopimusta ELY-keskuksen kanssa ei ole ilmoitettu (määritys KOTOUTUS_ELY_AGREEMENT): "
            "valtion korvauksen edellytyksenä on 42 §:n mukainen sopimus (kotoutumislain 681/2023 "
            "59 §:n 1 momentti).",
        ],
        "sv": [
            "Kommunens integrationsprogram har inte angetts (inställningen "
            "KOTOUTUS_INTEGRATION_PROGRAMME_UNTIL): ersättning från staten förutsätter ett "
            "integrationsprogram (59 § 1 mom. i lag 681/2023, sådant det lyder i lag 1100/2024).",
            "Inget avtal med NTM-centralen har angetts (inställningen KOTOUTUS_ELY_AGREEMENT): "
            "ersättning från staten förutsätter ett avtal enligt 42 § (59 § 1 mom. i lag "
            "681/2023).",
        ],
    }
    passed = {
        "en": "The deadline has passed. The old law's claims must be made by 2026-12-31",
        "fi": "Määräaika on päättynyt. Vanhan lain mukaiset korvaukset on haettava viimeistään "
        "31.12.2026",
        "sv": "Tidsfristen har gått ut. Ersättningar enligt den gamla lagen ska sökas senast "
        "31.12.2026",
    }
    left = {
        "en": " 30 days left.",
        "fi": " Aikaa on jäljellä 30 päivää.",
        "sv": " Det återstår 30 dagar.",
    }
    for language in i18n.LANGUAGES:
        found = compensation.build_report(2026, {}, {}, unstated, language=language)
        assert found.warnings == expected[language]
        assert [w.code for w in found.warning_details] == [
            "compensation.warning.integration_programme_unstated",
            "compensation.warning.ely_agreement_unstated",
        ]
        assert not found.conditions.met_for_the_year

        after, before = (
            compensation.build_old_law_report(
                [], {}, {}, unstated, "municipality:320", None, today, language=language
            )
            for today in (date(2027, 1, 1), date(2026, 12, 1))
        )
        assert after.warning.startswith(passed[language])
        assert before.warning.endswith(left[language])
        assert before.warning_detail.params["days_left"] == 30


def test_every_text_of_the_reports_names_the_same_parameters_in_every_language() -> None:
    ours = [m for m in i18n.catalogue("en") if m.startswith(("compensation.", "report."))]
    assert len(ours) > 20
    for message_id in ours:
        named = {
            language: sorted(
                name
                for _, name, _, _ in string.Formatter().parse(i18n.catalogue(language)[message_id])
                if name
            )
            for language in i18n.LANGUAGES
        }
        assert named["fi"] == named["sv"] == named["en"], message_id


@pytest.mark.parametrize(
    ("environment", "chosen", "language"),
    [
        ({"LANG": "sv_FI.UTF-8"}, None, "sv"),
        ({"LANG": "fi_FI.UTF-8", "LC_ALL": "C"}, None, "en"),
        ({"LANG": "de_DE.UTF-8", "LANGUAGE": "de:fi"}, None, "fi"),
        ({"LC_MESSAGES": "sv_SE.UTF-8", "LANG": "fi_FI.UTF-8"}, None, "sv"),
        ({}, None, "en"),
        ({"LANG": "fi_FI.UTF-8"}, Language.EN, "en"),
    ],
)
def test_the_cli_takes_its_language_from_lang_or_the_locale(
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    chosen: Language | None,
    language: str,
) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert language_of(chosen) == language
