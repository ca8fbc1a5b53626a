"""A picture of a recording: example frames with their ground-truth depth, and the camera's path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depth_ros.data.sample import Frame


def save_preview(frames: list[Frame], out: Path, title: str, columns: int = 4) -> Path:
    """Write a PNG: ``columns`` evenly spaced frames (RGB above depth) and a top view of the trajectory.

    Args:
        frames: the recording's frames (depth and poses are drawn where present).
        out: PNG path to write.
        title: figure title (e.g. the bag's name and frame count).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not frames:
        raise ValueError("no frames to preview")
    picks = np.unique(np.linspace(0, len(frames) - 1, min(columns, len(frames))).round().astype(int))
    finite = [f.depth[np.isfinite(f.depth)] for f in frames if f.depth is not None]
    depth_max = float(np.percentile(np.concatenate(finite), 98)) if finite and any(d.size for d in finite) else 1.0

    figure = plt.figure(figsize=(3.2 * (len(picks) + 1.3), 5.6), layout="constrained")
    grid = figure.add_gridspec(2, len(picks) + 1, width_ratios=[1] * len(picks) + [1.3])
    start = frames[0].stamp_ns
    depth_image = None
    for column, index in enumerate(picks):
        frame = frames[index]
        top = figure.add_subplot(grid[0, column])
        top.imshow(frame.rgb)
        top.set_title(f"frame {index}  t = {(frame.stamp_ns - start) / 1e9:.1f} s", fontsize=9)
        bottom = figure.add_subplot(grid[1, column])
        if frame.depth is not None:
            depth_image = bottom.imshow(
                np.where(np.isfinite(frame.depth), frame.depth, np.nan), cmap="turbo", vmin=0, vmax=depth_max
            )
        bottom.set_title("ground-truth depth" if frame.depth is not None else "no depth", fontsize=9)
        for axes in (top, bottom):
            axes.set_xticks([])
            axes.set_yticks([])
    if depth_image is not None:
        figure.colorbar(depth_image, ax=figure.axes[-1], label="depth [m] (sky: blank)", shrink=0.9)

    path_axes = figure.add_subplot(grid[:, -1])
    poses = np.array([f.T_world_cam for f in frames if f.T_world_cam is not None])
    if len(poses):
        path_axes.plot(poses[:, 0, 3], poses[:, 1, 3], "-", color="0.4", lw=1)
        step = max(len(poses) // 25, 1)
        forward = poses[::step, :3, 2]  # optical z axis in the world
        path_axes.quiver(
            poses[::step, 0, 3], poses[::step, 1, 3], forward[:, 0], forward[:, 1], color="tab:blue", width=0.006
        )
        path_axes.set_aspect("equal", adjustable="datalim")
    path_axes.set_title(f"camera path in odom, top view ({len(poses)}/{len(frames)} posed)", fontsize=9)
    path_axes.set_xlabel("x [m]")
    path_axes.set_ylabel("y [m]")
    figure.suptitle(title)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
