"""Which failures a retry cannot mend."""

from __future__ import annotations

from shared.contracts.envelope import ContractError
from shared.errors import ConcurrentUpdateError, DomainError

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


def is_permanent(error: Exception) -> bool:
    return isinstance(error, PERMANENT_ERRORS) and not isinstance(error, ConcurrentUpdateError)


def reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
