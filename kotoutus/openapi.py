"""The staff API's OpenAPI document: every route of every service and of the read side, as
embedded mode serves them (each distributed process serves its own part)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from kotoutus.http import create_api
from kotoutus.registry import SERVICES
from shared.settings import Settings


def render() -> str:
    # Building the app opens an access log and a token key: keep them out of the way.
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings.model_construct(data_dir=Path(scratch))
        api = create_api(settings, SERVICES, {}, read_routes=True)
        document = api.openapi()
        api.state.access_log.close()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
