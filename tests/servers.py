"""Real servers that notification tests deliver to: an SMTP server (aiosmtpd) and a partner's
webhook endpoint that checks the signature. Both on free local ports; tests assert what
arrived, not which calls were made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from services.notifications.delivery.signing import verify_signature
from tests.support import free_port


@dataclass
class SmtpInbox:
    """An aiosmtpd handler that keeps what it accepts and refuses the addresses it is told to."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.senders.append(envelope.mail_from)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    inbox: SmtpInbox = field(default_factory=SmtpInbox)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class WebhookReceiver:
    """A partner's endpoint: checks the signature and answers from a script (then 200)."""

    secret: str
    answers: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@contextmanager
def running_receiver(secret: str, path: str = "/notices") -> Iterator[WebhookReceiver]:
    state = WebhookReceiver(secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            valid = verify_signature(
                secret.encode(),
                timestamp=self.headers.get("X-Kotoutus-Timestamp", ""),
                body=body,
                signature_header=self.headers.get("X-Kotoutus-Signature", ""),
                now=datetime.now(UTC),
            )
            state.requests.append({"headers": dict(self.headers), "body": body, "valid": valid})
            status = 401 if not valid else (state.answers.pop(0) if state.answers else 200)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the tests read the requests, not a log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
