"""The deployment's master key, and the keys derived from it for each purpose."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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
