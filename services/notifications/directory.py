"""Who receives staff and partner messages: configuration, not events.

Addresses of staff and partners are looked up when a message is *sent*, not when it is
scheduled, so a fixed directory fixes a failed message on resend, and no address is ever
written into the event store. The file (TOML or JSON, path in ``KOTOUTUS_DIRECTORY``)::

    case_link = "https://kotoutus.example.fi/clients/{client_id}"   # optional

    [organisations."municipality:320"]
    name = "Kemijärven kaupunki"
    language = "fi"                                  # staff language; default the official one
    inbox = "kotoutus@kemijarvi.example"             # caseworkers' shared inbox: reminders
    supervisor = { name = "Liisa Lehto", email = "liisa.lehto@kemijarvi.example" }

    [workers."caseworker:anna.virtanen"]             # named by WorkerAssigned
    name = "Anna Virtanen"
    email = "anna.virtanen@kemijarvi.example"

    [partners.language_training]                     # a referral service or an organisation id
    name = "Lapin kansanopisto"
    webhook_url = "https://partner.example/kotoutus/notices"
    secret_env = "PARTNER_LAPIN_SECRET"              # env var holding the signing secret
    language = "fi"

Without a directory no staff or partner message is scheduled at all: there is nobody to send
them to. A directory without the entry a message needs fails that message with a reason
naming the missing entry (never a crash), and staff resend it once the entry is added.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from shared.contracts.records import MAILBOX_PATTERN


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Entry):
    name: str
    email: str = Field(pattern=MAILBOX_PATTERN)


class Organisation(_Entry):
    name: str
    language: str | None = None
    inbox: str | None = Field(default=None, pattern=MAILBOX_PATTERN)
    supervisor: Person | None = None


class Partner(_Entry):
    name: str
    webhook_url: str = Field(pattern=r"^https?://")
    secret_env: str
    language: str | None = None


class MissingEntryError(LookupError):
    """The directory has no address for a message's recipient."""


class Directory(_Entry):
    case_link: str | None = None
    organisations: dict[str, Organisation] = Field(default_factory=dict)
    workers: dict[str, Person] = Field(default_factory=dict)
    partners: dict[str, Partner] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> Directory | None:
        if path is None:
            return None
        raw = path.read_bytes()
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw.decode())
        return cls.model_validate(data)

    def organisation(self, organisation: str) -> Organisation:
        found = self.organisations.get(organisation)
        if found is None:
            raise MissingEntryError(f"no organisation {organisation!r} in the directory")
        return found

    def organisation_name(self, organisation: str) -> str:
        found = self.organisations.get(organisation)
        return found.name if found else organisation

    def address(self, recipient: str) -> tuple[str, str]:
        """(name, email) of a staff recipient reference."""
        kind, _, key = recipient.partition(":")
        if kind == "inbox":
            organisation = self.organisation(key)
            if organisation.inbox is None:
                raise MissingEntryError(f"organisation {key!r} has no inbox in the directory")
            return organisation.name, organisation.inbox
        if kind == "supervisor":
            organisation = self.organisation(key)
            if organisation.supervisor is None:
                raise MissingEntryError(f"organisation {key!r} has no supervisor in the directory")
            return organisation.supervisor.name, organisation.supervisor.email
        worker = self.workers.get(recipient)
        if worker is None:
            raise MissingEntryError(f"no worker {recipient!r} in the directory")
        return worker.name, worker.email

    def partner(self, key: str) -> Partner:
        found = self.partners.get(key)
        if found is None:
            raise MissingEntryError(f"no partner {key!r} in the directory")
        return found

    def webhook_secrets(self) -> dict[str, SecretStr]:
        """The partners' signing secrets by URL, read from the environment variables named."""
        return {
            partner.webhook_url: SecretStr(os.environ[partner.secret_env])
            for partner in self.partners.values()
            if os.environ.get(partner.secret_env)
        }

    def link(self, client_id: str) -> str | None:
        return self.case_link.format(client_id=client_id) if self.case_link else None
