"""Named places where a test may kill the process, to prove recovery after a real crash.

Set ``KOTOUTUS_FAILPOINT=<name>`` and the process exits abruptly (no clean-up, no flush) the
first time it reaches that place. Unset, a failpoint costs one dictionary lookup.
"""

from __future__ import annotations

import os

ENV = "KOTOUTUS_FAILPOINT"
CRASH_EXIT_CODE = 97


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os._exit(CRASH_EXIT_CODE)
