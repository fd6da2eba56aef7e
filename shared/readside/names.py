"""Names in the read side, sealed with a key per client (crypto-shredding, as in intake).

The read side keeps its own keys, wrapped under a key derived from the master key, so it
never reads intake's key store. Sealing is deterministic (AES-SIV, the client id as
associated data): the same name of the same client seals to the same bytes, which keeps a
rebuilt projection equal to the live one row for row. Forgetting a client's key — on
``ClientErased`` — leaves whatever copies of the sealed name survive unreadable.
"""

from __future__ import annotations

import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from shared.crypto import derive

NONCE_BYTES = 12


class NameSeal:
    def __init__(self, master_key: bytes) -> None:
        self._wrapping = AESGCM(derive(master_key, "kotoutus read-side name-key wrapping"))

    def new_key(self, client_id: UUID) -> bytes:
        """A fresh client key, wrapped for storing."""
        nonce = os.urandom(NONCE_BYTES)
        key = AESSIV.generate_key(bit_length=512)
        return nonce + self._wrapping.encrypt(nonce, key, str(client_id).encode())

    def _key(self, client_id: UUID, wrapped: bytes) -> AESSIV:
        key = self._wrapping.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], str(client_id).encode()
        )
        return AESSIV(key)

    def seal(self, client_id: UUID, wrapped: bytes, text: str | None) -> bytes | None:
        if text is None:
            return None
        return self._key(client_id, wrapped).encrypt(text.encode(), [str(client_id).encode()])

    def open(self, client_id: UUID, wrapped: bytes | None, sealed: bytes | None) -> str | None:
        """The name, or None when there is none or its key is gone (or another master key
        sealed it: a name is never worth failing a whole list for)."""
        if wrapped is None or sealed is None:
            return None
        try:
            return self._key(client_id, wrapped).decrypt(sealed, [str(client_id).encode()]).decode()
        except InvalidTag:
            return None
