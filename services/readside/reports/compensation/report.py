"""The state's compensation report as staff claim with it: per person and year, the year's
totals, the persons whose facts are missing, and the conditions of 681/2023 §59(1); JSON or
CSV (``services.readside.reports.compensation.assembly`` fills it in)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from shared import i18n
from shared.law.compensation import Notice
from shared.law.rulebook import RuleRef


class ReportMessage(BaseModel):
    """A text of the report with its stable code: ``message`` is in the report's language,
    ``code`` and ``params`` are the same in every language (the code is the message's id in
    the catalogues, ``shared/i18n``)."""

    code: str = Field(
        description="Stable code of the text, for programs to act on.",
        examples=["compensation.warning.facts_missing"],
    )
    message: str = Field(description="The text in the report's language.")
    params: dict[str, str | int] = Field(
        description="The values the text names (counts, days in ISO 8601, amounts, codes, "
        "client ids), the same in every language."
    )

    @classmethod
    def of(cls, notice: Notice, language: str) -> ReportMessage:
        return cls(code=notice.code, message=notice.text(language), params=notice.values())


LANGUAGE = Field(
    description="The language of the texts (`fi`, `sv` or `en`): by `Accept-Language`, or the "
    "CLI's `--lang` or `LANG`."
)


class Days(BaseModel):
    first: date
    last: date


class PersonYear(BaseModel):
    year: int
    client_id: UUID
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    birth_date: date
    covered_as: str = Field(description='The subsection of 681/2023 §2, e.g. "§2(3)".')
    ground: str = Field(description="The text of `ground_detail`, in the report's language.")
    ground_detail: ReportMessage = Field(
        description="Why the person is one the act compensates for, with its code "
        "(`compensation.ground.<kind>`, the kinds of `totals.by_ground`)."
    )
    quota_refugee: bool
    period_starts_on: date
    period_ends_on: date
    period_years: int | None = Field(description="null: a child's, ending with its parent's")
    start_assumed: bool = Field(
        description="The current home municipality's registration stands in for the first."
    )
    counted: list[Days] = Field(description="The days of the year compensated for.")
    days: int
    days_in_year: int
    days_under_7: int
    days_from_7: int
    days_adult_supplement: int
    days_unpriced: int = Field(description="Days on which no amount of the decree applies.")
    euros_under_7: Decimal
    euros_from_7: Decimal
    euros_adult_supplement: Decimal
    euros: Decimal = Field(
        description="The person's year, to the cent, half up, from the exact sum (the rounded "
        "parts above may add up to a cent more or less)."
    )
    rules: list[str] = Field(description="Ids of the entries of legal_basis that decided.")
    notes: list[str] = Field(description="The texts of `note_details`, in the report's language.")
    note_details: list[ReportMessage] = Field(
        description="What was assumed or limited for this person, each with its code."
    )


class MissingFacts(BaseModel):
    client_id: UUID
    given_names: str | None
    family_name: str | None
    identity_code: str | None
    missing: list[str]
    closed: bool


class Conditions(BaseModel):
    """681/2023 §59(1) as amended by 1100/2024, as the settings state them."""

    integration_programme_from: date | None
    integration_programme_until: date | None
    ely_agreement: str | None
    met_for_the_year: bool


class Totals(BaseModel):
    persons: int
    days: int
    euros: Decimal
    by_ground: dict[str, Decimal]


class CompensationReport(BaseModel):
    year: int
    municipality: str
    municipality_name: str
    language: str = LANGUAGE
    conditions: Conditions
    warnings: list[str] = Field(
        description="The texts of `warning_details`, in the report's language."
    )
    warning_details: list[ReportMessage] = Field(
        description="What the report cannot vouch for (conditions not stated, facts missing), "
        "each with its code."
    )
    persons: list[PersonYear]
    totals: Totals
    missing_facts: list[MissingFacts]
    left_out: dict[str, int] = Field(
        description="Clients not in the lists: erased, merged duplicates, another "
        "municipality's residents in the year."
    )
    legal_basis: list[RuleRef]

    def client_ids(self) -> list[UUID]:
        """Every client the report names, once."""
        listed = [row.client_id for row in self.persons]
        listed += [row.client_id for row in self.missing_facts]
        return list(dict.fromkeys(listed))

    def csv(self) -> str:
        """One row per person and year, then one per person whose facts are missing."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.persons:
            values = row.model_dump(mode="json")
            values["notes"] = "; ".join(row.notes)
            values["rules"] = " ".join(row.rules)
            values["counted"] = " ".join(f"{d.first}/{d.last}" for d in row.counted)
            writer.writerow(["person_year", *(values[c] for c in CSV_COLUMNS[1:])])
        for missing in self.missing_facts:
            values = {c: "" for c in CSV_COLUMNS[1:]} | {
                "year": self.year,
                "client_id": missing.client_id,
                "given_names": missing.given_names or "",
                "family_name": missing.family_name or "",
                "identity_code": missing.identity_code or "",
                "notes": i18n.text(
                    "compensation.note.missing_facts",
                    self.language,
                    facts="; ".join(missing.missing),
                ),
            }
            writer.writerow(["missing_facts", *(values[c] for c in CSV_COLUMNS[1:])])
        return out.getvalue()


CSV_COLUMNS = (
    "row",
    "year",
    "client_id",
    "family_name",
    "given_names",
    "identity_code",
    "birth_date",
    "covered_as",
    "ground",
    "quota_refugee",
    "period_starts_on",
    "period_ends_on",
    "period_years",
    "start_assumed",
    "counted",
    "days",
    "days_in_year",
    "days_under_7",
    "days_from_7",
    "days_adult_supplement",
    "days_unpriced",
    "euros_under_7",
    "euros_from_7",
    "euros_adult_supplement",
    "euros",
    "rules",
    "notes",
)
