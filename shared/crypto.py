"""The deployment's master key, and the keys derived from it for each purpose."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.settings import Settings


def derive(master_key: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master_key
    )


def master_key_from_file(path: Path) -> bytes:
    """Embedded mode's master key: made once, readable by the owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(AESGCM.generate_key(bit_length=256))
    return path.read_bytes()


def master_key(settings: Settings) -> bytes:
    """KOTOUTUS_MASTER_KEY; embedded mode makes one in its data folder when unset."""
    configured = settings.master_key_bytes()
    if configured is not None:
        return configured
    if settings.database_url:
        raise ValueError("distributed mode needs KOTOUTUS_MASTER_KEY (base64 of 32 bytes)")
    return master_key_from_file(settings.data_dir / "master.key")


class PerClientSeal:
    """Deterministic sealing under a key per client (AES-SIV), the client keys wrapped
    (AES-GCM) under a key derived from the master key for ``purpose``; the client id is bound
    into both. The same plaintext of the same client seals to the same bytes (a rebuilt
    projection equals the live one), and destroying a client's wrapped key leaves every copy
    of what it sealed unreadable (crypto-shredding). Where the wrapped keys are stored is the
    caller's business."""

    NONCE_BYTES = 12

    def __init__(self, master_key: bytes, purpose: str) -> None:
        self._wrapping = AESGCM(derive(master_key, purpose))

    def new_key(self, client_id: UUID) -> bytes:
        """A fresh client key, wrapped for storing."""
        nonce = os.urandom(self.NONCE_BYTES)
        key = AESSIV.generate_key(bit_length=512)
        return nonce + self._wrapping.encrypt(nonce, key, client_id.bytes)

    def _cipher(self, client_id: UUID, wrapped: bytes) -> AESSIV:
        nonce, body = wrapped[: self.NONCE_BYTES], wrapped[self.NONCE_BYTES :]
        return AESSIV(self._wrapping.decrypt(nonce, body, client_id.bytes))

    def seal(self, client_id: UUID, wrapped: bytes, plain: bytes) -> bytes:
        return self._cipher(client_id, wrapped).encrypt(plain, [client_id.bytes])

    def open(self, client_id: UUID, wrapped: bytes, sealed: bytes) -> bytes:
        """Raises ``cryptography.exceptions.InvalidTag`` for bytes this key did not seal."""
        return self._cipher(client_id, wrapped).decrypt(sealed, [client_id.bytes])

    def opener(self, client_id: UUID, wrapped: bytes) -> Callable[[bytes], bytes]:
        """``open`` for several values of one client, the key unwrapped once. Raises
        ``InvalidTag`` at once for a key another master key wrapped, and each call for bytes
        this key did not seal."""
        cipher, bound = self._cipher(client_id, wrapped), [client_id.bytes]
        return lambda sealed: cipher.decrypt(sealed, bound)
