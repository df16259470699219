"""Sending one email over SMTP with the standard library (blocking: call it from a worker thread)."""

from __future__ import annotations

import re
import smtplib
import ssl
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from cercle_shared.text import one_line

from .templates import RenderedEmail


class PermanentFailure(Exception):
    """The server refused the message for good (5xx), or cannot take it at all: retrying will not help."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with the email, e.g. an iCalendar invitation (text/calendar; method=REQUEST)."""

    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: Mapping[str, str] = field(default_factory=dict)


class InvalidAddress(ValueError):
    """A stored address that is not one email address (stored before validation, say): no retry can send to it."""


# RFC 5322 dot-atom text, with non-ASCII letters allowed as well (RFC 6531): no space, no control character, no
# quote, bracket, comma or second @ — nothing that could close the header or name another recipient.
_ATOM = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f])+"
_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _printable(text: str) -> bool:
    """No control, format, surrogate or separator character (U+0085, U+2028, no-break spaces...)."""
    return not any(unicodedata.category(ch)[0] in "CZ" for ch in text)


def recipient_address(stored: str, display_name: str) -> Address:
    """The To address for a stored address and name: the name on one line, the domain in its ASCII (IDNA) form.

    Raises InvalidAddress for anything that is not exactly one address."""
    local, at, domain = stored.strip().rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or len(local) > 64 or not _printable(local):
        raise InvalidAddress("the recipient's address is not a valid email address (local part)")
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidAddress("the recipient's address is not a valid email address (domain)") from exc
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidAddress("the recipient's address is not a valid email address (domain)")
    return Address(display_name=one_line(display_name), username=local, domain=ascii_domain)


def message_id_for(delivery_id: str, mail_from: str) -> str:
    """Deterministic, so that a message sent twice (crash between send and record) is recognizably the same."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "cercle.local"
    return f"<{delivery_id}@{domain}>"


def build_message(
    *,
    rendered: RenderedEmail,
    mail_from: str,
    to_address: str,
    to_name: str,
    language: str,
    message_id: str,
    date: datetime,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The email, every header on one line whatever the stored values hold; raises ValueError (InvalidAddress for
    the address) when it cannot be built, which no retry will change."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = recipient_address(to_address, to_name)
    message["Subject"] = one_line(rendered.subject)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():  # List-Unsubscribe and List-Unsubscribe-Post, say
        message[name] = one_line(value)
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params=dict(attachment.params),
        )
    message["Content-Language"] = language  # after the content: setting content drops Content-* headers
    message.as_bytes()  # it serializes now or never (a lone surrogate, say): fail here, not at every attempt
    return message


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host, self._port, self._starttls = host, port, starttls
        self._username, self._password, self._timeout = username, password, timeout

    def send(self, message: EmailMessage) -> None:
        """Raises PermanentFailure on a 5xx answer, or when the server cannot take such an address (no SMTPUTF8);
        any other exception is worth a retry."""
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as exc:
            # e.g. an address with a non-ASCII local part and a server without SMTPUTF8: it will not learn it
            raise PermanentFailure(f"the server cannot take this message: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {codes}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
