"""Sending one email over SMTP with the standard library (blocking: call it from a worker thread)."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from .templates import RenderedEmail


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying will not help."""


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
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = formataddr((to_name, to_address))
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = language  # after the content: setting content drops Content-* headers
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
        """Raises PermanentFailure on a 5xx answer; any other exception is worth a retry."""
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {codes}") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise
