"""Delivery over SMTP: credentials only over TLS, one recipient per message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from jobsupport import FakeSMTPServer

from webapp.mail import InsecureSMTP, confirmation_message, send_smtp
from webapp.outbox import Claim


def _message(email: str = "ana@example.com"):
    claim = Claim(
        outbox_id=1,
        attempt=1,
        booking_id=uuid.uuid4(),
        email=email,
        show_title="Mail Premiere",
        starts_at=datetime(2099, 1, 1, 20, tzinfo=UTC),
        auditorium="Screen 1",
        seats=["A1", "A2"],
    )
    return confirmation_message(claim, "Marquee <tickets@marquee.localhost>")


@pytest.fixture
def smtp_server():
    server = FakeSMTPServer()  # offers no STARTTLS
    yield server
    server.close()


def test_credentials_are_never_sent_without_tls(smtp_server: FakeSMTPServer) -> None:
    url = f"smtp://mailer:s3cret-pass@127.0.0.1:{smtp_server.port}"
    with pytest.raises(InsecureSMTP, match="no STARTTLS"):
        send_smtp(_message(), url, timeout=5)
    sent = b"\n".join(smtp_server.commands)
    assert not any(line.upper().startswith(b"AUTH") for line in smtp_server.commands)
    assert b"s3cret" not in sent
    assert smtp_server.messages == []


def test_without_credentials_a_plain_relay_gets_the_message_for_one_recipient(
    smtp_server: FakeSMTPServer,
) -> None:
    send_smtp(_message("bo@example.org"), smtp_server.url, timeout=5)
    recipients = [line for line in smtp_server.commands if line.upper().startswith(b"RCPT")]
    assert [line.upper() for line in recipients] == [b"RCPT TO:<BO@EXAMPLE.ORG>"]
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["To"] == "bo@example.org"
