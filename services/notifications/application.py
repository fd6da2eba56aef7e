"""Notifications, one application: decide and record, then send, then record the result.

It keeps two books of each client (``base``): the reminder book, a reminder per deadline, and
the client's letters, every message decided about the client and what became of it (stored
as ``ClientOutbox``; see ``letters`` for the words). Its class is split by job:

* ``policies`` (with ``deadlines``): the reactions to public events, one handler per
  contract (the table is in ``service``);
* ``sending``: the two halves of an attempt, which the dispatcher (``dispatcher``) calls around
  the channel;
* ``commands``: what staff ask for through the API (``api``) and the CLI (``cli``).
"""

from __future__ import annotations

from services.notifications.commands import StaffCommands
from services.notifications.policies import Policies
from services.notifications.sending import Sending


class NotificationsApplication(Policies, Sending, StaffCommands):
    name = "notifications"  # the store's tables are named after it (see ``base``)
