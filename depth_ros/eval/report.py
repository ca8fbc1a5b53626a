"""An evaluation on disk: ``metrics.json`` (every number), ``report.md`` (tables and figures) and PNGs beside it,
plus the one-screen summary the command prints. One model or several (offline and live, mono and multiview):
one comparison table, figures with one line per model.

``metrics.json``::

    {"source": {...what was evaluated: bag, ground truth, issues...},
     "depth_range_m": [min, max],
     "models": {NAME: {"engine", "metric", "frames_evaluated", "frames_skipped": {reason: count},
                       "raw": {abs_rel, sq_rel, rmse, rmse_log, a1, a2, a3, l1_inv, sc_inv} | null,
                       "median_scaled": {... and ratio, the mean median-scaling factor} | null,
                       "latency_ms": {"median", "p90"} | null,
                       "error_by_depth": {"edges_m", "pixels", "abs_rel_raw", "abs_rel_median_scaled"},
                       "per_frame": [{"stamp_ns", "time_s", "latency_ms", "pixels", "coverage",
                                      "raw", "median_scaled"}]}}}

Means weigh every frame the same (Monodepth2); ``rmse`` is in metres, ``l1_inv`` in 1/m. Empty bins and
missing values are ``null``: the file holds no NaN.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from depth_ros.eval.evaluation import SCALINGS, EvalError, FrameRecord, ModelResult
from depth_ros.eval.metrics import METRIC_NAMES
from depth_ros.eval.plots import save_error_by_depth, save_error_over_time, save_examples, save_point_clouds

TABLE_METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3")
FIGURES = (
    ("examples.png", "Example frames", save_examples),
    ("error_by_depth.png", "Error by ground-truth depth", save_error_by_depth),
    ("error_over_time.png", "Error over time", save_error_over_time),
    ("point_cloud.png", "Point clouds", save_point_clouds),
)


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def _frame_json(record: FrameRecord, start_ns: int) -> dict[str, Any]:
    return {
        "stamp_ns": record.stamp_ns,
        "time_s": (record.stamp_ns - start_ns) / 1e9,
        "latency_ms": None if record.latency_s is None else record.latency_s * 1e3,
        "pixels": record.pixels,
        "coverage": record.coverage,
        "raw": record.raw,
        "median_scaled": record.scaled,
    }


def model_json(result: ModelResult, start_ns: int) -> dict[str, Any]:
    """The ``metrics.json`` entry of one model (see the module docstring); times from ``start_ns``."""
    latency = result.latency_ms()
    return {
        "engine": result.engine,
        "metric": result.metric,
        "frames_evaluated": len(result.frames),
        "frames_skipped": dict(sorted(result.skipped.items())),
        "raw": result.mean("raw"),
        "median_scaled": result.mean("scaled"),
        "latency_ms": None if latency is None else {"median": latency[0], "p90": latency[1]},
        "error_by_depth": {
            "edges_m": result.bins.edges.tolist(),
            "pixels": result.bins.pixels.tolist(),
            "abs_rel_raw": _finite_or_none(result.bins.mean("raw")),
            "abs_rel_median_scaled": _finite_or_none(result.bins.mean("scaled")),
        },
        "per_frame": [_frame_json(record, start_ns) for record in result.frames],
    }


def _start_ns(results: Sequence[ModelResult]) -> int:
    stamps = [record.stamp_ns for result in results for record in result.frames]
    return min(stamps) if stamps else 0


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(first: float | None, second: float | None, digits: int) -> str:
    return f"{_number(first, digits)} / {_number(second, digits)}"


def summary_table(results: Sequence[ModelResult]) -> str:
    """One line per model: frames evaluated and skipped, ``abs_rel`` raw and median-scaled, ``rmse`` (m) and
    ``a1`` raw / median-scaled, latency median / p90 (ms)."""
    name_width = max([12, *(len(result.name) for result in results)])
    header = (
        f"{'model':<{name_width}} {'frames':>6} {'skipped':>7} {'abs_rel raw':>11} {'abs_rel med':>11} "
        f"{'rmse m raw/med':>15} {'a1 raw/med':>13} {'latency ms med/p90':>19}"
    )
    lines = [header, "-" * len(header)]
    for result in results:
        raw, scaled = result.mean("raw") or {}, result.mean("scaled") or {}
        latency = result.latency_ms() or (None, None)
        lines.append(
            f"{result.name:<{name_width}} {len(result.frames):>6} {sum(result.skipped.values()):>7} "
            f"{_number(raw.get('abs_rel')):>11} {_number(scaled.get('abs_rel')):>11} "
            f"{_pair(raw.get('rmse'), scaled.get('rmse'), 2):>15} {_pair(raw.get('a1'), scaled.get('a1'), 3):>13} "
            f"{_pair(latency[0], latency[1], 1):>19}"
        )
    return "\n".join(lines)


def _markdown(results: Sequence[ModelResult], source: Mapping[str, Any], figures: list[tuple[str, str]]) -> str:
    settings = results[0].settings
    lines = ["# Depth evaluation", ""]
    for key, value in source.items():
        if isinstance(value, Mapping):
            value = "; ".join(f"{k}: {v}" for k, v in value.items()) or "none"
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    lines += [
        f"- depth range: ({settings.min_depth}, {settings.max_depth}) m{'; Garg crop' if settings.garg_crop else ''}; "
        "predictions upsampled bilinearly to the "
        "ground truth's resolution; means over frames, each frame weighing the same",
        "",
        "## Accuracy",
        "",
        "| model | scaling | frames | " + " | ".join(TABLE_METRICS) + " |",
        "|---|---|---:|" + "---:|" * len(TABLE_METRICS),
    ]
    for result in results:
        for kind in SCALINGS:
            means = result.mean(kind)
            label = "raw" if kind == "raw" else "median"
            values = " | ".join(_number(None if means is None else means[name]) for name in TABLE_METRICS)
            lines.append(f"| {result.name} | {label} | {len(result.frames)} | {values} |")
    lines += [
        "",
        "abs_rel, sq_rel (m), rmse (m), rmse_log: lower is better; a1, a2, a3 (share of pixels within 1.25, "
        "1.25², 1.25³ of the ground truth): higher is better. Median scaling multiplies each prediction by "
        "median(gt) / median(pred) first.",
        "",
        "## Runs",
        "",
        "| model | engine | evaluated | skipped | latency median (ms) | latency p90 (ms) |",
        "|---|---|---:|---|---:|---:|",
    ]
    for result in results:
        skipped = "; ".join(f"{reason}: {count}" for reason, count in sorted(result.skipped.items())) or "0"
        latency = result.latency_ms() or (None, None)
        lines.append(
            f"| {result.name} | {result.engine} | {len(result.frames)} | {skipped} | "
            f"{_number(latency[0], 1)} | {_number(latency[1], 1)} |"
        )
    lines += [
        "",
        "Latency: offline, the pipeline's own time per frame (resize, inference, postprocessing); live, from the "
        "image published to its depth received back over DDS (the whole ROS path).",
    ]
    for name, title in figures:
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    return "\n".join(lines) + "\n"


def check_report_folder(out: Path) -> None:
    """Raise :class:`EvalError` (one line) unless :func:`write_report` can write into ``out``: an existing folder
    that takes files, or one that can be created in one. Checked before an evaluation, so that a bad ``--report``
    fails at once, not after the whole bag; nothing is left behind."""
    existing = next(folder for folder in (out, *out.parents) if folder.exists())  # "." or "/" at the latest
    if not existing.is_dir():
        reason = "it is a file" if existing == out else f"{existing} is a file, not a folder"
    else:
        try:
            tempfile.TemporaryFile(dir=existing).close()
            return
        except OSError as error:  # no permission, a read-only file system, a full disk
            reason = f"{existing}: {error.strerror or error}"
    raise EvalError(f"cannot write the report into {out}: {reason}: choose another --report folder")


def write_report(out: Path, results: Sequence[ModelResult], source: Mapping[str, Any]) -> Path:
    """Write ``metrics.json``, the figures and ``report.md`` into the folder ``out``; returns ``report.md``.

    Args:
        out: the report folder (created; files in it are replaced).
        results: the models, in the order of tables and legends (names must differ).
        source: what was evaluated, as JSON-able values (bag, ground truth, counts of bag issues ...); listed
            at the top of the report.
    """
    names = [result.name for result in results]
    if not results or len(set(names)) != len(names):
        raise ValueError(f"write_report needs results with distinct names, got {names}")
    out.mkdir(parents=True, exist_ok=True)
    start = _start_ns(results)
    settings = results[0].settings
    data = {
        "source": dict(source),
        "depth_range_m": [settings.min_depth, settings.max_depth],
        "garg_crop": settings.garg_crop,
        "metric_names": list(METRIC_NAMES),
        "models": {result.name: model_json(result, start) for result in results},
    }
    (out / "metrics.json").write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    for name, _, _ in FIGURES:  # no stale figure of an earlier run stays beside this report
        (out / name).unlink(missing_ok=True)
    figures = [(name, title) for name, title, draw in FIGURES if draw(results, out / name) is not None]
    report = out / "report.md"
    report.write_text(_markdown(results, source, figures))
    return report
