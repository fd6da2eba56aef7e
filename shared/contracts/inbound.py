"""Messages other municipal systems send to intake: CloudEvents 1.0 (structured JSON), one
``type`` per kind of fact, versioned by its suffix (``….v1``).

Delivery: AMQP exchange ``<prefix>.inbound`` (any routing key), or ``POST /inbound``. The pair
(``source``, ``id``) identifies a message: the same pair is accepted once.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.contracts.envelope import ContractError
from shared.contracts.intake import PersonalDetails, ResidencePermit
from shared.errors import InvalidValueError


class PersonRef(PersonalDetails):
    """Who the message is about: at least one identifier; names and birth date if known."""

    @model_validator(mode="after")
    def _identified(self) -> PersonRef:
        if not self.identifiers():
            raise InvalidValueError("person_identifier_required")
        return self


class InboundData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    TYPE: ClassVar[str]
    CREATES_CLIENT: ClassVar[bool] = True
    EXAMPLE: ClassVar[dict[str, Any]]
    person: PersonRef

    def facts(self) -> dict[str, Any]:
        """The client's facts as this message changes them."""
        return {}

    def effective_on(self) -> date:
        raise NotImplementedError

    def personal(self) -> PersonalDetails:
        """What the message says about the person."""
        return PersonalDetails.model_validate(self.person.model_dump(exclude_none=True))


class _On(InboundData):
    on: date

    def effective_on(self) -> date:
        return self.on


class HomeMunicipalityRegistered(InboundData):
    """Population register (DVV): the person got a home municipality."""

    TYPE = "fi.dvv.home-municipality-registered.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "municipality": "320",
        "since": "2025-02-03",
    }
    municipality: str = Field(pattern=r"^\d{3}$")
    since: date
    first_registered_on: date | None = Field(
        default=None,
        description=(
            "When the person's first home municipality in Finland was registered, where the "
            "register says: the state's compensation counts from it (681/2023 §59(2))."
        ),
    )

    @model_validator(mode="after")
    def _first_is_not_later(self) -> HomeMunicipalityRegistered:
        if self.first_registered_on is not None and self.first_registered_on > self.since:
            raise InvalidValueError("first_registered_after_since", at="/first_registered_on")
        return self

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "home_municipality": self.municipality,
            "home_municipality_since": self.since,
        }
        if self.first_registered_on is not None:
            facts["first_home_municipality_on"] = self.first_registered_on
        return facts

    def effective_on(self) -> date:
        return self.since


class AddressChanged(_On):
    """Population register (DVV): a new address (personal data)."""

    TYPE = "fi.dvv.address-changed.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "address": "Kauppakatu 1 A 2, 98100 Kemijärvi",
        "on": "2025-02-10",
    }
    CREATES_CLIENT = False
    address: str = Field(min_length=1, max_length=300)

    def personal(self) -> PersonalDetails:
        known = self.person.model_dump(exclude_none=True)
        return PersonalDetails.model_validate({**known, "contact": {"address": self.address}})


class MovedAway(_On):
    """Population register (DVV): the person moved to another municipality or abroad."""

    TYPE = "fi.dvv.moved-away.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "municipality": "698",
        "on": "2025-06-01",
    }
    CREATES_CLIENT = False
    municipality: str | None = Field(default=None, pattern=r"^\d{3}$", description="new one")

    def facts(self) -> dict[str, Any]:
        return {"home_municipality": self.municipality, "home_municipality_since": self.on}


class Died(_On):
    """Population register (DVV): the person died."""

    TYPE = "fi.dvv.died.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-07-01"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"deceased": True}


class ResidencePermitGranted(InboundData):
    """Migri: a residence permit was granted or changed."""

    TYPE = "fi.migri.residence-permit-granted.v1"
    EXAMPLE = {
        "person": {
            "migri_customer_number": "1234567",
            "given_names": "Olena",
            "family_name": "Kovalenko",
            "birth_date": "1985-04-12",
        },
        "permit": {
            "type": "temporary_protection",
            "ground_section": "109",
            "first_permit_on": "2024-11-20",
        },
        "decided_on": "2024-11-20",
    }
    permit: ResidencePermit
    decided_on: date

    def facts(self) -> dict[str, Any]:
        return {"residence_permit": self.permit.model_dump()}

    def effective_on(self) -> date:
        return self.decided_on


class CitizenshipGranted(_On):
    """Migri: the person became a Finnish citizen."""

    TYPE = "fi.migri.citizenship-granted.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2030-01-15"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"finnish_citizen": True}


class JobseekerRegistrationStarted(_On):
    """Employment services: the person registered as a jobseeker."""

    TYPE = "fi.employment.jobseeker-registration-started.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-03-03", "unemployed": True}
    unemployed: bool | None = Field(
        default=None,
        description=(
            "Whether the jobseeker is unemployed (Act 681/2023 §5(7)); from 2025 that, not "
            "the registration, gives an assessment (§14(1)(1)). Absent: not said."
        ),
    )

    def facts(self) -> dict[str, Any]:
        said = {} if self.unemployed is None else {"unemployed": self.unemployed}
        return {"registered_jobseeker": True, **said}


class JobseekerRegistrationEnded(_On):
    """Employment services: the jobseeker registration ended."""

    TYPE = "fi.employment.jobseeker-registration-ended.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-09-30"}
    CREATES_CLIENT = False

    def facts(self) -> dict[str, Any]:
        return {"registered_jobseeker": False, "unemployed": False}


class SocialAssistanceGranted(_On):
    """Wellbeing services county: social assistance was granted."""

    TYPE = "fi.wellbeing.social-assistance-granted.v1"
    EXAMPLE = {
        "person": {"identity_code": "131052-308T"},
        "non_temporary": True,
        "on": "2025-02-14",
    }
    non_temporary: bool = Field(description="Other than temporary (decides the group).")

    def facts(self) -> dict[str, Any]:
        return {"non_temporary_social_assistance": self.non_temporary}


class ChildHomeCareAllowanceGranted(_On):
    """Wellbeing services county (Kela decision): child home care allowance."""

    TYPE = "fi.wellbeing.child-home-care-allowance-granted.v1"
    EXAMPLE = {"person": {"identity_code": "131052-308T"}, "on": "2025-04-01"}

    def facts(self) -> dict[str, Any]:
        return {"child_home_care_allowance": True}


class ReceptionClientPlaced(_On):
    """Reception centre: the person was placed in the centre."""

    TYPE = "fi.reception.client-placed.v1"
    EXAMPLE = {
        "person": {
            "unhcr_number": "UNHCR-123-45678",
            "given_names": "Amina",
            "family_name": "Hassan",
        },
        "centre": "SPR Kemijärvi",
        "international_protection": True,
        "on": "2025-01-20",
    }
    centre: str = Field(min_length=1, max_length=200)
    international_protection: bool = False
    unaccompanied_minor: bool = False

    def facts(self) -> dict[str, Any]:
        return {
            "international_protection": self.international_protection,
            "unaccompanied_minor": self.unaccompanied_minor,
        }


class ReceptionClientLeft(_On):
    """Reception centre: the person left the centre."""

    TYPE = "fi.reception.client-left.v1"
    EXAMPLE = {
        "person": {"unhcr_number": "UNHCR-123-45678"},
        "centre": "SPR Kemijärvi",
        "on": "2025-05-31",
    }
    CREATES_CLIENT = False
    centre: str = Field(min_length=1, max_length=200)


INBOUND: dict[str, type[InboundData]] = {
    model.TYPE: model
    for model in (
        HomeMunicipalityRegistered,
        AddressChanged,
        MovedAway,
        Died,
        ResidencePermitGranted,
        CitizenshipGranted,
        JobseekerRegistrationStarted,
        JobseekerRegistrationEnded,
        SocialAssistanceGranted,
        ChildHomeCareAllowanceGranted,
        ReceptionClientPlaced,
        ReceptionClientLeft,
    )
}


class CloudEvent(BaseModel):
    """CloudEvents 1.0 attributes in structured JSON mode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500, examples=["urn:fi:dvv:vtj"])
    type: str = Field(examples=[HomeMunicipalityRegistered.TYPE])
    time: AwareDatetime
    subject: str | None = Field(default=None, max_length=500)
    dataschema: str | None = Field(default=None, max_length=500)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    def payload(self) -> InboundData:
        model = INBOUND.get(self.type)
        if model is None:
            raise ContractError(f"unknown type {self.type!r}; known: {', '.join(sorted(INBOUND))}")
        try:
            return model.model_validate(self.data)
        except ValidationError as error:
            raise ContractError(f"{self.type}: {_fields(error, 'data')}", at="/data") from error


def parse_inbound(body: bytes | str) -> tuple[CloudEvent, InboundData]:
    try:
        envelope = CloudEvent.model_validate_json(body)
    except ValidationError as error:
        raise ContractError(f"not a CloudEvents 1.0 JSON message: {_fields(error)}") from error
    return envelope, envelope.payload()


def _fields(error: ValidationError, prefix: str = "") -> str:
    parts = []
    for e in error.errors():
        loc = ".".join([prefix, *(str(p) for p in e["loc"])] if prefix else map(str, e["loc"]))
        parts.append(f"{loc or '(body)'}: {e['msg']}")
    return "; ".join(parts)


def example(
    model: type[InboundData], message_id: str = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
) -> dict[str, Any]:
    """A complete CloudEvent of ``model``'s type, as a sender would publish it."""
    return {
        "specversion": "1.0",
        "id": message_id,
        "source": "urn:fi:" + model.TYPE.split(".")[1],
        "type": model.TYPE,
        "time": "2025-02-03T08:15:00+02:00",
        "datacontenttype": "application/json",
        "data": model.EXAMPLE,
    }
