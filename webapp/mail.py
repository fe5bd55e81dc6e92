"""Writing and delivering customer messages: SMTP when configured, else a local mailbox.

Delivery must be safe to repeat, because a worker can die after the message
left but before the outbox recorded it (webapp/outbox.py), and then the
message is delivered again:

* The mailbox writes one file per message, named by the message's key, via
  a temporary file and an atomic rename: a redelivery replaces the same file,
  never adds a second one, and a reader never sees half a message.
* Over SMTP the message carries a Message-ID derived from the same key, so
  every attempt is recognisably the same message and receivers that
  deduplicate on Message-ID show it once.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from datetime import UTC
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .models import OutboxKind
from .money import format_money
from .outbox import Claim
from .qr import ticket_png

CONFIRMATION_SUBJECT = "Your Marquee booking is confirmed"
SHOW_CANCELLED_SUBJECT = "Your Marquee show is cancelled"


def message_id(message_key: str) -> str:
    return f"<{message_key}@marquee>"


def _addressed(claimed: Claim, mail_from: str, subject: str) -> EmailMessage:
    """A message to the booker with the headers every Marquee e-mail carries."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = claimed.email  # the header policy refuses CR/LF, so no header injection
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(claimed.message_key)
    message["X-Marquee-Booking-Id"] = str(claimed.booking_id)
    message["X-Marquee-Delivery-Attempt"] = str(claimed.attempt)
    return message


def confirmation_message(claimed: Claim, mail_from: str) -> EmailMessage:
    """The confirmation e-mail for a claimed outbox row."""
    message = _addressed(claimed, mail_from, CONFIRMATION_SUBJECT)
    starts_at = claimed.starts_at.astimezone(UTC).strftime("%A %d %B %Y, %H:%M UTC")
    lines = [
        "Hello,",
        "",
        "your booking is confirmed. Enjoy the show!",
        "",
        f"Show:       {claimed.show_title}",
        f"Starts at:  {starts_at} ({claimed.starts_at.isoformat()})",
    ]
    if claimed.auditorium:
        lines.append(f"Auditorium: {claimed.auditorium}")
    lines += [
        f"Seats:      {', '.join(claimed.seats)}",
    ]
    if claimed.total is not None:
        lines.append(f"Total:      {format_money(claimed.total, claimed.currency)}")
    lines.append(f"Booking:    {claimed.booking_id}")
    if claimed.tickets:
        lines += ["", "Your tickets (show the QR code, attached, or the code at the door):"]
        lines += [f"  Seat {label:<4} {code}" for label, code in claimed.tickets]
    lines += ["", "Marquee"]
    message.set_content("\n".join(lines) + "\n")
    for label, code in claimed.tickets:
        # Inline, one PNG per ticket; the file name and Content-ID carry the code, so a
        # mail client lists "ticket-E5-<code>.png" and the door can read either.
        message.add_attachment(
            ticket_png(code),
            maintype="image",
            subtype="png",
            disposition="inline",
            filename=f"ticket-{label}-{code}.png",
            cid=f"<ticket-{code}@marquee>",
        )
    return message


def show_cancelled_message(claimed: Claim, mail_from: str) -> EmailMessage:
    """The "show cancelled" e-mail for a claimed outbox row: one per cancelled booking."""
    message = _addressed(claimed, mail_from, SHOW_CANCELLED_SUBJECT)
    starts_at = claimed.starts_at.astimezone(UTC).strftime("%A %d %B %Y, %H:%M UTC")
    lines = [
        "Hello,",
        "",
        "we are sorry: this show has been cancelled, and so has your booking.",
        "",
        f"Show:          {claimed.show_title}",
        f"Was to start:  {starts_at}",
        f"Seats:         {', '.join(claimed.seats)}",
    ]
    if claimed.total is not None:
        lines.append(f"Total:         {format_money(claimed.total, claimed.currency)}")
    lines += [f"Booking:       {claimed.booking_id}", "", "Marquee"]
    message.set_content("\n".join(lines) + "\n")
    return message


def message_for(claimed: Claim, mail_from: str) -> EmailMessage:
    """The e-mail a claimed outbox row stands for, by its kind."""
    if claimed.kind == OutboxKind.SHOW_CANCELLED:
        return show_cancelled_message(claimed, mail_from)
    return confirmation_message(claimed, mail_from)


def deliver(
    message: EmailMessage,
    message_key: str,
    *,
    smtp_url: str | None,
    mailbox_dir: str,
    timeout: float,
) -> str:
    """Deliver ``message``; returns where it went (for logs). Raises on failure."""
    if smtp_url:
        send_smtp(message, smtp_url, timeout=timeout)
        return f"SMTP {urlsplit(smtp_url).hostname}"
    return str(write_to_mailbox(message, message_key, mailbox_dir))


def mailbox_path(mailbox_dir: str, message_key: str) -> Path:
    return Path(mailbox_dir).resolve() / f"{message_key}.eml"


def write_to_mailbox(message: EmailMessage, message_key: str, mailbox_dir: str) -> Path:
    """Write the message as ``<key>.eml``, replacing an earlier delivery of the same message."""
    target = mailbox_path(mailbox_dir, message_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Dot-prefixed, so readers globbing *.eml never see a partial message.
    fd, temporary = tempfile.mkstemp(prefix=f".{message_key}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(message.as_bytes())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


class InsecureSMTP(Exception):
    """The server offers no TLS, and we would have to send the SMTP password in clear."""


def send_smtp(message: EmailMessage, smtp_url: str, *, timeout: float) -> None:
    """Send through ``smtp://[user:pass@]host[:port]`` (STARTTLS when offered) or ``smtps://``.

    Credentials never travel in clear: with a user name in the URL the
    connection must be ``smtps://`` or upgraded by STARTTLS, else the
    delivery fails (and is retried, then reported DEAD) rather than leak the
    password to anyone on the path. Without credentials a relay that offers
    no TLS is still used, as mail servers do among themselves.

    The envelope has exactly one recipient, the message's single ``To``
    address (validated as one plain address when the booking was made), so
    no header can ever add another.
    """
    url = urlsplit(smtp_url)
    if url.scheme not in {"smtp", "smtps"}:
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {url.scheme}://")
    host = url.hostname or "localhost"
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
    with client:
        client.ehlo()
        encrypted = url.scheme == "smtps"
        if not encrypted and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
            encrypted = True
        if url.username:
            if not encrypted:
                raise InsecureSMTP(
                    f"{host} offers no STARTTLS; refusing to send the SMTP password in clear "
                    "(use smtps:// or a server with STARTTLS)"
                )
            client.login(unquote(url.username), unquote(url.password or ""))
        recipients = message.get_all("To", [])
        if len(recipients) != 1:
            raise ValueError(f"a message must have exactly one recipient, not {len(recipients)}")
        client.send_message(message, to_addrs=[str(recipients[0])])
