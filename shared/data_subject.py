"""What every service answers about a client whose processing is restricted (GDPR Art. 18):
only that it is; the data is kept, not used, until the restriction is lifted."""

from __future__ import annotations

from shared.errors import DomainError


class ProcessingRestrictedError(DomainError):
    code = "processing_restricted"
