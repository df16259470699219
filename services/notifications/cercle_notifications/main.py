from cercle_shared import erasures
from cercle_shared.cli import run_service_cli

from .bootstrap import MIGRATIONS, NAME, build_app, build_runtime
from .config import Settings

# After a restore: the erasures since the backup, through the service's own MemberErased reaction.
REAPPLY_ERASURES = erasures.command(Settings, build_runtime)


def main(argv: list[str] | None = None) -> None:
    run_service_cli(NAME, Settings, build_app, build_runtime, MIGRATIONS, argv, extra_commands=(REAPPLY_ERASURES,))


if __name__ == "__main__":
    main()
