"""A real SMTP server for tests (aiosmtpd on a free port): what it receives is what was sent."""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    messages: list = field(default_factory=list)  # email.message.EmailMessage, as received

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """Start an SMTP server, point Django's SMTP backend at it; yields (inbox, controller)."""
    controller_module = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd (a dev dependency) is not installed")
    inbox = Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield inbox, controller
    finally:
        if controller.loop.is_running():
            controller.stop()
