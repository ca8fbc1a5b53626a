"""Synthetic generator speed at 320x256 on one core: frames per second, and the ratio against a
brute-force ray caster (every pixel against every box, depth only, no texturing) timed in the same run.

    make bench            # or: .venv/bin/python benchmarks/generator_speed.py [--frames 60]

Target (issue #2): at least 30 frames/s for a full frame (RGB, depth, pose, moving-object mask).
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from raycast_oracle import oracle_depth  # noqa: E402

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence  # noqa: E402

TARGET_FPS = 30.0


def frames_per_second(render, indices) -> float:
    start = time.perf_counter()
    for index in indices:
        render(index)
    return len(indices) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60, help="frames timed per scene (default: 60)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cv2.setNumThreads(1)

    print(f"synthetic generator, 320x256, one core, {args.frames} frames per scene")
    print(f"{'scene':10} {'generator fps':>14} {'brute force fps':>16} {'speed-up':>9} {'target':>8}")
    worst = float("inf")
    for scene in ("corridor", "room"):
        sequence = SyntheticSequence(SyntheticConfig(scene=scene, frames=100, width=320, height=256, seed=0))
        indices = [i % 100 for i in range(args.frames)]
        sequence.frame(0)  # warm-up
        fps = frames_per_second(sequence.frame, indices)

        def brute_force(index, sequence=sequence):
            time_s = sequence.frame_time(index)
            return oracle_depth(sequence.scene, sequence.camera, sequence.T_world_cam(time_s), time_s)

        reference_fps = frames_per_second(brute_force, indices[: max(args.frames // 6, 3)])
        worst = min(worst, fps)
        verdict = "ok" if fps >= TARGET_FPS else "MISSED"
        print(f"{scene:10} {fps:14.1f} {reference_fps:16.1f} {fps / reference_fps:8.1f}x {verdict:>8}")
    print(f"slowest scene: {worst:.1f} frames/s (target >= {TARGET_FPS:.0f})")
    return 0 if worst >= TARGET_FPS else 1


if __name__ == "__main__":
    sys.exit(main())
