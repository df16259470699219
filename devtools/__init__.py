"""Local development infrastructure for Cercle: real Kafka, PostgreSQL and SMTP processes.

Used by tests (fixtures) and by the Makefile (`python -m devtools.kafka run`, ...).
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / ".data"


def prepare_dir(path: Path) -> Path:
    """mkdir -p; inside DATA_DIR also keep git away from jars, databases and mail."""
    path.mkdir(parents=True, exist_ok=True)
    if path.resolve().is_relative_to(DATA_DIR):
        ignore = DATA_DIR / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
    return path
