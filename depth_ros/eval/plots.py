"""Figures of an evaluation, one model or several on the same axes (one colour per model, in the given order).

* :func:`save_examples`: example frames, RGB | ground truth | per model: prediction and ``abs_rel`` error map.
* :func:`save_error_by_depth`: mean ``abs_rel`` per ground-truth depth bin, raw and median-scaled.
* :func:`save_error_over_time`: ``abs_rel`` per frame against time, raw and median-scaled.
* :func:`save_point_clouds`: one example frame back-projected, bird's-eye view, coloured by height.

Models whose raw depth is not metric (:attr:`ModelResult.metric <depth_ros.eval.evaluation.ModelResult>`) are
drawn median-scaled in the examples and point clouds. Each function returns the PNG written, or None when
there was nothing to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from depth_ros.eval.evaluation import SCALINGS, Example, ModelResult
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.points import organised_points

ERROR_MAX = 0.5  # abs_rel at the top of the error colour map
CLOUD_POINTS = 20_000  # points drawn per cloud at most


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    _pyplot().close(figure)
    return out


def shown_depth(result: ModelResult, example: Example) -> tuple[np.ndarray, str]:
    """(H, W) prediction at the ground truth's resolution as figures show it, and its label: raw for metric
    models, median-scaled (by the frame's ratio) for the others."""
    if result.metric:
        return example.depth, result.name
    return example.depth * np.float32(example.record.scaled["ratio"]), f"{result.name} (median-scaled)"


def _start_ns(results: Sequence[ModelResult]) -> int:
    """The first evaluated stamp of any result: time zero of the figures."""
    return min(record.stamp_ns for result in results for record in result.frames)


def _example_stamps(results: Sequence[ModelResult]) -> list[int]:
    return sorted({stamp for result in results for stamp in result.examples})


def _truth_of(results: Sequence[ModelResult], stamp: int) -> Example:
    return next(result.examples[stamp] for result in results if stamp in result.examples)


def save_examples(results: Sequence[ModelResult], out: Path) -> Path | None:
    """Example frames, one per row: RGB | ground truth | per model: its depth and ``abs_rel`` error map."""
    stamps = _example_stamps(results)
    if not stamps:
        return None
    plt = _pyplot()
    settings = results[0].settings
    truths = [_truth_of(results, stamp).truth for stamp in stamps]
    valid = np.concatenate([t.depth[(t.depth > settings.min_depth) & (t.depth < settings.max_depth)] for t in truths])
    depth_max = float(np.percentile(valid, 98)) if valid.size else settings.max_depth
    columns = 2 + 2 * len(results)
    figure, axes = plt.subplots(
        len(stamps), columns, figsize=(2.4 * columns, 2.1 * len(stamps) + 0.8), squeeze=False, layout="constrained"
    )
    start = _start_ns(results)
    depth_image = error_image = None
    for row, (stamp, truth) in enumerate(zip(stamps, truths, strict=True)):
        cells = axes[row]
        if truth.rgb is not None:
            cells[0].imshow(truth.rgb)
        cells[0].set_title(f"t = {(stamp - start) / 1e9:.1f} s", fontsize=8)
        gt = np.where((truth.depth > settings.min_depth) & (truth.depth < settings.max_depth), truth.depth, np.nan)
        depth_image = cells[1].imshow(gt, cmap="turbo", vmin=0, vmax=depth_max)
        cells[1].set_title("ground truth", fontsize=8)
        for index, result in enumerate(results):
            depth_cell, error_cell = cells[2 + 2 * index], cells[3 + 2 * index]
            example = result.examples.get(stamp)
            if example is None:
                for cell in (depth_cell, error_cell):
                    cell.text(0.5, 0.5, "not evaluated", ha="center", va="center", fontsize=8, transform=cell.transAxes)
                depth_cell.set_title(result.name, fontsize=8)
                continue
            depth, label = shown_depth(result, example)
            depth_image = depth_cell.imshow(depth, cmap="turbo", vmin=0, vmax=depth_max)
            depth_cell.set_title(label, fontsize=8)
            clamped = np.clip(depth, settings.min_depth, settings.max_depth)
            with np.errstate(invalid="ignore", divide="ignore"):
                error = np.where(np.isfinite(gt) & (depth > 0), np.abs(gt - clamped) / gt, np.nan)
            error_image = error_cell.imshow(error, cmap="magma", vmin=0, vmax=ERROR_MAX)
            shown = example.record.raw if result.metric else example.record.scaled
            error_cell.set_title(f"abs_rel {shown['abs_rel']:.3f}", fontsize=8)
    for cell in axes.flat:
        cell.set_xticks([])
        cell.set_yticks([])
    if depth_image is not None:
        figure.colorbar(depth_image, ax=axes[:, : columns - 1], label="depth [m]", shrink=0.8, location="bottom")
    if error_image is not None:
        figure.colorbar(error_image, ax=axes[:, -1], label="|pred - gt| / gt", shrink=0.8, location="bottom")
    figure.suptitle("example frames")
    return _save(figure, out)


def _two_panels(plt: Any, title: str) -> tuple[Any, Any]:
    figure, (raw, scaled) = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
    raw.set_title("raw")
    scaled.set_title("median-scaled per frame")
    raw.set_ylabel("abs_rel")
    figure.suptitle(title)
    return figure, (raw, scaled)


def save_error_by_depth(results: Sequence[ModelResult], out: Path) -> Path | None:
    """Mean ``abs_rel`` of the evaluated pixels per ground-truth depth bin (log-spaced), raw and median-scaled."""
    if not any(result.frames for result in results):
        return None
    plt = _pyplot()
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    figure, panels = _two_panels(plt, "error by ground-truth depth")
    for result in results:
        if not result.frames:
            continue
        edges = result.bins.edges
        centres = np.sqrt(edges[:-1] * edges[1:])
        for axes, kind in zip(panels, SCALINGS, strict=True):
            axes.plot(centres, result.bins.mean(kind), "o-", ms=3, label=result.name)
    used = [np.flatnonzero(result.bins.pixels) for result in results if result.frames]
    edges = results[0].bins.edges
    low, high = min(int(u.min()) for u in used), max(int(u.max()) for u in used)
    for axes in panels:
        axes.set_xscale("log")
        axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlim(edges[low], edges[high + 1])
        axes.set_xlabel("ground-truth depth [m]")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    return _save(figure, out)


def save_error_over_time(results: Sequence[ModelResult], out: Path) -> Path | None:
    """``abs_rel`` of each evaluated frame against its time since the first one, raw and median-scaled."""
    if not any(result.frames for result in results):
        return None
    plt = _pyplot()
    figure, panels = _two_panels(plt, "error over time")
    start = _start_ns(results)
    for result in results:
        if not result.frames:
            continue
        seconds = np.array([record.stamp_ns - start for record in result.frames]) / 1e9
        for axes, kind in zip(panels, SCALINGS, strict=True):
            values = [(record.raw if kind == "raw" else record.scaled)["abs_rel"] for record in result.frames]
            axes.plot(seconds, values, "o-", ms=3, label=result.name)
    for axes in panels:
        axes.set_xlabel("time [s]")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    return _save(figure, out)


def _cloud(depth: np.ndarray, camera: PinholeCamera, max_depth: float, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) camera-frame points of ``depth`` nearer than ``max_depth``, at most :data:`CLOUD_POINTS`."""
    points = organised_points(np.asarray(depth, dtype=np.float32), camera).reshape(-1, 3)
    points = points[np.isfinite(points).all(axis=1) & (points[:, 2] < max_depth)]
    if len(points) > CLOUD_POINTS:
        points = points[rng.choice(len(points), CLOUD_POINTS, replace=False)]
    return points


def save_point_clouds(results: Sequence[ModelResult], out: Path) -> Path | None:
    """One example frame (the middle one of those most models evaluated) as point clouds, ground truth and each
    model's prediction at its own resolution, seen from above in the camera frame (x right, z forward) and
    coloured by height above the camera (-y)."""
    stamps = _example_stamps(results)
    if not stamps:
        return None
    most = max(sum(stamp in result.examples for result in results) for stamp in stamps)
    common = [stamp for stamp in stamps if sum(stamp in result.examples for result in results) == most]
    stamp = common[len(common) // 2]
    truth = _truth_of(results, stamp).truth
    max_depth = results[0].settings.max_depth
    rng = np.random.default_rng(0)
    clouds = [("ground truth", _cloud(truth.depth, truth.camera, max_depth, rng))]
    for result in results:
        example = result.examples.get(stamp)
        if example is not None:
            scale = 1.0 if result.metric else example.record.scaled["ratio"]
            _, label = shown_depth(result, example)
            prediction = example.prediction
            clouds.append((label, _cloud(prediction.depth * np.float32(scale), prediction.camera, max_depth, rng)))
    reference = clouds[0][1] if len(clouds[0][1]) else np.concatenate([cloud for _, cloud in clouds])
    if not len(reference):
        return None
    x_low, x_high = np.percentile(reference[:, 0], [1, 99])
    z_high = float(np.percentile(reference[:, 2], 99))
    height_low, height_high = np.percentile(-reference[:, 1], [2, 98])
    margin = 0.1 * (x_high - x_low) + 0.1
    panel_width = 1.0 + 3.4 * float(np.clip((x_high - x_low + 2 * margin) / (1.1 * z_high), 0.3, 1.5))
    plt = _pyplot()
    figure, axes = plt.subplots(
        1, len(clouds), figsize=(panel_width * len(clouds) + 1.0, 4.2), squeeze=False, sharex=True, sharey=True,
        layout="constrained",
    )  # fmt: skip
    scatter = None
    for cell, (label, points) in zip(axes[0], clouds, strict=True):
        scatter = cell.scatter(
            points[:, 0], points[:, 2], c=-points[:, 1], s=1, cmap="viridis", vmin=height_low, vmax=height_high
        )
        cell.set_title(f"{label} ({len(points)} points)", fontsize=9)
        cell.set_xlabel("x (right) [m]")
        cell.set_aspect("equal", adjustable="box")
        cell.grid(True, alpha=0.3)
    axes[0, 0].set_xlim(x_low - margin, x_high + margin)
    axes[0, 0].set_ylim(0, 1.1 * z_high)
    axes[0, 0].set_ylabel("z (forward) [m]")
    figure.colorbar(scatter, ax=axes[0, -1], label="height above the camera [m]")
    start = _start_ns(results)
    figure.suptitle(f"point clouds from above, camera frame, t = {(stamp - start) / 1e9:.1f} s")
    return _save(figure, out)
