"""A throwaway PostgreSQL cluster on loopback, run with the distribution's initdb/pg_ctl.

python -m devtools.postgres run [--port 5432] [--dir .data/postgres] [--db NAME ...]
python -m devtools.postgres stop [--dir .data/postgres]
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql

from devtools import DATA_DIR, prepare_dir
from devtools.ports import LOOPBACK, free_port

# PostgreSQL refuses to run as root; as root we run it as this system user instead.
SERVICE_USER = "cercle-pg"
SUPERUSER = "postgres"
DEFAULT_DIR = DATA_DIR / "postgres"


def find_bin_dir() -> Path:
    """Where initdb and pg_ctl are: from PATH, else the newest /usr/lib/postgresql/*/bin."""
    initdb = shutil.which("initdb")
    if initdb:
        bin_dir = Path(initdb).resolve().parent  # resolve: pg_ctl must be of the same version
        if (bin_dir / "pg_ctl").is_file():
            return bin_dir
    candidates = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").is_file()]
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install them, e.g. apt-get install postgresql"
        )
    return max(candidates, key=lambda d: [int(n) for n in re.findall(r"\d+", d.parent.name)])


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
        )


def _make_traversable(path: Path) -> None:
    """Let other users enter (not list) every ancestor of path, e.g. pytest's 0700 temp root."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


class LocalPostgres:
    """A PostgreSQL cluster in `data_dir` (pgdata/, postgres.log, unix socket) on 127.0.0.1:port.

    Trust authentication for the `postgres` superuser: for development and tests only.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = False) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        # Tests trade durability for speed (fsync off); benchmarks pass durable=True to commit as production does.
        self.durable = durable
        self.bin_dir = find_bin_dir()
        self._as_root = os.geteuid() == 0

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def running(self) -> bool:
        if not self.pgdata.is_dir():
            return False
        return self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False).returncode == 0

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string, for psycopg.connect()."""
        return f"host={LOOPBACK} port={self.port} user={SUPERUSER} dbname={database}"

    def start(self) -> None:
        """initdb on first use, then start the server and wait until it accepts connections."""
        prepare_dir(self.data_dir)
        if self._as_root:
            _ensure_service_user()
            _make_traversable(self.data_dir)
            user = pwd.getpwnam(SERVICE_USER)
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        if not (self.pgdata / "PG_VERSION").is_file():
            # --no-locale: works on machines without generated locales; -E UTF8 keeps text UTF-8.
            self._run(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        # pg_ctl hands -o to the server through a shell, hence the quoting.
        options = f"-p {self.port} -k {shlex.quote(str(self.data_dir))} -c listen_addresses={LOOPBACK}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-o",
            options,
            "-l",
            str(self.logfile),
            "-t",
            "60",
            "-w",
            "start",
        )

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def create_database(self, name: str, *, exist_ok: bool = False) -> str:
        """Create database `name` and return its SQLAlchemy URL."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and not exist_ok:
                raise ValueError(f"database {name!r} already exists")
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting its sessions."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / tool), *args]
        if self._as_root:
            cmd = ["runuser", "-u", SERVICE_USER, "--", *cmd]
        # cwd: the service user may not be allowed into the caller's directory (e.g. root's home).
        result = subprocess.run(cmd, cwd=self.data_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if check and result.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-3000:] if self.logfile.is_file() else ""
            raise RuntimeError(
                f"{tool} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n--- {self.logfile} ---\n{log}"
            )
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.postgres",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="initdb if needed, start in the background")
    run.add_argument("--port", type=int, default=5432)
    run.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    run.add_argument("--db", action="append", default=[], help="database to create if missing")
    stop = commands.add_parser("stop", help="stop the server started by 'run'")
    stop.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)

    if args.command == "run":
        pg = LocalPostgres(args.dir, args.port)
        if pg.running:
            print(f"PostgreSQL already running for {pg.data_dir}")
        else:
            pg.start()
            print(f"PostgreSQL running on {LOOPBACK}:{pg.port} (logs in {pg.logfile})")
        for name in args.db:
            print(pg.create_database(name, exist_ok=True))
    else:
        # The port only matters for starting; pg_ctl stop finds the server through pgdata.
        LocalPostgres(args.dir, port=0).stop()
        print("PostgreSQL stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
