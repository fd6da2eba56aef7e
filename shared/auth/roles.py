"""The roles staff tokens carry and what each may do: one table, as data, read by every check."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    INTEGRATION = "integration"  # a machine: another system, or the TE import


class Permission(StrEnum):
    READ_CLIENT = "read_client"  # a client's details, reminders, responsibility history
    READ_CASE = "read_case"  # a client's assessment and plan
    CHANGE_CLIENT = "change_client"  # the commands that change a client's data
    RECORD_CASE = "record_case"  # open, start and complete an assessment; agree a plan
    REGISTER_CLIENT = "register_client"  # register a client, find one by an identifier
    RECEIVE_INBOUND = "receive_inbound"  # facts from other municipal systems
    RUN_HANDOVER = "run_handover"  # organisation-wide: the TE offices' clients in 2025
    AUDIT = "audit"  # whole-history replay and the access log
    READ_STATISTICS = "read_statistics"  # the programme's follow-up figures (no client data)
    # The reports the law asks for that name persons: the state's compensation (681/2023
    # §59–61, §102(1)) and the national data store (§76, Decree 874/2024). Every read logged.
    READ_REPORTS = "read_reports"
    MANAGE_DELIVERY = "manage_delivery"  # messages that could not be delivered: list, resend
    ACT_ON_BEHALF = "act_on_behalf"  # name the original author and record (imports)
    # Not limited to clients the caller's own organisation answers for.
    ANY_ORGANISATION = "any_organisation"
    # The data subject's rights: the copy of a person's data (GDPR Art. 15) and its request's
    # deadline (Art. 12(3)); restricting a client's processing and lifting it (Art. 18).
    SUBJECT_ACCESS = "subject_access"
    RESTRICT_PROCESSING = "restrict_processing"


_CASEWORK = frozenset(
    {
        Permission.READ_CLIENT,
        Permission.READ_CASE,
        Permission.CHANGE_CLIENT,
        Permission.RECORD_CASE,
        Permission.REGISTER_CLIENT,
    }
)

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CASEWORKER: _CASEWORK,
    Role.SUPERVISOR: _CASEWORK
    | {
        Permission.RUN_HANDOVER,
        Permission.READ_STATISTICS,
        Permission.READ_REPORTS,
        Permission.MANAGE_DELIVERY,
        Permission.SUBJECT_ACCESS,
        Permission.RESTRICT_PROCESSING,
    },
    # Auditors read everything and change nothing.
    Role.AUDITOR: frozenset(
        {
            Permission.READ_CLIENT,
            Permission.READ_CASE,
            Permission.AUDIT,
            Permission.READ_STATISTICS,
            Permission.READ_REPORTS,
            Permission.ANY_ORGANISATION,
        }
    ),
    # Machines: inbound facts, and the steps the TE import replays for the original authors
    # (whose clients may be any organisation's, so not scoped; every read is still logged).
    Role.INTEGRATION: frozenset(
        {
            Permission.RECEIVE_INBOUND,
            Permission.REGISTER_CLIENT,
            Permission.READ_CASE,
            Permission.RECORD_CASE,
            Permission.ACT_ON_BEHALF,
            Permission.ANY_ORGANISATION,
        }
    ),
}
