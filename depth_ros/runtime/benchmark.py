"""Latency of engines and functions: median and 90th percentile after a warm-up, and a table of ratios.

Every measurement in a table is taken in the same run, interleaved, and ratios are the baseline's median over each row's
median (above 1: faster than the baseline). Times are wall-clock per call, inputs copied in and depth copied
out included, as a node calling :meth:`~depth_ros.runtime.engine.DepthEngine.infer` would see them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from depth_ros.runtime.engine import DepthEngine


@dataclass(frozen=True)
class Latency:
    """Milliseconds per call over ``iterations`` timed calls."""

    median_ms: float
    p90_ms: float
    iterations: int


@dataclass(frozen=True)
class Row:
    """One line of a latency table: what ran, how fast, and how far its depth is from the baseline's.

    Attributes:
        label: what ran (backend, device, precision, providers).
        latency: its latency.
        max_relative_difference: ``max |depth - baseline| / baseline`` over pixels, ``None`` if not compared.
    """

    label: str
    latency: Latency
    max_relative_difference: float | None = None


def measure(calls: Sequence[Callable[[], object]], iterations: int, warmup: int = 3) -> list[Latency]:
    """Latency of each call: ``warmup`` untimed rounds, then ``iterations`` timed rounds.

    Calls are interleaved (each round runs call 0, call 1, ...), so a change in machine load during the
    measurement slows all of them alike and their ratios stay fair.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    for _ in range(warmup):
        for call in calls:
            call()
    times = np.zeros((len(calls), iterations))
    for iteration in range(iterations):
        for index, call in enumerate(calls):
            start = time.perf_counter()
            call()
            times[index, iteration] = (time.perf_counter() - start) * 1e3
    return [Latency(float(np.median(t)), float(np.percentile(t, 90)), iterations) for t in times]


def measure_engines(
    engines: Sequence[DepthEngine], inputs: dict[str, np.ndarray], iterations: int, warmup: int = 3
) -> list[tuple[Latency, np.ndarray]]:
    """Latency of ``engine.infer(**inputs)`` for each engine (interleaved, see :func:`measure`) and a copy of
    the depth each returns."""
    calls = [lambda engine=engine: engine.infer(**inputs) for engine in engines]
    latencies = measure(calls, iterations, warmup)
    return [(latency, engine.infer(**inputs).copy()) for latency, engine in zip(latencies, engines, strict=True)]


def relative_difference(depth: np.ndarray, reference: np.ndarray) -> float:
    """``max |depth - reference| / reference`` (depth is positive: the graphs clamp it to their range)."""
    return float(np.max(np.abs(depth - reference) / reference))


def format_table(rows: list[Row], baseline: Row) -> str:
    """Rows as a text table with each one's speed-up over ``baseline`` (its median over theirs)."""
    width = max(len(row.label) for row in [baseline, *rows])
    lines = [f"{'':{width}}  {'median ms':>9}  {'p90 ms':>8}  {'speed-up':>8}  {'max rel. diff':>13}"]
    for row in [baseline, *rows]:
        ratio = baseline.latency.median_ms / row.latency.median_ms
        difference = "-" if row.max_relative_difference is None else f"{row.max_relative_difference:.1e}"
        lines.append(
            f"{row.label:{width}}  {row.latency.median_ms:9.1f}  {row.latency.p90_ms:8.1f}  {ratio:7.2f}x  "
            f"{difference:>13}"
        )
    return "\n".join(lines)
