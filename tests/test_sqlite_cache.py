"""Every SQLite connection of the embedded process keeps a small page cache
(``shared.sqlite_cache``), not SQLite's default of about 2 MB each: the stores' pools, the
read side's, the access log's and the keys'."""

from __future__ import annotations

from typing import Any

from kotoutus.embedded import EmbeddedSystem
from services.intake.application import IntakeApplication
from shared.auth.access_log import AccessLog
from shared.settings import Settings
from shared.sqlite_cache import CACHE_KIB

SMALL = -CACHE_KIB  # SQLite reports a size in KiB as negative


def test_every_connection_of_the_embedded_process_keeps_a_small_cache(
    embedded: EmbeddedSystem, embedded_settings: Settings
) -> None:
    for name, app in embedded.applications.items():
        datastore: Any = app.recorder.datastore  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA cache_size")
            assert cursor.fetchone()[0] == SMALL, name
    with embedded.projector.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == SMALL
    access_log = AccessLog.for_settings(embedded_settings)
    with access_log.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == SMALL
    intake = embedded.applications["intake"]
    assert isinstance(intake, IntakeApplication)
    with intake.keys._cursor() as cursor:  # type: ignore[attr-defined]
        assert cursor.execute("PRAGMA cache_size").fetchone()[0] == SMALL
