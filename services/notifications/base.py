"""What each job of notifications works with: its store and settings, the clock, the directory
and the client keys, and the two books it keeps of each client — the reminder book
(``ClientReminders``: a reminder per deadline) and the client's letters (``ClientOutbox``, the
stored name: every message decided about the client, and what became of it; see ``letters``).

``NotificationsApplication`` (``application``) is this base with its three jobs.
"""

from __future__ import annotations

import random
from typing import ClassVar
from uuid import UUID

from services.notifications.delivery.config import DeliverySettings
from services.notifications.directory import Directory
from services.notifications.domain import ClientReminders
from services.notifications.index import MessageIndex
from services.notifications.keys import ClientKeys
from services.notifications.outbox import ClientOutbox
from shared.clock import Clock, utc_now
from shared.crypto import master_key
from shared.errors import NotFoundError
from shared.eventstore import ServiceApplication
from shared.law.rulebook import RuleBook
from shared.settings import Settings
from shared.values import OrganisationKind, Provenance


class NotificationsBase(ServiceApplication):
    # eventsourcing names the store's tables after the application: every class of it keeps
    # this one name.
    name = "notifications"
    service_name: ClassVar[str] = "notifications"

    def __init__(
        self,
        settings: Settings,
        env: dict[str, str],
        book: RuleBook | None = None,
        *,
        delivery: DeliverySettings | None = None,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(settings, env, book)
        delivery = delivery or DeliverySettings()
        if "outbox_dir" not in delivery.model_fields_set:
            # Embedded default: the .eml and SMS files beside the service's other data.
            delivery = delivery.model_copy(update={"outbox_dir": settings.data_dir / "outbox"})
        self.delivery = delivery
        self.clock = clock
        self.directory = Directory.load(delivery.directory)
        self.keys = ClientKeys(self.recorder, master_key(settings))
        self.rng = random.Random()  # spreads the retries of failed attempts
        self.index = MessageIndex(self)

    def _provenance(self, organisation: str | None = None) -> Provenance:
        return Provenance.system(
            self.service_name,
            organisation or self.settings.organisation(OrganisationKind.MUNICIPALITY),
            self.clock(),
        )

    # --- the reminder book ---

    def reminders_of(self, client_id: UUID) -> ClientReminders:
        try:
            return self.load(ClientReminders.create_id(client_id), ClientReminders)
        except NotFoundError:
            raise NotFoundError(f"reminders of client {client_id}") from None

    def _reminders(self, client_id: UUID, provenance: Provenance) -> ClientReminders:
        """The client's reminder book, opened with ``provenance`` if there is none yet."""
        reminders = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        return reminders or ClientReminders(client_id=client_id, provenance=provenance)

    # --- the letters ---

    def letters_of(self, client_id: UUID) -> ClientOutbox:
        try:
            return self.load(ClientOutbox.create_id(client_id), ClientOutbox)
        except NotFoundError:
            raise NotFoundError(f"messages of client {client_id}") from None

    def _letters(self, client_id: UUID, provenance: Provenance) -> ClientOutbox:
        """The client's letters, opened with ``provenance`` if there are none yet."""
        letters = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
        return letters or ClientOutbox(client_id=client_id, provenance=provenance)

    # --- who answers for the client ---

    def responsible_organisation(self, client_id: UUID) -> str | None:
        """As the reminder book last heard; for a client with no deadline yet, whoever first
        wrote to the client (e.g. an appointment letter to a new client)."""
        reminders = self.stored(ClientReminders.create_id(client_id), ClientReminders)
        known = reminders.responsible_organisation if reminders is not None else None
        if known is None:
            letters = self.stored(ClientOutbox.create_id(client_id), ClientOutbox)
            return letters.opened_by if letters is not None else None
        return known
