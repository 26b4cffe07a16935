"""Incoming mail as it arrives: replies (with and without references), auto-replies, hard and soft
delivery-status reports, unsubscribe requests, unrelated and malformed mail."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

OUR_ID = "<3f1c2a9e-1111-5222-8333-944455556666@example.com>"
SENDER = "dana@example.com"
LEAD = "ada@example.org"
SUBJECT = "Your work on tensorforge"
DATE = format_datetime(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))


def _mail(subject: str, body: str, *, sender: str = LEAD, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Ada Lovelace <{sender}>"
    message["To"] = SENDER
    message["Subject"] = subject
    message["Date"] = DATE
    message["Message-ID"] = f"<in-{zlib.crc32((subject + body + sender).encode())}@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


QUOTE = f"\n\nOn Fri, Nov 27, 2026 at 9:00 AM Dana Reyes <{SENDER}> wrote:\n> Hi Ada,\n> I saw your commits.\n"


def reply(our_id: str = OUR_ID, lead: str = LEAD, subject: str = SUBJECT) -> bytes:
    text = "Happy to talk, how about Tuesday?" + QUOTE
    return _mail(f"Re: {subject}", text, sender=lead, In_Reply_To=our_id, References=our_id)


def reply_without_references(lead: str = LEAD, subject: str = SUBJECT) -> bytes:
    return _mail(f"AW: {subject}", "Gern, Dienstag passt." + QUOTE, sender=lead)


def auto_reply(our_id: str = OUR_ID, lead: str = LEAD, subject: str = SUBJECT) -> bytes:
    text = "I am away until Monday."
    return _mail(f"Automatic reply: {subject}", text, sender=lead, In_Reply_To=our_id, Auto_Submitted="auto-replied")


def out_of_office_by_subject() -> bytes:
    return _mail(f"Abwesenheitsnotiz: {SUBJECT}", "Ich bin bis Montag nicht im Büro.", In_Reply_To=OUR_ID)


def unsubscribe_by_mailto(lead: str = LEAD) -> bytes:
    return _mail("unsubscribe", "", sender=lead)


def unsubscribe_in_reply() -> bytes:
    return _mail(f"Re: {SUBJECT}", "Please remove me from your list." + QUOTE, In_Reply_To=OUR_ID)


def unrelated() -> bytes:
    return _mail("Weekly newsletter", "News of the week.", sender="news@example.net")


def reply_from_a_stranger_naming_our_subject() -> bytes:
    return _mail(f"Re: {SUBJECT}", "Who is this?", sender="mallory@example.net")


def dsn(status: str, action: str, recipient: str = LEAD, our_id: str = OUR_ID) -> bytes:
    """A delivery-status report (RFC 3464) from the recipient's server, with our headers returned."""
    boundary = "dsn-boundary"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {SENDER}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {DATE}\r\n"
        f"Message-ID: <dsn-{status}@mx.example.org>\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered.\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.org\r\n"
        f"\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; {status[0]}50 mailbox problem\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: Dana Reyes <{SENDER}>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: {SUBJECT}\r\n"
        f"Message-ID: {our_id}\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def hard_bounce(recipient: str = LEAD, our_id: str = OUR_ID) -> bytes:
    return dsn("5.1.1", "failed", recipient, our_id)


def soft_bounce(recipient: str = LEAD, our_id: str = OUR_ID) -> bytes:
    return dsn("4.2.2", "delayed", recipient, our_id)


GARBAGE = b"\x00\xff\xfe not a message at all \x81\r\n\r\n\xc3\x28"
TRUNCATED = b"From: ada@example.org\r\nSubject: Re: Your work on tens"
