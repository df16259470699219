"""`make bench` keeps running: its quick mode, once, on its own broker, PostgreSQL (fsync on) and services.

Markers used: `integration`, `e2e` (the comparison starts the four services as processes for its end-to-end part).
Speed is never asserted: only that every path ran, printed its ratio beside its baseline, and counted its effects.
"""

import subprocess
import sys

import pytest

from devtools import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PATHS = (
    "pipeline outbox→relay→Kafka→consumer→PostgreSQL",
    "| relay |",
    "| consumer |",
    "POST /v1/members",
    "GET /v1/members/{id}",
    "registration → email accepted by SMTP, p99",
    "registration → insights updated, p99",
)


# A broker, PostgreSQL and the four services started and stopped: minutes on a busy machine.
@pytest.mark.timeout(1500)
def test_the_quick_comparison_prints_every_ratio_and_counts_lost_and_duplicated_effects():
    bench = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.compare", "--quick"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = bench.communicate(timeout=1400)
    except subprocess.TimeoutExpired:
        bench.terminate()  # SIGTERM: it stops the broker, PostgreSQL and the servers it started
        out, err = bench.communicate(timeout=120)
    assert bench.returncode == 0, f"{out[-3000:]}\n{err[-3000:]}"
    table = out[out.index("| path ") :]
    for path in PATHS:
        assert path in table, f"{path!r} missing from:\n{table}"
    assert "lost" in out
    assert "duplicated" in out
