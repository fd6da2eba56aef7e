"""Which failures a retry cannot mend."""

from __future__ import annotations

from pydantic import ValidationError

from shared.contracts.envelope import ContractError
from shared.errors import (
    ConcurrentUpdateError,
    DomainError,
    InconsistentStateError,
    NotFoundError,
    NotYetError,
)

# A message that fails with one of these fails the same way every time: it is dead-lettered at
# once with the reason. Anything else (database or broker down, a timeout) is retried.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ContractError,
    DomainError,
    LookupError,
    ValueError,
    TypeError,
    AssertionError,
)


# Raised while a message is handled, a NotFoundError means that our own records lack what
# another of our records names (an event's client, a lookup's client): the message is not at
# fault, so it is retried like an outage, and the failure is reported as an inconsistency.
INCONSISTENCIES: tuple[type[Exception], ...] = (InconsistentStateError, NotFoundError)


def is_permanent(error: Exception) -> bool:
    """Whether the message itself is at fault, so that no retry can mend it."""
    return isinstance(error, PERMANENT_ERRORS) and not isinstance(
        error, (ConcurrentUpdateError, NotYetError, *INCONSISTENCIES)
    )


def is_not_yet(error: Exception) -> bool:
    """Whether the message may apply once another has arrived."""
    return isinstance(error, NotYetError)


def is_inconsistency(error: Exception) -> bool:
    return isinstance(error, INCONSISTENCIES)


def reason(error: Exception) -> str:
    """The reason a person reads in a dead letter or a log: never the input itself, which may
    hold personal data (pydantic's own message repeats the offending values)."""
    if isinstance(error, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(value)'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        )
        return f"ValidationError: {fields}"[:2000]
    return f"{type(error).__name__}: {error}"[:2000]
