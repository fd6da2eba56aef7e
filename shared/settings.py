"""Runtime settings, read from ``KOTOUTUS_*`` environment variables.

Nothing configured means the embedded mode: SQLite files in ``data_dir`` and in-process
delivery. Setting both ``database_url`` and ``amqp_url`` selects the distributed mode.
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.values import OrganisationKind


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOTOUTUS_", frozen=True)

    data_dir: Path = Field(
        default=Path("kotoutus-data"), description="Embedded mode: folder of the SQLite files."
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; each service uses a schema of its own."
    )
    amqp_url: str | None = Field(default=None, description="RabbitMQ URL (amqp://…).")
    amqp_prefix: str = Field(
        default="kotoutus",
        description="Prefix of every exchange and queue name, so that deployments share a vhost.",
    )
    schema_prefix: str = Field(
        default="",
        description="Prefix of the services' PostgreSQL schemas (tests use it to isolate runs).",
    )
    consumer_prefetch: int = Field(
        default=200,
        ge=1,
        le=2000,
        description=(
            "Unacknowledged messages per consumer on RabbitMQ: the window its batches are "
            "taken from. A batch is acknowledged after its commit, so the window holds the "
            "batch being stored and the next one gathering: about twice consumer_batch "
            "(measured: 8 → ~230 messages/s, 64 → ~400, 200 → ~420 through assessment)."
        ),
    )
    consumer_batch: int = Field(
        default=100,
        ge=1,
        le=1000,
        description=(
            "Most messages a consumer applies in one transaction (one tracking row each), "
            "from the prefetch window on RabbitMQ, from the log in embedded mode. A quiet "
            "consumer takes each message at once; batches form under load. Past ~25 the "
            "handlers' own reads dominate (measured: 1 → ~320, 100 → ~1100–1500 events/s "
            "applied by assessment on PostgreSQL); a larger batch only lengthens the split "
            "that isolates a message at fault."
        ),
    )
    delivery_limit: int = Field(
        default=12,
        ge=1,
        description=(
            "Deliveries of a failing message before it is dead-lettered; with the back-off "
            "(0.2 s doubling, at most 60 s) the default rides out about five minutes of outage."
        ),
    )
    wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description=(
            "How long an inbound message that cannot apply yet (it names a person no message "
            "has registered yet) waits before it is tried again. A queue argument: changing "
            "it is a migration (see the README)."
        ),
    )
    wait_rounds: int = Field(
        default=120,
        ge=0,
        description=(
            "How often such a message waits before it is dead-lettered with its reason "
            "(120 × 30 s: an hour, for the message that registers the person to arrive)."
        ),
    )
    late_entry_grace_hours: float = Field(
        default=72,
        ge=0,
        description=(
            "A deadline already past when it was recorded (a case entered late, an import "
            "with its original dates) is marked overdue only this long after its record "
            "time, so that steps taken in time are entered with their dates first."
        ),
    )
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_idle_seconds: float = Field(
        default=0.5,
        gt=0,
        description="Poll interval of log followers; writes in the same process wake them at once.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Base64 of 32 random bytes; wraps the per-client keys and keys the identifier "
            "lookups. Embedded mode makes one in data_dir/master.key when unset."
        ),
    )
    municipality_code: str = Field(default="320", description="Statistics Finland code.")
    municipality_name: str = Field(default="Kemijärvi")
    te_office_id: str = Field(
        default="te_office:lappi", description="The TE office that answered until 2024."
    )
    employment_authority_id: str = Field(
        default="employment_authority:320", description="The municipal employment area from 2025."
    )
    # --- the state's compensation (681/2023 §59(1); reports, not assumptions) ---
    integration_programme_from: date | None = Field(
        default=None,
        description=(
            "First day the municipality's integration programme covers (681/2023 §59(1) as "
            "amended by 1100/2024: compensation requires one). Kemijärvi's: 2023-01-01."
        ),
    )
    integration_programme_until: date | None = Field(
        default=None,
        description=(
            "Last day the integration programme covers; unset, the compensation report warns "
            "that none is stated. Kemijärvi's: 2025-12-31."
        ),
    )
    ely_agreement: str | None = Field(
        default=None,
        max_length=500,
        description=(
            "The agreement of 681/2023 §42 with the ELY centre that compensation requires "
            "(§59(1)), as the report should name it; unset, the report warns."
        ),
    )
    old_law_assessment_euros: Decimal | None = Field(
        default=None,
        ge=0,
        description=(
            "The old law's calculated compensation per initial assessment (1386/2010 §50; the "
            "amount is set by decree and is not in the law texts): unconfirmed. Unset, the "
            "old-law report gives the count and the persons but no euro sum."
        ),
    )
    retention_file: Path | None = Field(
        default=None,
        description=(
            "The town's own retention decisions (TOML, `[classes.<name>]` tables), laid over "
            "the defaults in shared/retention/retention.toml: see the README, 'Retention: what "
            "a town decides'."
        ),
    )
    retention_automatic: bool = Field(
        default=True,
        description=(
            "Whether intake's process deletes what has run out by itself, once an hour. Off, "
            "nothing goes but by `kotoutus retention apply` (e.g. until the town has decided "
            "its periods)."
        ),
    )
    compress_stored_events: bool = Field(
        default=True,
        description=(
            "Whether the services store new events compressed, with a dictionary kept in the "
            "same store (shared/compression). Off, new ones are stored as JSON; either way "
            "everything stored reads back. (The embedded read side always compresses its "
            "copies: it is rebuilt from the stores at will.)"
        ),
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # --- staff authentication (see shared/auth) ---
    oidc_issuer: str | None = Field(
        default=None,
        description=(
            "Issuer of staff tokens (an OpenID Connect provider). Unset: tokens of the local "
            "issuer, made with `kotoutus token issue` (for trying it out and for tests)."
        ),
    )
    oidc_jwks_url: str | None = Field(
        default=None,
        description="The issuer's signing keys; found from its discovery document if unset.",
    )
    oidc_audience: str = Field(default="kotoutus", description="The `aud` tokens must carry.")
    oidc_roles_claim: str = Field(default="roles", description="Claim that lists the roles.")
    oidc_organisation_claim: str = Field(
        default="organisation", description="Claim that names the caller's organisation."
    )
    token_signing_key: Path | None = Field(
        default=None,
        description=(
            "Local issuer: its Ed25519 private key (PEM). Default data_dir/token-signing-key.pem, "
            "made on first use."
        ),
    )

    @property
    def distributed(self) -> bool:
        return bool(self.database_url and self.amqp_url)

    @cached_property
    def postgres(self) -> dict[str, str]:
        """The eventsourcing library's POSTGRES_* keys for ``database_url``."""
        if not self.database_url:
            raise ValueError("KOTOUTUS_DATABASE_URL is not set")
        url = urlsplit(self.database_url)
        return {
            "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
        }

    def master_key_bytes(self) -> bytes | None:
        if self.master_key is None:
            return None
        key = base64.b64decode(self.master_key.get_secret_value())
        if len(key) != 32:
            raise ValueError("KOTOUTUS_MASTER_KEY must be the base64 of 32 bytes")
        return key

    @property
    def token_signing_key_path(self) -> Path:
        return self.token_signing_key or self.data_dir / "token-signing-key.pem"

    def schema_for(self, service: str) -> str:
        return f"{self.schema_prefix}{service}"

    def organisation(self, kind: OrganisationKind) -> str:
        """The id of the organisation of ``kind`` that serves this municipality."""
        match kind:
            case OrganisationKind.MUNICIPALITY:
                return f"municipality:{self.municipality_code}"
            case OrganisationKind.TE_OFFICE:
                return self.te_office_id
            case OrganisationKind.EMPLOYMENT_AUTHORITY:
                return self.employment_authority_id
