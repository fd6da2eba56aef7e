"""The staff API's OpenAPI document: every route of every service and of the read side, as
embedded mode serves them (each distributed process serves its own part)."""

from __future__ import annotations

import json

from shared.entrypoints.http import create_api
from shared.entrypoints.registry import SERVICES
from shared.settings import Settings


def render() -> str:
    api = create_api(Settings.model_construct(), SERVICES, {}, read_routes=True)
    return json.dumps(api.openapi(), indent=2, ensure_ascii=False) + "\n"
