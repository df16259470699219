"""Set-up that `make up`, `make test` and `make lint` do for themselves, idempotently and quickly when done.

Standard library only: it runs before anything else is installed.

    python -m devtools.setup packages      the project's Python packages, into this interpreter
    python -m devtools.setup postgres      PostgreSQL server binaries (initdb, pg_ctl) when missing (apt-get)
    python -m devtools.setup chromium      headless Chromium and its WebDriver when missing (apt-get), for the
                                           dashboard's browser tests
    python -m devtools.setup all           all three

Packages are installed again only when a requirement file changed or a package is missing: a stamp in the
interpreter's prefix records a digest of every pyproject.toml and requirements file.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("registration", "sessions", "notifications", "insights")
REQUIREMENT_FILES = [
    REPO_ROOT / "shared" / "pyproject.toml",
    *(REPO_ROOT / "services" / name / "pyproject.toml" for name in SERVICES),
    REPO_ROOT / "ops" / "pyproject.toml",
    REPO_ROOT / "requirements-dev.txt",
]
# One import per installed distribution that must be importable afterwards.
PROBES = (
    "cercle_shared",
    *(f"cercle_{name}" for name in SERVICES),
    "cercle_ops",
    "docker",
    "kafka",
    "pytest",
    "ruff",
    "mypy",
    "importlinter",
    "selenium",
)


def _digest() -> str:
    h = hashlib.sha256()
    for path in REQUIREMENT_FILES:
        h.update(path.read_bytes())
    h.update(str(REPO_ROOT).encode())  # editable installs point at this checkout
    return h.hexdigest()


def _stamp() -> Path:
    return Path(sys.prefix) / f"cercle-setup-{hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]}.stamp"


def packages() -> None:
    stamp = _stamp()
    digest = _digest()
    missing = [name for name in PROBES if importlib.util.find_spec(name) is None]
    if not missing and stamp.is_file() and stamp.read_text().strip() == digest:
        return
    print(f"setup: installing the Python packages into {sys.prefix}", file=sys.stderr, flush=True)
    editable = ["-e", str(REPO_ROOT / "shared")]
    for name in SERVICES:
        editable += ["-e", str(REPO_ROOT / "services" / name)]
    editable += ["-e", str(REPO_ROOT / "ops")]  # cercle-ops, the operator's CLI
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *editable,
            "-r",
            str(REPO_ROOT / "requirements-dev.txt"),
        ],
        check=True,
    )
    stamp.write_text(digest + "\n")


def _have_postgres() -> bool:
    return shutil.which("initdb") is not None or bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def postgres() -> None:
    if _have_postgres():
        return
    print("setup: installing PostgreSQL server binaries (Debian's postgresql package)", file=sys.stderr, flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if not _have_postgres():
        raise SystemExit("setup: PostgreSQL's initdb is still missing after apt-get install postgresql")


CHROMIUM = ("chromium", "chromedriver")  # Debian's chromium and chromium-driver packages


def _have_chromium() -> bool:
    return all(shutil.which(name) is not None for name in CHROMIUM)


def chromium() -> None:
    """Debian's own browser and its matching driver: the browser tests never download a browser build."""
    if _have_chromium():
        return
    print("setup: installing Debian's chromium and chromium-driver packages", file=sys.stderr, flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env, stdin=subprocess.DEVNULL)
    subprocess.run(
        [
            *sudo,
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
            "fonts-dejavu-core",
        ],
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if not _have_chromium():
        raise SystemExit("setup: chromium or chromedriver is still missing after apt-get install")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.setup", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("packages", "postgres", "chromium", "all"))
    args = parser.parse_args(argv)
    if args.what in ("packages", "all"):
        packages()
    if args.what in ("postgres", "all"):
        postgres()
    if args.what in ("chromium", "all"):
        chromium()
    return 0


if __name__ == "__main__":
    sys.exit(main())
