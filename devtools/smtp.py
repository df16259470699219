"""A real SMTP server (aiosmtpd) that stores every message it receives as an .eml file.

python -m devtools.smtp [--port 1025] [--dir .data/mail]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from devtools import DATA_DIR, REPO_ROOT, prepare_dir
from devtools.ports import LOOPBACK, free_port, is_listening
from devtools.wait import wait_until

DEFAULT_MAIL_DIR = DATA_DIR / "mail"


class SaveToDirectory:
    """aiosmtpd handler: one <UTC timestamp>-<uuid>.eml file per message."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = prepare_dir(Path(mail_dir))

    async def handle_DATA(self, server, session, envelope) -> str:
        # Envelope recipients are not in the headers (Bcc), so record them alongside.
        envelope_headers = (
            f"X-Envelope-From: {envelope.mail_from}\nX-Envelope-To: {', '.join(envelope.rcpt_tos)}\n"
        ).encode()
        # Stored with Unix line endings, as .eml files usually are (SMTP sends CRLF).
        content = envelope.original_content.replace(b"\r\n", b"\n")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.mail_dir / f"{stamp}-{uuid.uuid4().hex}.eml"
        # Write then rename, so a reader never parses a half-written message.
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope_headers + content)
        os.replace(partial, path)
        return "250 Message accepted for delivery"


def read_messages(mail_dir: Path) -> list[EmailMessage]:
    """All messages saved in mail_dir, oldest first."""
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(Path(mail_dir).glob("*.eml"))]


class LocalSmtp:
    """Runs `python -m devtools.smtp` as a subprocess on 127.0.0.1:port."""

    def __init__(self, mail_dir: Path = DEFAULT_MAIL_DIR, port: int | None = None) -> None:
        self.mail_dir = Path(mail_dir).resolve()
        self.port = port or free_port()
        self.host = LOOPBACK
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def logfile(self) -> Path:
        return self.mail_dir / "smtpd.log"

    def start(self, timeout: float = 20) -> None:
        prepare_dir(self.mail_dir)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        with open(self.logfile, "ab") as log:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devtools.smtp",
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self.mail_dir),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def listening() -> bool:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"SMTP server exited with code {self._proc.returncode}:\n"
                    f"{self.logfile.read_text(errors='replace')[-3000:]}"
                )
            return is_listening(self.port)

        try:
            wait_until(listening, timeout, message=f"SMTP server on port {self.port}")
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 10) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def messages(self) -> list[EmailMessage]:
        return read_messages(self.mail_dir)

    def __enter__(self) -> LocalSmtp:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.smtp",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--dir", type=Path, default=DEFAULT_MAIL_DIR)
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller  # only the server process needs aiosmtpd

    mail_dir = args.dir.resolve()
    controller = Controller(SaveToDirectory(mail_dir), hostname=args.host, port=args.port, enable_SMTPUTF8=True)
    # SIGTERM (from LocalSmtp.stop or kill) ends the process through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    controller.start()
    print(f"SMTP server on {args.host}:{args.port}, saving messages to {mail_dir}", flush=True)
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
