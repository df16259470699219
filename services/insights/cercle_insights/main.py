from cercle_shared import erasures
from cercle_shared.cli import ExtraCommand, run_service_cli

from .bootstrap import MIGRATIONS, NAME, build_app, build_runtime
from .config import Settings
from .entrypoints import rebuild

REBUILD = ExtraCommand(
    name="rebuild",
    help="Empty the projections and replay every topic insights reads (run it with the service stopped).",
    description="Empty insights' projections (not the tables it owns: surveys, action plans, alert state) and refill "
    "them by replaying every topic insights reads from its beginning, with a progress bar, then exit. Refuses while "
    "the insights service is connected to its consumer group.",
    configure=rebuild.configure,
    run=lambda args: rebuild.run(args, build_runtime),
)

# After a restore: the erasures since the backup, through the service's own MemberErased reactions.
REAPPLY_ERASURES = erasures.command(Settings, build_runtime)


def main(argv: list[str] | None = None) -> None:
    run_service_cli(
        NAME, Settings, build_app, build_runtime, MIGRATIONS, argv, extra_commands=(REBUILD, REAPPLY_ERASURES)
    )


if __name__ == "__main__":
    main()
