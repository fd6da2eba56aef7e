"""Personal details of client messages (the address, the name in the letter), sealed under a
key per client, as in intake and the read side (crypto-shredding).

The event store keeps only the sealed bytes; the client keys live in a table of the service's
own database (``shared.client_keys``). ``ClientErased`` destroys the client's key, after which
the sealed details in the stored events can no longer be read by anyone, and no new letter is
sealed for the person.
"""

from __future__ import annotations

from typing import Any

from services.notifications.letters import RETENTION_CLASS
from shared.client_keys import ClientErasedError, KeyErasedError, StoredClientKeys

__all__ = ["RETENTION_CLASS", "ClientErasedError", "ClientKeys", "KeyErasedError"]

TABLE = "notification_client_keys"


class ClientKeys(StoredClientKeys):
    def __init__(self, recorder: Any, master_key: bytes) -> None:
        super().__init__(
            recorder,
            master_key,
            table=TABLE,
            purpose="kotoutus notifications client-key wrapping",
            # The one class this store seals (its keys before classes were this class's).
            retention_class=RETENTION_CLASS,
        )
