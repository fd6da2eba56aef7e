"""The data subject's rights the system keeps time for: the one-month limit to answer a request
for a copy (GDPR Art. 15), counted as the project counts every month (Act 150/1930 §3, §5).

Pure: the day of the request comes in as an argument.

The GDPR is not among ``shared/law-texts`` (Finnish statutes only): the phrase quoted for
Art. 12(3) is from Regulation (EU) 2016/679, Art. 12(3), as published on EUR-Lex
(https://eur-lex.europa.eu/eli/reg/2016/679/oj). Act 150/1930's phrases are from
``shared/law-texts/150-1930-time-limits.txt``.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta

from shared.law.deadlines import next_working_day
from shared.law.rulebook import RuleRef

GDPR_12_3 = RuleRef(
    id="subject_access.one_month",
    law="Regulation (EU) 2016/679",
    section="Art. 12(3)",
    valid_from=date(2018, 5, 25),
    confirmed=True,
    citation="GDPR Art. 12(3) (Regulation (EU) 2016/679, EUR-Lex)",
    # Verbatim from EUR-Lex; the "one month" below is this phrase's.
    quote="without undue delay and in any event within one month of receipt of the request",
)
MONTHS = 1  # "within one month of receipt of the request" (GDPR Art. 12(3))

TIME_LIMITS_3 = RuleRef(
    id="deadline.months",
    law="150/1930",
    section="§3",
    valid_from=date(1930, 1, 1),
    confirmed=True,
    citation="Act 150/1930 §3",
    quote="päättyy sinä viikon tai määräkuukauden päivänä, joka nimeltään tahi "
    "järjestysnumeroltaan vastaa sanottua päivää",
)
TIME_LIMITS_5 = RuleRef(
    id="deadline.roll_forward",
    law="150/1930",
    section="§5",
    valid_from=date(1930, 1, 1),
    confirmed=True,
    citation="Act 150/1930 §5",
    quote="saa tehtävän toimittaa ensimmäisenä arkipäivänä sen jälkeen",
)
LEGAL_BASIS = (GDPR_12_3, TIME_LIMITS_3, TIME_LIMITS_5)
"""What a recorded request's deadline rests on, for the event that records it."""


def subject_access_due(requested_on: date) -> date:
    """The last day to give the copy: the same day number a month on, or the month's last day
    where it has none (150/1930 §3: relativedelta does exactly that), moved to the next
    working day when it falls on a weekend or a holiday (§5)."""
    try:
        return next_working_day(requested_on + relativedelta(months=MONTHS))
    except (OverflowError, ValueError):  # a request dated in the calendar's last month
        return date.max
