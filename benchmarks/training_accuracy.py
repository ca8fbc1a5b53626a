"""Accuracy of trained weights on held-out synthetic sequences, next to the baselines issue #4 names.

    .venv/bin/python benchmarks/training_accuracy.py mvdepthnet runs/mv/best.pt [--seeds 1000 1001]
    .venv/bin/python benchmarks/training_accuracy.py monodepth2 runs/md2/best.pt

* MVDepthNet: metric depth (no scaling) against winner-take-all on the same cost volume (each pixel takes
  the plane of lowest cost).
* Monodepth2: depth with per-image median scaling against the best constant depth (the per-image median
  of the ground truth: what median scaling makes of any constant prediction).

Seeds default to ones the lite configs never train on. Prints one table; metrics are the standard ones
(abs_rel, rmse, a1) averaged over images. ``--by-depth`` adds the network's per-pixel abs_rel and median
prediction/truth ratio by ground-truth depth (raw and median-scaled), to see where the error comes from.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from torch.utils.data import DataLoader

from depth_ros.eval.evaluation import DepthBins
from depth_ros.eval.metrics import NoValidPixelsError, average_metrics, depth_metrics
from depth_ros.models.checkpoints import load_checkpoint
from depth_ros.models.inference import inference_graph
from depth_ros.models.mvdepthnet import cost_volume, inverse_depth_planes, normalize_image
from depth_ros.train.config import DataConfig
from depth_ros.train.tasks import frame_sequences, mvdepthnet_forward


def evaluate(rows: dict[str, list[dict[str, float]]], name: str, predicted, truth, metadata, median: bool) -> None:
    for p, t in zip(predicted, truth, strict=True):
        try:
            rows.setdefault(name, []).append(depth_metrics(p, t, metadata.min_depth, metadata.max_depth, median))
        except NoValidPixelsError:
            continue


class RatiosByDepth:
    """The network's per-pixel errors by ground-truth depth: abs_rel sums (:class:`DepthBins`) and the
    prediction/truth ratios, raw and per-image median-scaled, with the caps of ``metadata``."""

    def __init__(self, metadata, inner_edges_m: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)) -> None:
        self.metadata = metadata
        self.bins = DepthBins(np.array([metadata.min_depth, *inner_edges_m, metadata.max_depth]))
        self.ratios: dict[str, list[list[np.ndarray]]] = {
            kind: [[] for _ in (*inner_edges_m, None)] for kind in ("raw", "scaled")
        }

    def add(self, predicted: np.ndarray, truth: np.ndarray) -> None:
        """Add (B, H, W) predicted and ground-truth depth in metres."""
        low, high = self.metadata.min_depth, self.metadata.max_depth
        for p, t in zip(predicted, truth, strict=True):
            valid = (t > low) & (t < high)
            if not valid.any():
                continue
            g, raw = t[valid], np.clip(p[valid], low, high)
            scaled = np.clip(raw * np.median(g) / np.median(raw), low, high)
            self.bins.add(g, raw, scaled)
            index = np.clip(np.searchsorted(self.bins.edges, g, side="right") - 1, 0, len(self.bins.pixels) - 1)
            for kind, values in (("raw", raw), ("scaled", scaled)):
                for b, per_bin in enumerate(self.ratios[kind]):
                    per_bin.append(values[index == b] / g[index == b])

    def print(self) -> None:
        share = self.bins.pixels / max(self.bins.pixels.sum(), 1)
        print(f"by ground-truth depth {'':14} {'pixels':>7} {'abs_rel raw':>12} {'ratio raw':>10} "
              f"{'abs_rel med':>12} {'ratio med':>10}")  # fmt: skip
        raw, scaled = self.bins.mean("raw"), self.bins.mean("scaled")
        for b in range(len(self.bins.pixels)):
            ratio_raw = np.median(np.concatenate(self.ratios["raw"][b])) if self.bins.pixels[b] else np.nan
            ratio_med = np.median(np.concatenate(self.ratios["scaled"][b])) if self.bins.pixels[b] else np.nan
            span = f"{self.bins.edges[b]:g}-{self.bins.edges[b + 1]:g} m"
            print(f"  {span:34} {share[b]:6.1%} {raw[b]:12.3f} {ratio_raw:10.2f} {scaled[b]:12.3f} {ratio_med:10.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("architecture", choices=["monodepth2", "mvdepthnet"])
    parser.add_argument("weights")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002, 1003])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--moving-objects", type=int, default=0, help="independently moving boxes per sequence")
    parser.add_argument("--measurement-frames", type=int, default=2)
    parser.add_argument("--by-depth", action="store_true", help="also the network's errors by ground-truth depth")
    args = parser.parse_args()
    torch.set_num_threads(2)
    network, metadata = load_checkpoint(args.weights)
    data = DataConfig(
        moving_objects=args.moving_objects, frames=args.frames, measurement_frames=args.measurement_frames
    )
    sequences = frame_sequences(data, args.seeds, metadata.height, metadata.width)
    rows: dict[str, list[dict[str, float]]] = {}
    by_depth = RatiosByDepth(metadata)
    with torch.no_grad():
        if args.architecture == "mvdepthnet":
            from depth_ros.data.training_samples import MultiViewDataset

            planes = inverse_depth_planes(network.planes)
            for sequence in sequences:
                dataset = MultiViewDataset(
                    sequence, metadata.height, metadata.width, args.measurement_frames, augment=False
                )
                for batch in DataLoader(dataset, batch_size=4):
                    truth = batch["depth"][:, 0].numpy()
                    inverse = mvdepthnet_forward(network, batch, metadata.sweep_grid)[0].clamp(planes[0], planes[-1])
                    depth = (1.0 / inverse)[:, 0].numpy()
                    evaluate(rows, "MVDepthNet (metric, no scaling)", depth, truth, metadata, False)
                    by_depth.add(depth, truth)
                    volume = cost_volume(
                        normalize_image(batch["reference"]), normalize_image(batch["measurements"]),
                        batch["K"], batch["T_meas_ref"], planes, grid=metadata.sweep_grid,
                    )  # fmt: skip
                    winner = (1.0 / planes[volume.argmin(1)]).numpy()
                    evaluate(rows, "winner-take-all, same cost volume", winner, truth, metadata, False)
        else:
            from depth_ros.data.training_samples import MonocularDataset

            graph = inference_graph(network, metadata)
            for sequence in sequences:
                dataset = MonocularDataset(sequence, metadata.height, metadata.width, augment=False)
                for batch in DataLoader(dataset, batch_size=4):
                    truth = batch["depth"][:, 0].numpy()
                    depth = graph(batch["images"][:, 0] * 255.0)[:, 0].numpy()
                    evaluate(rows, "Monodepth2 (median scaling)", depth, truth, metadata, True)
                    by_depth.add(depth, truth)
                    if metadata.scale_type != "relative":
                        evaluate(rows, f"Monodepth2 ({metadata.scale_type}, no scaling)", depth, truth, metadata, False)
                    constant = np.ones_like(truth)
                    evaluate(rows, "best constant depth (median scaling)", constant, truth, metadata, True)
    print(f"{args.weights}: {metadata.architecture} {metadata.width}x{metadata.height}, seeds {args.seeds}")
    print(f"{'':40} {'images':>7} {'abs_rel':>8} {'rmse':>8} {'a1':>6}")
    for name, per_image in rows.items():
        mean = average_metrics(per_image)
        print(f"{name:40} {len(per_image):7d} {mean['abs_rel']:8.3f} {mean['rmse']:8.3f} {mean['a1']:6.3f}")
    if args.by_depth:
        by_depth.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
