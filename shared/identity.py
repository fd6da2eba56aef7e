"""Personal identifiers: validation, normal form, and keyed lookup digests.

A personal identity code space is small enough to brute-force, so a lookup key derived from
one is an HMAC under a secret, never a plain hash (DESIGN.md §3)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat
from stdnum.fi import hetu

from shared.clock import utc_now
from shared.errors import InvalidValueError


class IdentifierKind(StrEnum):
    IDENTITY_CODE = "identity_code"  # henkilötunnus
    MIGRI_CUSTOMER_NUMBER = "migri_customer_number"
    FOREIGN_ID = "foreign_id"
    UNHCR_NUMBER = "unhcr_number"


def validate_identity_code(value: str) -> str:
    """All 11 characters, century sign included: 010190-999W and 010190Y999W are two people."""
    code = value.strip().upper()
    if len(code) != 11:
        raise InvalidValueError("identity_code_length")
    try:
        # Individual numbers 900–999 are temporary codes: valid, and kept as such.
        code = str(hetu.validate(code, allow_temporary=True))
    except InvalidChecksum:
        raise InvalidValueError("identity_code_check") from None
    except InvalidComponent:
        raise InvalidValueError("identity_code_date") from None
    except InvalidFormat:
        raise InvalidValueError("identity_code_format") from None
    return code


# Validation context under which stored history is read (see shared.eventstore): what was
# accepted when it was written is read as it was, even where input is checked more strictly now.
STORED = "stored"


def not_born_after_today(code: str, info: ValidationInfo) -> str:
    # The check character cannot tell a wrong century sign: no one is born after today.
    if (info.context or {}).get(STORED):
        return code
    if birth_date_of(code) > utc_now().date():
        raise InvalidValueError("identity_code_in_future")
    return code


_CENTURY = {"+": 1800} | dict.fromkeys("-YXWVU", 1900) | dict.fromkeys("ABCDEF", 2000)


def birth_date_of(code: str) -> date:
    """The birth date a well-formed code carries (DDMMYY and the century sign); a temporary
    code carries a real one too."""
    return date(_CENTURY[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))


def is_temporary(code: str) -> bool:
    return 900 <= int(code[7:10]) <= 999


IdentityCode = Annotated[
    str,
    AfterValidator(validate_identity_code),
    AfterValidator(not_born_after_today),
    Field(examples=["131052-308T"], description="Finnish personal identity code, 11 characters."),
]
OtherIdentifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w./-]+$")]


def lookup_digest(secret: bytes, kind: IdentifierKind, value: str) -> str:
    """The keyed digest under which an identifier is looked up."""
    message = f"{kind.value}\x00{value.strip().upper()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
