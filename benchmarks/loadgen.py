"""A small HTTP/1.1 load generator: N keep-alive connections on loopback, each sending its next request as soon
as the previous answer arrived (closed loop). Plain asyncio streams, so that the client costs little of the
CPU the server under test also needs; the same generator drives Cercle and the bare baseline."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: list[Any] = field(default_factory=list)
    server_cpu_ms: float = float("nan")  # the server process's CPU per request, when the caller measured it

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


Request = tuple[str, str, dict[str, str], Any]  # method, path, headers, JSON body or None


def _encode(host: str, request: Request) -> bytes:
    method, path, headers, body = request
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def run_load(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    total: int,
    concurrency: int,
    keep_bodies: bool = False,
) -> LoadResult:
    """Send `total` requests (make_request(n) builds the n-th) over `concurrency` connections."""
    counter = iter(range(total))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    bodies: list[Any] = []
    authority = f"{host}:{port}"

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in counter:
                data = _encode(authority, make_request(n))
                t0 = time.perf_counter()
                writer.write(data)
                status, body = await _read_response(reader)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[status] += 1
                if keep_bodies:
                    bodies.append(json.loads(body) if body else None)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return LoadResult(total, time.perf_counter() - started, latencies, statuses, bodies)
