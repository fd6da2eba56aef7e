"""Intake's public contracts: a client as contracts describe it, and the events intake publishes.

Over ~350 lines on purpose: one producer's contracts, its events beside the value objects they
carry, so that a consumer of intake reads them in one place.

``PersonalDetails`` is personal data: sealed at rest in intake, never in a public event.
``ClientFacts`` is what decides scope and responsibility: not personal, readable after an
erasure for statistics, and carried whole (nested, as ``facts``) by the events that state them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts.envelope import EventData, PublicEvent
from shared.contracts.records import EmailAddress
from shared.errors import InvalidValueError
from shared.identity import (
    IdentifierKind,
    IdentityCode,
    OtherIdentifier,
    birth_date_of,
    validate_identity_code,
)
from shared.iso_text import Day
from shared.languages import CountryCode, LanguageCode


class PermitType(StrEnum):
    A = "A"
    B = "B"
    P = "P"
    P_EU = "P-EU"
    TEMPORARY_PROTECTION = "temporary_protection"
    RIGHT_OF_RESIDENCE = "right_of_residence"


class ResidencePermit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: PermitType
    ground_section: str | None = Field(
        default=None, pattern=r"^\d{1,3}[a-z]?$", description="Aliens Act section, e.g. 90."
    )
    ground_subsection: int | None = Field(
        default=None,
        ge=1,
        le=9,
        description="Its subsection where the law names one (52a(2), 54(5): 681/2023 §2(3)(4)).",
    )
    first_permit_on: Day


class ClientFacts(BaseModel):
    """What decides scope and responsibility; not personal, kept for statistics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    citizenship: tuple[CountryCode, ...] = ()
    mother_tongue: LanguageCode | None = None
    service_languages: tuple[LanguageCode, ...] = ()
    interpreter_language: LanguageCode | None = None
    needs_interpreter: bool = False
    residence_permit: ResidencePermit | None = None
    home_municipality: str | None = Field(default=None, pattern=r"^\d{3}$")
    home_municipality_since: Day | None = None
    first_home_municipality_on: Day | None = Field(
        default=None,
        description=(
            "When the person's first home municipality in Finland was registered (681/2023 "
            "§59(2)); when absent the current one's start stands in for it, marked assumed."
        ),
    )
    home_municipality_act_unmet: bool = Field(
        default=False,
        description=(
            "Had no permit on arrival and does not meet the Home Municipality Act 201/1994 §4 "
            "(681/2023 §59(3)): compensation counts from the first permit."
        ),
    )
    family_members: tuple[str, ...] = Field(default=(), description="Client ids of family.")
    family_tie_to: UUID | None = Field(
        default=None,
        description=(
            "The client of 681/2023 §2(3) this person is a family member or other relative of, "
            "the tie existing before that person came to Finland (§2(4))."
        ),
    )
    born_in_finland_to: UUID | None = Field(
        default=None,
        description="The parent of §2(3) or §2(4), for a child born in Finland (§2(5), §61(4)).",
    )
    registered_jobseeker: bool = False
    unemployed: bool = Field(
        default=False,
        description=(
            "An unemployed jobseeker (työtön työnhakija, Act 681/2023 §5(7)): from 2025 the "
            "assessment group of §14(1)(1), not every registered jobseeker."
        ),
    )
    non_temporary_social_assistance: bool = False
    child_home_care_allowance: bool = False
    unaccompanied_minor: bool = False
    trafficking_victim: bool = False
    international_protection: bool = False
    quota_refugee: bool = False
    finnish_citizen: bool = False
    deceased: bool = False

    @model_validator(mode="after")
    def _interpreter(self) -> ClientFacts:
        if self.needs_interpreter and not self.interpreter_language:
            raise InvalidValueError("interpreter_language_required", at="/interpreter_language")
        return self


class Eligibility(BaseModel):
    model_config = ConfigDict(frozen=True)

    in_scope: bool
    group: str | None
    reasons: tuple[str, ...]


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,20}$")
    email: EmailAddress | None = None
    address: str | None = Field(default=None, max_length=300)


IDENTITY_CODE_PATTERN = (
    r"^\s*[0-3][0-9][01][0-9][0-9]{2}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-FHJ-NPR-Ya-fhj-npr-y]\s*$"
)


class PersonalDetails(BaseModel):
    """Who the person is. Sealed at rest with a key per client."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_names: str | None = Field(default=None, min_length=1, max_length=200)
    family_name: str | None = Field(default=None, min_length=1, max_length=200)
    birth_date: Day | None = None
    sex: Sex | None = None
    identity_code: IdentityCode | None = Field(
        default=None,
        # The form the validator takes (any case, spaces around); the checksum and the date
        # it carries are checked beyond what a pattern can say.
        json_schema_extra={"pattern": IDENTITY_CODE_PATTERN},
    )
    migri_customer_number: OtherIdentifier | None = None
    foreign_id: OtherIdentifier | None = None
    unhcr_number: OtherIdentifier | None = None
    contact: Contact | None = None

    def identifiers(self) -> dict[IdentifierKind, str]:
        values = {kind: getattr(self, kind.value) for kind in IdentifierKind}
        return {kind: value for kind, value in values.items() if value}

    def merged(self, newer: PersonalDetails) -> PersonalDetails:
        """These details with every field that ``newer`` sets replaced."""
        known = self.model_dump(exclude_none=True)
        changes = newer.model_dump(exclude_unset=True, exclude_none=True)
        if "contact" in changes and "contact" in known:
            # A new address keeps the known phone and email, and so on.
            changes["contact"] = {**known["contact"], **changes["contact"]}
        return type(self).model_validate({**known, **changes})

    @model_validator(mode="before")
    @classmethod
    def _birth_date_from_code(cls, data: Any) -> Any:
        """An identity code carries the birth date: no one need type it again."""
        if isinstance(data, dict) and data.get("identity_code") and not data.get("birth_date"):
            try:
                code = validate_identity_code(str(data["identity_code"]))
            except ValueError:
                return data  # the field's own check says what is wrong
            return {**data, "birth_date": birth_date_of(code)}
        return data

    @model_validator(mode="after")
    def _code_agrees_with_birth_date(self) -> PersonalDetails:
        if (
            self.identity_code
            and self.birth_date
            and birth_date_of(self.identity_code) != self.birth_date
        ):
            raise InvalidValueError("identity_code_birth_date_mismatch", at="/birth_date")
        return self


# --- events ---


PERSONAL: dict[str, Any] = {"x-personal": True}
"""Marks a field that holds personal data: it is null once the client is erased, consumers
must forget it on ``ClientErased``, and the auditors' replay leaves it out."""

_READ_FACTS = "Deprecated: kept for consumers of schema version 1; read `facts`."
_DEPRECATED: dict[str, Any] = {"deprecated": True}


class PersonName(BaseModel):
    model_config = ConfigDict(frozen=True)

    given_names: str | None = None
    family_name: str | None = None


class _Named(EventData):
    """Carries the client's name, taken from the stored event's sealed personal details (so
    it is null for a client whose key was destroyed): staff lists need a name to be usable."""

    name: PersonName | None = Field(default=None, json_schema_extra=PERSONAL)
    identity_code: str | None = Field(
        default=None,
        json_schema_extra=PERSONAL,
        description="The Finnish personal identity code, where known: the national data store "
        "and the state's compensation name the person by it (681/2023 §73(1)(1)).",
    )
    birth_date: Day | None = Field(
        default=None,
        json_schema_extra=PERSONAL,
        description="Compensation depends on age to the day (Decree 872/2024 §1(1)).",
    )

    @model_validator(mode="before")
    @classmethod
    def _name_from_personal(cls, data: Any) -> Any:
        if isinstance(data, dict) and "name" not in data and data.get("personal") is not None:
            personal = data["personal"]
            fields = personal if isinstance(personal, dict) else vars(personal)
            data = {
                **data,
                "name": PersonName(
                    given_names=fields.get("given_names"), family_name=fields.get("family_name")
                ),
                "identity_code": fields.get("identity_code"),
                "birth_date": fields.get("birth_date"),
            }
        return data


FLAT_FACTS = (
    "registered_jobseeker",
    "trafficking_victim",
    "home_municipality",
    "mother_tongue",
    "service_languages",
    "interpreter_language",
    "needs_interpreter",
    "residence_permit",
)
"""The facts ``ClientRegisteredData`` also carries flat, for consumers of schema version 1."""


class ClientRegisteredData(_Named):
    client_id: UUID
    relationship_started_on: Day = Field(
        description="Start of the client relationship: the day statutory periods count from."
    )
    registered_jobseeker: bool = Field(description=_READ_FACTS, json_schema_extra=_DEPRECATED)
    trafficking_victim: bool = Field(
        default=False,
        description=f"A victim of trafficking (681/2023 §14(6), §20(4)). {_READ_FACTS}",
        json_schema_extra=_DEPRECATED,
    )
    home_municipality: str | None = Field(
        default=None,
        description=f"Statistics Finland code. {_READ_FACTS}",
        json_schema_extra=_DEPRECATED,
    )
    mother_tongue: str | None = Field(
        default=None,
        description=f"ISO 639-1 (or 639-3) code. {_READ_FACTS}",
        json_schema_extra=_DEPRECATED,
    )
    service_languages: tuple[str, ...] = Field(
        default=(),
        description=f"Languages the client can be served in. {_READ_FACTS}",
        json_schema_extra=_DEPRECATED,
    )
    interpreter_language: str | None = Field(
        default=None, description=_READ_FACTS, json_schema_extra=_DEPRECATED
    )
    needs_interpreter: bool = Field(
        default=False, description=_READ_FACTS, json_schema_extra=_DEPRECATED
    )
    responsible_organisation: str
    age_group: str | None = Field(default=None, description="0-6, 7-17, 18-29, 30-64 or 65+.")
    residence_permit: ResidencePermit | None = Field(
        default=None, description=_READ_FACTS, json_schema_extra=_DEPRECATED
    )
    source: str | None = Field(default=None, description="staff, or the system it came from.")
    facts: ClientFacts | None = Field(
        default=None,
        description="All the facts as registered: read these (the flat fields are some of them, "
        "kept for consumers of schema version 1). A body published before they were carried "
        "gets them from its flat fields, the facts it did not carry at their defaults, so every "
        "validated event has them.",
    )

    @model_validator(mode="after")
    def _facts_from_flat_fields(self) -> ClientRegisteredData:
        """One rule for readers: ``facts``, always. A version-1 body without them gets them
        from its flat fields; flat values the facts' rules refuse (intake publishes them from
        valid facts, so only a foreign body could) are kept as published, not refused: a body
        version 1 accepted stays accepted."""
        if self.facts is None:
            flat = {name: getattr(self, name) for name in FLAT_FACTS}
            try:
                facts = ClientFacts.model_validate(flat)
            except ValidationError:
                facts = ClientFacts.model_construct(**flat)
            object.__setattr__(self, "facts", facts)  # frozen: set once, while validating
            self.__pydantic_fields_set__.add("facts")
        return self

    @property
    def client_facts(self) -> ClientFacts:
        """The facts, typed as always there (the validator fills them)."""
        assert self.facts is not None
        return self.facts


class ClientRegistered(PublicEvent):
    """A client relationship started: intake registered the person and who answers for them."""

    data: ClientRegisteredData


class EligibilityDeterminedData(EventData):
    client_id: UUID
    eligibility: Eligibility
    decided_on: Day = Field(description="The business date whose law decided.")
    responsible_organisation: str


class EligibilityDetermined(PublicEvent):
    """Whether the client is in scope of the integration law, and in which group."""

    data: EligibilityDeterminedData


class ResponsibilityAssignedData(EventData):
    client_id: UUID
    organisation: str


class ResponsibilityAssigned(PublicEvent):
    """The organisation that answers for the client's assessment and plan, first assigned."""

    data: ResponsibilityAssignedData


class ResponsibilityTransferredData(EventData):
    client_id: UUID
    from_organisation: str
    to_organisation: str
    reason: str


class ResponsibilityTransferred(PublicEvent):
    """Another organisation answers for the client from ``occurred_at`` on."""

    data: ResponsibilityTransferredData


class ClientFactsChangedData(EventData):
    client_id: UUID
    facts: ClientFacts
    cause: str = Field(description="staff, or the inbound message type that changed them.")
    effective_on: Day


class ClientFactsChanged(PublicEvent):
    """The client's status facts changed (all of them, as they now are)."""

    data: ClientFactsChangedData


class ClientDetailsCorrectedData(_Named):
    client_id: UUID
    reason: str


class ClientDetailsCorrected(PublicEvent):
    """Personal details were corrected (what changed is personal and stays in intake)."""

    data: ClientDetailsCorrectedData


class WorkerAssignedData(EventData):
    client_id: UUID
    worker: str = Field(description="The staff id of the caseworker who handles the client.")


class WorkerAssigned(PublicEvent):
    """A caseworker was named for the client (caseload lists are per worker)."""

    data: WorkerAssignedData


class ClientsMergedData(EventData):
    client_id: UUID = Field(description="The client that remains.")
    duplicate_id: UUID = Field(description="The duplicate, closed from now on.")
    reason: str


class ClientsMerged(PublicEvent):
    """One person was registered twice; the duplicate's history now belongs to ``client_id``."""

    data: ClientsMergedData


class ClientClosedData(EventData):
    client_id: UUID
    reason: str


class ClientClosed(PublicEvent):
    """The client relationship ended."""

    data: ClientClosedData


class ClientErasedData(EventData):
    client_id: UUID
    legal_ground: str


class ClientErased(PublicEvent):
    """The person's data was erased: every copy of it must go; statistics may stay."""

    data: ClientErasedData


# --- the data subject's rights (GDPR Art. 15 and 18) ---


class ProcessingRestrictedData(EventData):
    client_id: UUID
    reason: str = Field(
        description="Why, e.g. the person contests the accuracy of the data (GDPR Art. 18(1)(a))."
    )


class ProcessingRestricted(PublicEvent):
    """The client's data is kept but not used (GDPR Art. 18): reads show only that it is
    restricted, nothing is sent about the client, exports leave the client out, until lifted.
    Who, when and why travel in the envelope and ``reason``."""

    data: ProcessingRestrictedData


class RestrictionLiftedData(EventData):
    client_id: UUID
    reason: str


class RestrictionLifted(PublicEvent):
    """The restriction of processing ended (GDPR Art. 18(3)): the client's data is used again."""

    data: RestrictionLiftedData


class SubjectAccessRequestedData(EventData):
    client_id: UUID
    request_id: str = Field(description="The request's own id (several may be made).")
    requested_on: Day = Field(description="The day the request was received.")
    due_on: Day = Field(
        description='The last day to give the copy: "within one month of receipt of the '
        'request" (GDPR Art. 12(3)), counted by Act 150/1930 §3 and §5.'
    )


class SubjectAccessRequested(PublicEvent):
    """The person asked for a copy of their data (GDPR Art. 15); the one-month limit runs."""

    data: SubjectAccessRequestedData


class SubjectAccessDeliveredData(EventData):
    client_id: UUID
    request_id: str
    delivered_on: Day
    due_on: Day
    in_time: bool = Field(description="Delivered on or before ``due_on``.")


class SubjectAccessDelivered(PublicEvent):
    """The copy was given to the person."""

    data: SubjectAccessDeliveredData


# --- retention (shared/retention) ---


class LegalHoldPlacedData(EventData):
    client_id: UUID
    hold_id: str = Field(description="The hold's own id (several may be in force).")
    reason: str = Field(description="Why: a dispute, an audit, a request under GDPR Art. 18.")


class LegalHoldPlaced(PublicEvent):
    """The client's retention clocks stop: nothing of theirs goes while a hold is in force."""

    data: LegalHoldPlacedData


class LegalHoldLiftedData(EventData):
    client_id: UUID
    hold_id: str
    reason: str


class LegalHoldLifted(PublicEvent):
    """A hold ended; the clocks run on, longer by the time it stopped them."""

    data: LegalHoldLiftedData


class RecordsExpiredData(EventData):
    client_id: UUID
    retention_class: str = Field(
        description="The retention class that went (shared/retention/retention.toml)."
    )
    rule: str = Field(description="The class's period, clock and the source of the period.")
    expired_on: Day = Field(description="The business day it went.")
    forgets_personal: bool = Field(
        description="The person's identity went: every copy of it must go, as on ClientErased."
    )


class RecordsExpired(PublicEvent):
    """A retention class of the client ran out and its keys were destroyed."""

    data: RecordsExpiredData
