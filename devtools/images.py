"""Images for the compose stack on a machine that reaches no image registry.

    python -m devtools.images build            # stand-ins (when missing) and the four service images
    python -m devtools.images build --no-standins
    python -m devtools.images env              # the image variables compose needs to use the stand-ins

The stand-ins replace the upstream images compose names by default (`python:3.11-slim`, `apache/kafka`,
`postgres`, `axllent/mailpit`); each is tagged `cercle-local/...`, never with an upstream name:

- cercle-local/debian:bookworm     debootstrap (minbase) from the Debian mirror apt already uses, `docker import`ed
- cercle-local/python:3.11         Debian's Python 3.11
- cercle-local/kafka:4.1.2         Debian's JRE 17 and the broker's Maven Central jars (infra/images/kafka/pom.xml)
- cercle-local/postgres:15         Debian's PostgreSQL 15 (bookworm has no 16)
- cercle-local/mailsink:1          an SMTP sink with a Mailpit-like HTTP API (infra/images/mailsink)

The service images install from a wheelhouse built here on the host (infra/images/wheelhouse), so their
builds need no network; they are built with the classic builder (BuildKit would fetch nothing more, but its
client is not always installed).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from devtools import DATA_DIR, REPO_ROOT, prepare_dir

IMAGES_DIR = REPO_ROOT / "infra" / "images"
WHEELHOUSE = IMAGES_DIR / "wheelhouse"
SERVICE_DOCKERFILE = IMAGES_DIR / "service" / "Dockerfile"
OPS_DOCKERFILE = IMAGES_DIR / "ops" / "Dockerfile"
SERVICES = {"registration": 8001, "sessions": 8002, "notifications": 8003, "insights": 8004}

BASE = "cercle-local/debian:bookworm"
PYTHON = "cercle-local/python:3.11"
KAFKA = "cercle-local/kafka:4.1.2"
POSTGRES = "cercle-local/postgres:15"
MAILSINK = "cercle-local/mailsink:1"
SERVICE_PREFIX = "cercle-local"
SERVICE_TAG = "dev"

# What compose reads (docker-compose.yml) to run the stand-ins instead of the upstream images.
COMPOSE_ENV = {
    "CERCLE_PYTHON_IMAGE": PYTHON,
    "CERCLE_KAFKA_IMAGE": KAFKA,
    "CERCLE_POSTGRES_IMAGE": POSTGRES,
    "CERCLE_MAILPIT_IMAGE": MAILSINK,
    "CERCLE_IMAGE_PREFIX": SERVICE_PREFIX,
    "CERCLE_IMAGE_TAG": SERVICE_TAG,
    "CERCLE_PIP_OFFLINE": "1",
}
# The mail sink's own packages, into the wheelhouse next to the services' dependencies (and their wheels'
# name prefixes: only those go into its image).
MAILSINK_REQUIREMENTS = ("aiosmtpd>=1.4",)
MAILSINK_WHEELS = ("aiosmtpd-", "atpublic-", "attrs-")


def docker(*args: str, input: bytes | None = None, check: bool = True, env: dict | None = None) -> str:
    result = subprocess.run(
        ["docker", *args],
        input=input,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}... failed:\n{result.stdout.decode()}{result.stderr.decode()}")
    return result.stdout.decode()


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0


def image_size(tag: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).strip())


def debian_mirror(sources: Iterable[Path] | None = None) -> str:
    """The Debian archive apt uses on this machine (one-line or deb822 sources), for debootstrap."""
    files = (
        list(sources)
        if sources is not None
        else [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    )
    for path in files:
        if not path.is_file() or not path.name.endswith((".list", ".sources")):
            continue
        text = path.read_text(errors="replace")
        if path.name.endswith(".list"):
            for line in text.splitlines():
                words = [w for w in re.sub(r"\[[^]]*\]", "", line).split() if w]
                if len(words) >= 3 and words[0] == "deb" and words[2] == "bookworm":
                    return words[1]
            continue
        for stanza in re.split(r"\n\s*\n", text):
            fields = {
                key.strip().lower(): value.strip()
                for key, _, value in (line.partition(":") for line in stanza.splitlines() if not line.startswith("#"))
                if value
            }
            if "bookworm" in fields.get("suites", "").split() and "deb" in fields.get("types", "").split():
                return fields["uris"].split()[0]
    raise RuntimeError("no Debian bookworm mirror in /etc/apt/sources.list*; cannot debootstrap the base image")


def build_base(force: bool = False) -> bool:
    """Debian bookworm minbase, debootstrapped and imported (about 117 MB); False when it already exists."""
    if image_exists(BASE) and not force:
        return False
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is missing: apt-get install -y debootstrap")
    with tempfile.TemporaryDirectory(prefix="cercle-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        result = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror()],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (rootfs / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE],
            stdin=tar.stdout,
            capture_output=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr.decode()}")
    return True


def _classic_build(tag: str, context: Path, dockerfile: Path, args: dict[str, str]) -> None:
    build_args = [item for key, value in args.items() for item in ("--build-arg", f"{key}={value}")]
    docker(
        "build",
        "--tag",
        tag,
        "--file",
        str(dockerfile),
        *build_args,
        str(context),
        env={"DOCKER_BUILDKIT": "0"},
    )


def build_standin(name: str, tag: str, extra: dict[str, Path | list[Path]] | None = None, force: bool = False) -> bool:
    """Build infra/images/<name>/Dockerfile from a context of that folder plus `extra` files or folders (a list:
    those files into a folder of that name)."""
    if image_exists(tag) and not force:
        return False
    with tempfile.TemporaryDirectory(prefix=f"cercle-{name}-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(IMAGES_DIR / name, context)
        for target, source in (extra or {}).items():
            if isinstance(source, list):
                (context / target).mkdir()
                for path in source:
                    shutil.copy2(path, context / target / path.name)
            elif source.is_dir():
                shutil.copytree(source, context / target)
            else:
                shutil.copy2(source, context / target)
        _classic_build(tag, context, context / "Dockerfile", {"BASE_IMAGE": BASE, "PYTHON_IMAGE": PYTHON})
    return True


def kafka_libs() -> Path:
    """The broker's jars plus kafka-tools (the healthcheck's and topic tools' classes), fetched with Maven once."""
    pom = IMAGES_DIR / "kafka" / "pom.xml"
    libs = prepare_dir(DATA_DIR / "images" / "kafka-libs")
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    marker = libs / ".complete"
    if marker.is_file() and marker.read_text().strip() == digest:
        return libs
    for jar in libs.glob("*.jar"):
        jar.unlink()
    subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={libs}",
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    marker.write_text(digest + "\n")
    return libs


def build_wheelhouse() -> Path:
    """Wheels of every dependency of shared/, the four services, ops/ and the mail sink, built with the host's pip.

    The Cercle packages themselves are left out: the images install them from their sources.
    """
    sources = [REPO_ROOT / "shared", *(REPO_ROOT / "services" / name for name in SERVICES), REPO_ROOT / "ops"]
    digest = hashlib.sha256(
        b"".join(path.joinpath("pyproject.toml").read_bytes() for path in sources)
        + "\n".join(MAILSINK_REQUIREMENTS).encode()
    ).hexdigest()
    marker = WHEELHOUSE / ".complete"
    if marker.is_file() and marker.read_text().strip() == digest:
        return WHEELHOUSE
    for wheel in WHEELHOUSE.glob("*.whl"):
        wheel.unlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--wheel-dir", str(WHEELHOUSE), *map(str, sources), *MAILSINK_REQUIREMENTS],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    # Build requirements of the Cercle packages, for `pip install --no-index` of their sources in the image.
    subprocess.run(
        [*pip, "download", "--quiet", "--dest", str(WHEELHOUSE), "--only-binary=:all:", "setuptools>=69", "wheel"],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    for wheel in WHEELHOUSE.glob("cercle_*.whl"):
        wheel.unlink()
    marker.write_text(digest + "\n")
    return WHEELHOUSE


def service_tag(name: str) -> str:
    return f"{SERVICE_PREFIX}/{name}:{SERVICE_TAG}"


def build_service(name: str) -> None:
    _classic_build(
        service_tag(name),
        REPO_ROOT,
        SERVICE_DOCKERFILE,
        {"PYTHON_IMAGE": PYTHON, "SERVICE": name, "PORT": str(SERVICES[name]), "PIP_OFFLINE": "1"},
    )


def build_ops() -> None:
    _classic_build(service_tag("ops"), REPO_ROOT, OPS_DOCKERFILE, {"PYTHON_IMAGE": PYTHON, "PIP_OFFLINE": "1"})


def build_all(standins: bool = True, log=print) -> dict[str, float]:
    """Everything the compose tests run; returns seconds per phase.

    What does not depend on each other is built at once (the host's wheelhouse beside the base image; the
    Python, Kafka and PostgreSQL stand-ins side by side): mostly downloads, so a small machine overlaps them.
    """
    timings: dict[str, float] = {}
    prepare_dir(DATA_DIR / "images")
    with open(DATA_DIR / "images" / ".lock", "w") as lock, ThreadPoolExecutor(max_workers=3) as pool:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time on a machine (CI prepares, the tests build)
        started = time.monotonic()
        wheelhouse = pool.submit(_timed, build_wheelhouse)
        if standins:
            _, timings["base image"] = _timed(build_base)
            t0 = time.monotonic()
            kafka_jars = kafka_libs()
            parts = [
                pool.submit(build_standin, "python", PYTHON),
                pool.submit(build_standin, "kafka", KAFKA, {"libs": kafka_jars}),
                pool.submit(build_standin, "postgres", POSTGRES),
            ]
            for part in parts:
                part.result()
            wheels, _ = wheelhouse.result()
            mailsink_wheels = [w for w in wheels.glob("*.whl") if w.name.startswith(MAILSINK_WHEELS)]
            build_standin("mailsink", MAILSINK, {"wheels": mailsink_wheels})
            timings["stand-in images"] = time.monotonic() - t0
        _, timings["wheelhouse"] = wheelhouse.result()
        t0 = time.monotonic()
        for name in SERVICES:
            build_service(name)
        build_ops()
        timings["service images"] = time.monotonic() - t0
        timings["images (all)"] = time.monotonic() - started
    for phase, seconds in timings.items():
        log(f"{phase}: {seconds:.1f}s")
    return timings


def _timed(build, *args):
    started = time.monotonic()
    return build(*args), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.images", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="the stand-ins (when missing) and the four service images")
    build.add_argument("--no-standins", action="store_true", help="only the service images")
    sub.add_parser("env", help="print the compose variables that select the stand-ins")
    sub.add_parser("sizes", help="print each image's size")
    args = parser.parse_args(argv)
    if args.command == "build":
        build_all(standins=not args.no_standins)
    elif args.command == "env":
        for key, value in COMPOSE_ENV.items():
            print(f"{key}={value}")
    else:
        for tag in [BASE, PYTHON, KAFKA, POSTGRES, MAILSINK, *map(service_tag, [*SERVICES, "ops"])]:
            if image_exists(tag):
                print(f"{tag}: {image_size(tag) / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
