"""A real SMTP server for the email tests: aiosmtpd on 127.0.0.1, on a free port.

`mail_server` is a fixture; import it into a test module that sends email. The
server keeps every message it accepts, and can be told to refuse the next N
messages with a temporary error (451), as a greylisting or overloaded relay does.
It can also be stopped and started again on the same port, so a test can see what
the portal does when nothing is listening.
"""

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
TEMPORARY_FAILURE = "451 4.3.0 Try again later"
URL_PATTERN = re.compile(r"""https?://[^\s"'<>]+""")


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None, "the email has no text/plain part"
        return part.get_content()  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None, "the email has no text/html part"
        return part.get_content()  # type: ignore[attr-defined]

    @property
    def links(self) -> list[str]:
        """Every absolute URL in either part, in order, hrefs included."""
        return URL_PATTERN.findall(self.text) + URL_PATTERN.findall(self.html)


@dataclass
class RecordingHandler:
    """aiosmtpd handler: stores accepted messages, refuses the next `refuse` ones."""

    received: list[ReceivedMail] = field(default_factory=list)
    refuse: int = 0
    refusal: str = TEMPORARY_FAILURE
    refused: int = 0
    # Recipients whose message the server sits on for this many seconds before answering
    # (longer than the client's timeout: a message that times out on its own).
    stall: dict[str, float] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stalled = [self.stall[rcpt] for rcpt in envelope.rcpt_tos if rcpt in self.stall]
        if stalled:
            await asyncio.sleep(max(stalled))
        if self.refuse > 0:
            self.refuse -= 1
            self.refused += 1
            return self.refusal
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Message accepted for delivery"


class _FreePortController(Controller):
    """A Controller that may bind port 0 and learns the port the system chose."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailServer:
    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.port = 0  # chosen by the system on the first start, kept on restarts
        self.handler = RecordingHandler()
        self._controller: _FreePortController | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        return self.handler.received

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    def config(self) -> dict[str, object]:
        """App settings that send to this server (plain SMTP, no login, short timeout)."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": self.port,
            "SMTP_STARTTLS": False,
            "SMTP_SSL": False,
            "SMTP_USERNAME": None,
            "SMTP_PASSWORD": None,
            "SMTP_TIMEOUT_SECONDS": 5,
        }

    def refuse_next(self, count: int, reply: str = TEMPORARY_FAILURE) -> None:
        """Answer the next `count` messages with `reply` (an SMTP error) instead of accepting them."""
        self.handler.refuse = count
        self.handler.refusal = reply

    def start(self) -> None:
        assert self._controller is None, "the mail server is already running"
        controller = _FreePortController(self.handler, hostname=self.host, port=self.port, ready_timeout=5)
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
