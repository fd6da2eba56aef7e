"""Names in the read side, sealed with a key per client (crypto-shredding, as in intake).

The read side keeps its own keys (``shared.crypto.PerClientSeal``, its own purpose), so it
never reads intake's key store. Sealing is deterministic, which keeps a rebuilt projection
equal to the live one row for row. Forgetting a client's key — on ``ClientErased`` — leaves
whatever copies of the sealed name survive unreadable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from cryptography.exceptions import InvalidTag

from shared.crypto import PerClientSeal


class NameSeal:
    def __init__(self, master_key: bytes) -> None:
        self._seal = PerClientSeal(master_key, "kotoutus read-side name-key wrapping")

    def new_key(self, client_id: UUID) -> bytes:
        return self._seal.new_key(client_id)

    def seal(self, client_id: UUID, wrapped: bytes, text: str | None) -> bytes | None:
        return None if text is None else self._seal.seal(client_id, wrapped, text.encode())

    def open(self, client_id: UUID, wrapped: bytes | None, sealed: bytes | None) -> str | None:
        """The name, or None when there is none or its key is gone (or another master key
        sealed it: a name is never worth failing a whole list for)."""
        if wrapped is None or sealed is None:
            return None
        return self.open_all(client_id, wrapped, [sealed])[0]

    def open_all(
        self, client_id: UUID, wrapped: bytes | None, sealed: Sequence[bytes | None]
    ) -> list[str | None]:
        """``open`` for each of the client's ``sealed`` names, the key unwrapped once."""
        if wrapped is None or all(value is None for value in sealed):
            return [None] * len(sealed)
        try:
            opening = self._seal.opener(client_id, wrapped)
        except InvalidTag:
            return [None] * len(sealed)
        return [_opened(opening, value) for value in sealed]


def _opened(opening: Callable[[bytes], bytes], sealed: bytes | None) -> str | None:
    if sealed is None:
        return None
    try:
        return opening(sealed).decode()
    except InvalidTag:
        return None
