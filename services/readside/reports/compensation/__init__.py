"""The state's compensation to the municipality, as reports staff can claim with.

``compensation_report``: per person and calendar year, the days and euros of the calculated
compensation (Act 681/2023 §61; Government Decree 872/2024 §1(1)), the year's totals, the
persons whose facts are missing for a decision, and the conditions of §59(1) as the settings
state them. The readings of the law are ``shared.law.compensation``'s (see its docstring).

``old_law_report``: the initial assessments the municipality organised under the old Act
1386/2010 (§50), i.e. started before 1 Jan 2025 — a started assessment counts as organised,
its completion day is shown where there is one — with the persons and dates a claim needs,
and the deadline of §102(1) as amended by Act 1100/2024 (the end of 2026) said in the report.

Each client's latest facts are folded from the public events (intake's own order); names,
identity codes and birth dates come from the read side's sealed identities. Erased clients are
left out of every list (only counted), and a merged duplicate's history is its survivor's.

The package, by job: ``clients`` folds each client's facts; ``report`` is the compensation
report's shape (JSON, CSV) and ``assembly`` puts it together; ``old_law`` is the old law's.
Everything readers use is importable from here.
"""

from services.readside.reports.compensation.assembly import (
    FIRST_YEAR,
    Municipality,
    build_report,
    compensation_report,
)
from services.readside.reports.compensation.clients import CLIENT_EVENTS, ClientRecord, fold_clients
from services.readside.reports.compensation.old_law import (
    ASSESSMENT_EVENTS,
    OldLawAssessment,
    OldLawReport,
    build_old_law_report,
    old_law_report,
)
from services.readside.reports.compensation.report import (
    CSV_COLUMNS,
    CompensationReport,
    Conditions,
    Days,
    MissingFacts,
    PersonYear,
    Totals,
)

__all__ = [
    "ASSESSMENT_EVENTS",
    "CLIENT_EVENTS",
    "CSV_COLUMNS",
    "FIRST_YEAR",
    "ClientRecord",
    "CompensationReport",
    "Conditions",
    "Days",
    "MissingFacts",
    "Municipality",
    "OldLawAssessment",
    "OldLawReport",
    "PersonYear",
    "Totals",
    "build_old_law_report",
    "build_report",
    "compensation_report",
    "fold_clients",
    "old_law_report",
]
