from cercle_shared.cli import run_service_cli

from .bootstrap import MIGRATIONS, NAME, build_app, build_runtime
from .config import Settings


def main(argv: list[str] | None = None) -> None:
    run_service_cli(NAME, Settings, build_app, build_runtime, MIGRATIONS, argv)


if __name__ == "__main__":
    main()
