"""The access log: who read which client's data, when, from where, why, and with what outcome.

Authorities must be able to tell afterwards who used their records (Information Management Act
906/2019 §17). Rows are only ever added: the database itself refuses UPDATE and DELETE, so a
bug or a hand-typed statement cannot rewrite the log. Embedded mode keeps it in a SQLite file;
distributed mode in a PostgreSQL schema that every service process writes to."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.engine import Engine

from shared.settings import Settings

_APPEND_ONLY = "the access log is append-only"
# Serialises the first creation of the table by service processes starting at once.
_DDL_LOCK = 906_2019_17


class AccessEntry(BaseModel):
    at: AwareDatetime
    actor: str | None = Field(description="Token subject (null: no valid token)")
    role: str | None
    organisation: str | None
    client_id: str | None = Field(description="null: a read across clients")
    what: str = Field(examples=["GET /clients/{client_id}/assessment"])
    purpose: str | None = Field(description="Why, as the staff system said (X-Purpose)")
    source: str | None = Field(description="The caller's address")
    outcome: int = Field(description="HTTP status, refusals included")


def _table(metadata: sa.MetaData, schema: str | None) -> sa.Table:
    return sa.Table(
        "access_log",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(200), index=True),
        sa.Column("role", sa.String(50)),
        sa.Column("organisation", sa.String(200)),
        sa.Column("client_id", sa.String(100), index=True),
        sa.Column("what", sa.String(300), nullable=False),
        sa.Column("purpose", sa.String(500)),
        sa.Column("source", sa.String(100)),
        sa.Column("outcome", sa.Integer, nullable=False),
        schema=schema,
    )


def _utc(moment: datetime) -> datetime:
    # SQLite keeps no time zone: every stored and compared instant is UTC.
    return moment.astimezone(UTC)


class AccessLog:
    def __init__(self, engine: Engine, schema: str | None = None) -> None:
        self.engine = engine
        self.schema = schema
        self.table = _table(sa.MetaData(), schema)
        self._create()

    @classmethod
    def for_settings(cls, settings: Settings) -> AccessLog:
        if settings.database_url:
            url = sa.engine.make_url(settings.database_url).set(drivername="postgresql+psycopg")
            engine = sa.create_engine(url, pool_size=2, max_overflow=4, pool_pre_ping=True)
            return cls(engine, settings.schema_for("access"))
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            f"sqlite:///{settings.data_dir / 'access-log.sqlite'}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        return cls(engine)

    def _create(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                assert self.schema
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _DDL_LOCK})
                conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
                self.table.create(conn, checkfirst=True)
                name = f'"{self.schema}".access_log'
                conn.execute(
                    sa.text(
                        f'CREATE OR REPLACE FUNCTION "{self.schema}".access_log_append_only() '
                        "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        f"RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
                    )
                )
                conn.execute(
                    sa.text(
                        "CREATE OR REPLACE TRIGGER access_log_append_only "
                        f"BEFORE UPDATE OR DELETE OR TRUNCATE ON {name} FOR EACH STATEMENT "
                        f'EXECUTE FUNCTION "{self.schema}".access_log_append_only()'
                    )
                )
            else:
                self.table.create(conn, checkfirst=True)
                for verb in ("UPDATE", "DELETE"):
                    conn.execute(
                        sa.text(
                            f"CREATE TRIGGER IF NOT EXISTS access_log_no_{verb.lower()} "
                            f"BEFORE {verb} ON access_log "
                            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
                        )
                    )

    def append(self, *entries: AccessEntry) -> None:
        """Adds the rows in one transaction: a read is logged whole or not at all."""
        rows = [{**entry.model_dump(), "at": _utc(entry.at)} for entry in entries]
        with self.engine.begin() as conn:
            conn.execute(self.table.insert(), rows)

    def query(
        self,
        *,
        client_id: UUID | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[AccessEntry]:
        t = self.table
        statement = sa.select(t).order_by(t.c.id).limit(limit)
        if client_id is not None:
            statement = statement.where(t.c.client_id == str(client_id))
        if actor is not None:
            statement = statement.where(t.c.actor == actor)
        if since is not None:
            statement = statement.where(t.c.at >= _utc(since))
        if until is not None:
            statement = statement.where(t.c.at < _utc(until))
        with self.engine.connect() as conn:
            rows = conn.execute(statement).mappings().all()
        return [
            AccessEntry.model_validate(
                {**row, "at": row["at"].replace(tzinfo=row["at"].tzinfo or UTC)}
            )
            for row in rows
        ]

    def close(self) -> None:
        self.engine.dispose()
