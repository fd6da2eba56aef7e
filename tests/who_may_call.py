"""Who may call which route of the staff API: the one table the access-control test checks
against every route (tests/test_access_control.py) and the fuzz test uses to send each
operation's boundary cases by the callers it lets in (tests/test_openapi_fuzz.py)."""

from __future__ import annotations

from tests.support import ACTOR, AUDITOR, INTEGRATION, SUPERVISOR, bearer

CALLERS: dict[str, dict[str, str]] = {
    "anonymous": {},
    "caseworker": ACTOR,  # of municipality:320, the client's
    "other_caseworker": bearer(organisation="municipality:698", subject="rovaniemi.caseworker"),
    "supervisor": SUPERVISOR,
    "auditor": AUDITOR,
    "integration": INTEGRATION,
}
CASEWORK = {"caseworker", "supervisor"}
READERS = CASEWORK | {"auditor"}
REGISTRARS = CASEWORK | {"other_caseworker", "integration"}
CASE_READERS = READERS | {"integration"}
CASE_RECORDERS = CASEWORK | {"integration"}

# Every route and who may call it; a route missing here fails the test.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/health"): set(CALLERS),
    ("POST", "/clients"): REGISTRARS,
    ("POST", "/clients/lookup"): REGISTRARS,
    ("GET", "/clients/{client_id}"): READERS,
    ("POST", "/clients/{client_id}/corrections"): CASEWORK,
    ("POST", "/clients/{client_id}/facts"): CASEWORK,
    ("POST", "/clients/{client_id}/conflicts/{conflict_id}/resolve"): CASEWORK,
    ("POST", "/clients/{client_id}/merge"): CASEWORK,
    ("POST", "/clients/{client_id}/worker"): CASEWORK,
    ("POST", "/clients/{client_id}/close"): CASEWORK,
    ("POST", "/clients/{client_id}/erase"): CASEWORK,
    ("POST", "/inbound"): {"integration"},
    ("POST", "/handover/2025"): {"supervisor"},
    ("GET", "/clients/{client_id}/assessment"): CASE_READERS,
    ("GET", "/clients/{client_id}/assessment/responsibility"): READERS,
    ("POST", "/clients/{client_id}/assessment"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/assessment/start"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/assessment/findings"): CASEWORK,
    ("POST", "/clients/{client_id}/assessment/waive"): CASEWORK,
    ("POST", "/clients/{client_id}/assessment/interview"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/assessment/referrals"): CASEWORK,
    ("POST", "/clients/{client_id}/assessment/referrals/{referral_id}/outcome"): CASEWORK,
    ("POST", "/clients/{client_id}/assessment/complete"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/assessment/documentation"): CASE_RECORDERS,
    ("GET", "/clients/{client_id}/plan"): CASE_READERS,
    ("POST", "/clients/{client_id}/plan/draft"): CASEWORK,
    ("POST", "/clients/{client_id}/plan/agree"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/plan/documentation"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/plan/reviews/{reviewed_on}/documentation"): CASE_RECORDERS,
    ("POST", "/clients/{client_id}/plan/enrol"): CASEWORK,
    ("POST", "/clients/{client_id}/plan/review"): CASEWORK,
    ("POST", "/clients/{client_id}/plan/extend"): CASEWORK,
    ("POST", "/clients/{client_id}/plan/end"): CASEWORK,
    ("GET", "/clients/{client_id}/reminders"): READERS,
    ("POST", "/clients/{client_id}/appointments"): CASEWORK,
    ("POST", "/clients/{client_id}/appointments/missed"): CASEWORK,
    ("GET", "/clients/{client_id}/messages"): READERS,
    ("GET", "/notifications/failed"): {"supervisor"},
    ("POST", "/notifications/{message_id}/resend"): {"supervisor"},
    # The read side: any organisation's staff list their own caseload (the other
    # caseworker's is empty); the programme's figures are for supervisors and auditors.
    ("GET", "/caseload"): READERS | {"other_caseworker"},
    ("GET", "/clients/{client_id}/timeline"): READERS,
    ("GET", "/statistics"): {"supervisor", "auditor"},
    ("GET", "/reports/national-data-store"): {"supervisor", "auditor"},
    ("GET", "/reports/compensation"): {"supervisor", "auditor"},
    ("GET", "/reports/compensation/old-law"): {"supervisor", "auditor"},
    ("GET", "/reports/national-data-store/completeness"): {"supervisor", "auditor"},
    ("GET", "/audit/replay"): {"auditor"},
    ("GET", "/audit/access-log"): {"auditor"},
    # The data subject's rights (GDPR Art. 15, 18): supervisors.
    ("GET", "/clients/{client_id}/subject-access"): {"supervisor"},
    ("GET", "/clients/{client_id}/subject-access/requests"): {"supervisor"},
    ("POST", "/clients/{client_id}/subject-access/requests"): {"supervisor"},
    ("POST", "/clients/{client_id}/subject-access/requests/{request_id}/delivered"): {"supervisor"},
    ("GET", "/clients/{client_id}/restriction"): {"supervisor"},
    ("POST", "/clients/{client_id}/restriction"): {"supervisor"},
    ("POST", "/clients/{client_id}/restriction/lift"): {"supervisor"},
    # Retention: the dry run for supervisors and auditors; legal holds, as a restriction.
    ("GET", "/retention/due"): {"supervisor", "auditor"},
    ("GET", "/clients/{client_id}/legal-holds"): {"supervisor"},
    ("POST", "/clients/{client_id}/legal-holds"): {"supervisor"},
    ("POST", "/clients/{client_id}/legal-holds/{hold_id}/lift"): {"supervisor"},
}
