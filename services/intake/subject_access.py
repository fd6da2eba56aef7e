"""A person's requests for a copy of their data (GDPR Art. 15), as the client aggregate keeps
them, and what it refuses about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import DomainError


@dataclass(frozen=True)
class SubjectAccessRequest:
    request_id: str
    requested_on: date
    due_on: date
    delivered_on: date | None = None


class UnknownSubjectAccessRequestError(DomainError):
    code = "unknown_subject_access_request"


class DeliveredBeforeRequestedError(DomainError):
    code = "delivered_before_requested"
