"""Every service's command line: `migrate`, `serve`, `asyncapi`, plus the service's own commands."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from .db.migrations import upgrade
from .service import ServiceRuntime
from .settings import ServiceSettings


@dataclass(frozen=True)
class ExtraCommand:
    """A service's own command: `configure` adds its arguments, `run(args)` returns the exit code."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str | None = None


def run_service_cli(
    name: str,
    settings_cls: type[ServiceSettings],
    build_app: Callable[[ServiceSettings], FastAPI],
    build_runtime: Callable[[ServiceSettings], ServiceRuntime],
    migrations: str,
    argv: list[str] | None = None,
    extra_commands: tuple[ExtraCommand, ...] = (),
) -> None:
    parser = argparse.ArgumentParser(prog=f"cercle-{name}")
    sub = parser.add_subparsers(dest="command", required=True)
    for extra in extra_commands:
        extra.configure(sub.add_parser(extra.name, help=extra.help, description=extra.description or extra.help))
    sub.add_parser("migrate", help="Apply the database migrations.")
    serve = sub.add_parser("serve", help="Serve the HTTP API with its consumers and outbox relay.")
    serve.add_argument("--migrate", action="store_true", help="Apply migrations first.")
    docs = sub.add_parser("asyncapi", help="Write the AsyncAPI document.")
    docs.add_argument("--out", type=Path, default=Path(f"docs/asyncapi/{name}.json"))
    args = parser.parse_args(argv)
    for extra in extra_commands:
        if args.command == extra.name:
            raise SystemExit(extra.run(args))

    settings = settings_cls()
    logging.basicConfig(level=settings.log_level, format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    if args.command == "migrate" or (args.command == "serve" and args.migrate):
        upgrade(migrations, settings.database_url)
    if args.command == "serve":
        uvicorn.run(
            build_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=int(settings.shutdown_timeout),
        )
    elif args.command == "asyncapi":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        document = build_runtime(settings).asyncapi()
        args.out.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
