"""ISO 639 language codes: two-letter where one exists, three-letter otherwise (Dari `prs`)."""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field

from shared.errors import InvalidValueError


def validate_language(value: str) -> str:
    code = value.strip().lower()
    found = (
        pycountry.languages.get(alpha_2=code)
        if len(code) == 2
        else pycountry.languages.get(alpha_3=code)
    )
    if found is None:
        raise InvalidValueError("language_code")  # not the value: it may be personal
    # A three-letter code of a language that has a two-letter one is stored as the two-letter.
    return str(getattr(found, "alpha_2", None) or code)


def validate_country(value: str) -> str:
    code = value.strip().upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise InvalidValueError("country_code")
    return code


# The patterns give the form the validators take (any case, spaces around); whether the code
# is in the ISO registry is checked beyond them.
LanguageCode = Annotated[
    str,
    AfterValidator(validate_language),
    Field(examples=["uk"], json_schema_extra={"pattern": r"^\s*[A-Za-z]{2,3}\s*$"}),
]
CountryCode = Annotated[
    str,
    AfterValidator(validate_country),
    Field(examples=["UA"], json_schema_extra={"pattern": r"^\s*[A-Za-z]{2}\s*$"}),
]
