"""`cercle-registration migrate|serve|asyncapi`, plus `cercle-registration import FILE [--dry-run]` and
`cercle-registration reapply-erasures FILE` (after a restore)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cercle_shared import erasures
from cercle_shared.cli import ExtraCommand, run_service_cli
from cercle_shared.errors import CercleError
from cercle_shared.principal import Principal, Role

from .bootstrap import MIGRATIONS, NAME, build_app, build_runtime
from .config import Settings
from .domain.regions import RegionCatalog
from .entrypoints import reapply_erasures
from .service_layer import importing


def configure_import(bulk: argparse.ArgumentParser) -> None:
    bulk.add_argument("file", type=Path, help="CSV file with a header line (UTF-8).")
    bulk.add_argument("--dry-run", action="store_true", help="Check every row; write nothing.")


IMPORT = ExtraCommand(
    name="import",
    help="Import members and memberships from a CSV file, all or nothing.",
    description="Import members and memberships from a CSV file into this service's database, all or nothing: "
    "every row is checked first (reads only), then written in short transactions so that the service keeps "
    f"answering meanwhile. Columns: {', '.join(importing.COLUMNS)}.",
    configure=configure_import,
    run=lambda args: import_command(args),
)


def import_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    settings = Settings()
    runtime = build_runtime(settings)
    uow = runtime.uow()
    operator = Principal(subject="cli-import", role=Role.OPERATOR)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
        rows = importing.parse_csv(text)
        steps = len(rows) if args.dry_run else 2 * len(rows)  # a real import checks every row, then writes them
        with tqdm(total=steps, unit="row", desc="checking" if args.dry_run else "checking, then writing") as bar:
            report = importing.import_members(
                text,
                uow,
                operator,
                RegionCatalog.from_setting(settings.enabled_regions),
                dry_run=args.dry_run,
                progress=bar.update,
                rows=rows,
            )
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except CercleError as exc:
        print(f"{args.file}: {exc.detail}", file=sys.stderr)
        return 2
    finally:
        runtime.engine.dispose()
    for error in report.errors:
        print(f"line {error.row}: {error.field or 'row'}: {error.message}", file=sys.stderr)
    if report.errors:
        refused = len({e.row for e in report.errors})
        if report.undone:
            print(
                f"{refused} of {report.rows} rows refused while writing (changed meanwhile); the {report.undone} "
                "members already written were erased again: nothing was kept."
            )
        else:
            print(f"{refused} of {report.rows} rows refused; nothing was written.")
        return 1
    verb = "would create" if args.dry_run else "created"
    print(f"{report.rows} rows: {verb} {report.members} members and {report.memberships} memberships.")
    return 0


REAPPLY_ERASURES = erasures.command(Settings, build_runtime, reapply_erasures.subscriptions)


def main(argv: list[str] | None = None) -> None:
    run_service_cli(
        NAME, Settings, build_app, build_runtime, MIGRATIONS, argv, extra_commands=(IMPORT, REAPPLY_ERASURES)
    )


if __name__ == "__main__":
    main()
