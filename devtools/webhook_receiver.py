"""A tiny webhook receiver for trying Cercle's partner webhooks locally: verifies every request with the
`standardwebhooks` library, as a partner would, and prints what arrives.

    python -m devtools.webhook_receiver --secret whsec_... [--port 8765]

Start the stack with CERCLE_WEBHOOK_ALLOW_HOSTS=127.0.0.1 (plain http to loopback is refused otherwise), create an
endpoint with url http://127.0.0.1:8765/hooks, and paste the secret the creation answer shows (once).
It answers 204 to a valid request, 400 to a bad signature; a request already seen (same webhook-id) is
acknowledged and not printed again, as a partner should dedupe.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


def serve(secret: str, host: str = "127.0.0.1", port: int = 8765) -> None:
    webhook = Webhook(secret)
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = webhook.verify(body, headers)
            except WebhookVerificationError as exc:
                print(f"REFUSED {headers.get('webhook-id')}: {exc}", flush=True)
                self.send_response(400)
                self.end_headers()
                return
            webhook_id = headers["webhook-id"]
            if webhook_id in seen:
                print(f"duplicate {webhook_id} (already handled)", flush=True)
            else:
                seen.add(webhook_id)
                print(f"--- {event.get('type')}  webhook-id={webhook_id}", flush=True)
                print(json.dumps(event, indent=2, ensure_ascii=False), flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    print(f"listening on http://{host}:{port}/hooks — Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True, help="The endpoint's signing secret (whsec_...).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    serve(args.secret, args.host, args.port)


if __name__ == "__main__":
    main()
