"""Seals the ``personal`` part of intake's events with the client's own key.

The rest of each event stays readable, so statistics, replays and the hash chain survive an
erasure; once the key is gone, every stored event of that client decodes with
``personal = None`` — the tombstone readers see."""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Compressor, Mapper, StoredEvent, Transcoder

from services.intake.keys import NONCE_BYTES, ClientKeys
from shared.failpoints import failpoint

PERSONAL = "personal"
SEALED = "personal_sealed"


class PersonalDataMapper(Mapper[UUID]):
    def __init__(
        self, transcoder: Transcoder, keys: ClientKeys, compressor: Compressor | None = None
    ) -> None:
        super().__init__(transcoder, compressor=compressor)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        if state.get(PERSONAL) is None:
            return super().to_stored_event(domain_event)
        client_id = domain_event.originator_id
        key = self.keys.key(client_id, create=True)
        assert key is not None
        # The key is stored by a transaction of its own, the events by the next one.
        failpoint("intake.key_made")
        nonce = os.urandom(NONCE_BYTES)
        plain = self.transcoder.encode({PERSONAL: state[PERSONAL]})
        sealed = nonce + AESGCM(key).encrypt(nonce, plain, _context(domain_event))
        state[PERSONAL] = None
        state[SEALED] = base64.b64encode(sealed).decode()
        stand_in: Any = object.__new__(type(domain_event))
        object.__setattr__(stand_in, "__dict__", state)
        return super().to_stored_event(stand_in)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = vars(domain_event)
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            key = self.keys.key(domain_event.originator_id, create=False)
            if key is not None:
                raw = base64.b64decode(sealed)
                plain = AESGCM(key).decrypt(
                    raw[:NONCE_BYTES], raw[NONCE_BYTES:], _context(domain_event)
                )
                state[PERSONAL] = self.transcoder.decode(plain)[PERSONAL]
        return domain_event


def _context(event: DomainEventProtocol[UUID]) -> bytes:
    # Binds the sealed part to its event: it cannot be moved to another event or client.
    return f"{event.originator_id}:{event.originator_version}".encode()
