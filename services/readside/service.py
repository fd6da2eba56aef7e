"""The read side as the rest of the system sees it: a consumer of every public event, whose
projections serve the staff's reads (caseload, timeline, statistics) and the reports the law
asks for. It keeps no event store of its own."""

from __future__ import annotations

from fastapi import APIRouter

from services.readside.api import router as read_routes
from services.readside.database import engine_for
from services.readside.names import NameSeal
from services.readside.projector import Projector
from services.readside.reports.compensation_api import router as compensation_routes
from services.readside.reports.national_data_store_api import router as national_data_store_routes
from services.readside.subject_access_api import router as subject_access_routes
from shared.crypto import master_key
from shared.service import ReadModel
from shared.settings import Settings

READ_SIDE = Projector.name  # its consumer's name; its queue: <prefix>.readside


def projector(settings: Settings) -> Projector:
    return Projector(engine_for(settings), NameSeal(master_key(settings)))


router = APIRouter()
router.include_router(read_routes)
router.include_router(national_data_store_routes)
router.include_router(compensation_routes)
router.include_router(subject_access_routes)

SERVICE = ReadModel(
    name=READ_SIDE,
    build=projector,
    description="the read side's projections (caseload, timeline, names) take every public event",
    routes=router,
)
