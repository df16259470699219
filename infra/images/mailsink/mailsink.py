#!/opt/venv/bin/python
"""An SMTP sink with a Mailpit-like HTTP API, standing in for axllent/mailpit in a local compose stack.

    /mailpit            SMTP on :1025, HTTP on :8025
    /mailpit readyz     exit 0 when the HTTP API answers (Mailpit's own healthcheck command)

HTTP (the subset of Mailpit's API v1 Cercle uses): GET /api/v1/messages (newest first, ?start=&limit=),
GET /api/v1/message/<ID>, GET /api/v1/message/<ID>/raw, DELETE /api/v1/messages, GET /readyz, GET /livez.
Messages live in memory only, like a test mailbox.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import urllib.request
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

SMTP_PORT = int(os.environ.get("MP_SMTP_PORT", "1025"))
HTTP_PORT = int(os.environ.get("MP_UI_PORT", "8025"))
LOCK = threading.Lock()
MESSAGES: list[dict] = []  # oldest first


def addresses(message: EmailMessage, header: str) -> list[dict[str, str]]:
    return [{"Name": name, "Address": address} for name, address in getaddresses(message.get_all(header, []))]


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


class Sink:
    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        text = body(message, "plain")
        record = {
            "ID": uuid.uuid4().hex,
            "MessageID": str(message.get("Message-ID", "")).strip("<>"),
            "Read": False,
            "From": (addresses(message, "From") or [{"Name": "", "Address": envelope.mail_from}])[0],
            "To": addresses(message, "To") or [{"Name": "", "Address": a} for a in envelope.rcpt_tos],
            "Cc": addresses(message, "Cc"),
            "Bcc": [],
            "ReplyTo": addresses(message, "Reply-To"),
            "Subject": str(message.get("Subject", "")),
            "Created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "Tags": [],
            "Size": len(raw),
            "Attachments": 0,
            "Snippet": " ".join(text.split())[:250],
            "_text": text,
            "_html": body(message, "html"),
            "_raw": raw,
        }
        with LOCK:
            MESSAGES.append(record)
        return "250 Message accepted for delivery"


def summary(record: dict) -> dict:
    return {key: value for key, value in record.items() if not key.startswith("_")}


class Api(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet: one line per request is noise here
        pass

    def answer(self, status: int, payload: object, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def find(self, message_id: str) -> dict | None:
        with LOCK:
            return next((m for m in MESSAGES if m["ID"] == message_id), None)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if url.path in ("/readyz", "/livez"):
            self.answer(200, b"ok", "text/plain")
        elif parts == ["api", "v1", "messages"]:
            query = parse_qs(url.query)
            start, limit = int(query.get("start", ["0"])[0]), int(query.get("limit", ["50"])[0])
            with LOCK:
                newest_first = [summary(m) for m in reversed(MESSAGES)]
            page = newest_first[start : start + limit]
            self.answer(
                200,
                {
                    "total": len(newest_first),
                    "unread": len(newest_first),
                    "count": len(page),
                    "messages_count": len(newest_first),
                    "start": start,
                    "tags": [],
                    "messages": page,
                },
            )
        elif len(parts) in (4, 5) and parts[:3] == ["api", "v1", "message"]:
            record = self.find(parts[3])
            if record is None:
                self.answer(404, b"message not found", "text/plain")
            elif len(parts) == 5 and parts[4] == "raw":
                self.answer(200, record["_raw"], "message/rfc822")
            else:
                self.answer(200, {**summary(record), "Text": record["_text"], "HTML": record["_html"], "Inline": []})
        else:
            self.answer(404, b"not found", "text/plain")

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path == "/api/v1/messages":
            with LOCK:
                MESSAGES.clear()
            self.answer(200, b"ok", "text/plain")
        else:
            self.answer(404, b"not found", "text/plain")


def serve() -> None:
    # PID 1 gets no default SIGTERM action: without a handler `docker stop` would wait for its SIGKILL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    controller = Controller(Sink(), hostname="0.0.0.0", port=SMTP_PORT)
    controller.start()
    print(f"SMTP on :{SMTP_PORT}, HTTP API on :{HTTP_PORT}", flush=True)
    try:
        ThreadingHTTPServer(("0.0.0.0", HTTP_PORT), Api).serve_forever()
    finally:
        controller.stop()


def readyz() -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/readyz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(readyz() if sys.argv[1:] == ["readyz"] else serve())
