"""Notifications: what must be told to whom and when — reminders of every deadline, alerts,
partner notices and client letters — and sending it.

One application (``application``): two books per client (``domain``: the reminder book and the
client's *letters*, every message decided about the client; ``letters`` says why the letters'
stored name is ``ClientOutbox``, and why "outbox" means only the transactional outbox of
``shared.messaging.relay``), its reactions to public events (``policies``, ``deadlines``), the
sending (``sending``, driven by ``dispatcher``) and the staff commands (``commands``, behind
``api`` and ``cli``). ``delivery`` holds the channels and templates.
"""
