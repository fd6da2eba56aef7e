"""The national integration data store (Koto-AJ): what Kotoutus holds of the data the
municipality must store there from 1 Jan 2027 (Act 681/2023 §74, §76, §102(4) as amended by
1100/2024; Government Decree 874/2024), mapped in this one package.

Koto-AJ's own interface is not public, so nothing here speaks it: this package turns a
client's public events into the decree's data set, one record per client, with every field
named after the decree item it fills. An adapter to the real interface maps ``ClientRecord``
and nothing else.

Readings (each a choice the law leaves open):
- The store is Act 681/2023's (in force 2025): a client is in it once an assessment (§14) was
  started, a plan (§16) agreed or a plan reviewed (§22) on or after 1 Jan 2025. Earlier
  assessments and plans, made under Act 1386/2010, are not exported; a plan of 2024 reviewed
  in 2025 is, for its review's sake.
- An assessment is "drawn up" (laadittu) on the day it was completed; an assessment that is
  started but not completed shows ``drawn_up_on`` as missing.
- "The planned date of the plan or other referral" (§1(1)) is met by ``plan_planned_on``
  where the assessment found a plan needed, and by at least one referral where it did not.
- A plan's "other content" (§2(1) "muu sisältö") is its kind, the job-seeking obligation and
  its extensions; it is always there.
- Guidance and advice records (§4) need the client's consent and Kotoutus keeps none: nothing
  is exported under §4.

The package, by job: ``records`` is the record's shape (and its schema), ``fold`` makes it
from a client's events, ``missing`` says which items it lacks. Everything readers use is
importable from here.
"""

from services.readside.reports.national_data_store.fold import client_record
from services.readside.reports.national_data_store.missing import missing_items
from services.readside.reports.national_data_store.records import (
    LAW_IN_FORCE,
    SCHEMA_ID,
    SCHEMA_VERSION,
    AssessmentContent,
    AssessmentRecord,
    ClientRecord,
    Extension,
    OtherPlanContent,
    Person,
    PlanRecord,
    Referral,
    ReviewRecord,
    json_schema,
)

__all__ = [
    "LAW_IN_FORCE",
    "SCHEMA_ID",
    "SCHEMA_VERSION",
    "AssessmentContent",
    "AssessmentRecord",
    "ClientRecord",
    "Extension",
    "OtherPlanContent",
    "Person",
    "PlanRecord",
    "Referral",
    "ReviewRecord",
    "client_record",
    "json_schema",
    "missing_items",
]
