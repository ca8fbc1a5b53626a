"""Depth on scene families the networks never trained on, beside the one they did; and the odometry-scale test.

    .venv/bin/python benchmarks/generalization.py [--mvdepthnet W ...] [--monodepth2 W ...] [--sequences 3]

Each weights file (default: the shipped ones) runs through its node's pipeline
(:func:`depth_ros.eval.replay.open_model`, PyTorch on the CPU) over the sequences of every family of
:data:`depth_ros.eval.generalization.FAMILIES`, evaluated against exact (or, for Middlebury, measured) ground
truth in MVDepthNet's range 0.5-50 m. One table per weights file:

* MVDepthNet: metric (raw) and per-image median-scaled abs_rel, rmse and a1, and the odometry-scale test: the median
  over frames of ``median(depth with translations x s) / median(depth)`` for s = 0.5 and 2 (a network that
  triangulates answers s; one that ignores its cost volume, 1).
* Monodepth2 (relative): median-scaled abs_rel, rmse and a1.

``frames`` counts the evaluated frames; the multi-view pipeline gives none for a first frame or a camera at rest.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from depth_ros.eval.evaluation import ModelResult
from depth_ros.eval.generalization import FAMILIES, SETTINGS, odometry_scale_response, run_sequence
from depth_ros.eval.replay import open_model
from depth_ros.resources import shipped_weights
from depth_ros.runtime.engine import open_engine

SCALES = (0.5, 2.0)


def evaluate(name: str, weights: Path, sequences: int, frames: int) -> None:
    multiview = name == "multiview"
    print(f"\n{'MVDepthNet' if multiview else 'Monodepth2'}: {weights}")
    header = f"{'family':18} {'frames':>6}"
    if multiview:
        header += f" {'abs_rel':>8} {'rmse m':>7} {'a1':>6} |"
    header += f" {'med abs_rel':>11} {'rmse m':>7} {'a1':>6}"
    if multiview:
        header += "".join(f" {f'odom x{s:g}':>9}" for s in SCALES)
    print(header)
    print("-" * len(header))
    engine = open_engine(weights, "pytorch") if multiview else None
    for family in FAMILIES.values():
        started = time.perf_counter()
        family_sequences = family.sequences(sequences, frames)
        result = ModelResult(family.name, SETTINGS)
        for sequence in family_sequences:
            run_sequence(open_model(name, weights, backend="pytorch").pipeline, sequence, result)
        row = f"{family.name:18} {len(result.frames):6d}"
        raw, scaled = result.mean("raw"), result.mean("scaled")
        if raw is None or scaled is None:
            print(f"{row}  no frame evaluated: {dict(result.skipped)}")
            continue
        if multiview:
            row += f" {raw['abs_rel']:8.3f} {raw['rmse']:7.2f} {raw['a1']:6.3f} |"
        row += f" {scaled['abs_rel']:11.3f} {scaled['rmse']:7.2f} {scaled['a1']:6.3f}"
        if multiview:
            response = odometry_scale_response(engine, family_sequences, SCALES)
            row += "".join(f" {response[s]:9.2f}" for s in SCALES)
        print(f"{row}   ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mvdepthnet", type=Path, action="append", help="MVDepthNet weights (repeatable)")
    parser.add_argument("--monodepth2", type=Path, action="append", help="Monodepth2 weights (repeatable)")
    parser.add_argument("--sequences", type=int, default=3, help="sequences per family (default 3)")
    parser.add_argument("--frames", type=int, default=20, help="frames per sequence (default 20)")
    args = parser.parse_args()
    if not args.mvdepthnet and not args.monodepth2:
        args.mvdepthnet = [shipped_weights("mvdepthnet")]
        args.monodepth2 = [shipped_weights("monodepth2")]
    print("families:")
    for family in FAMILIES.values():
        print(f"  {family.name:18} {family.description}")
    for weights in args.mvdepthnet or []:
        evaluate("multiview", weights, args.sequences, args.frames)
    for weights in args.monodepth2 or []:
        evaluate("mono", weights, args.sequences, args.frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
