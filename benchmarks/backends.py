"""Backends on the CPU with 2 threads, full-size networks with random weights (seeded; no downloads):
PyTorch eager fp32 vs ONNX Runtime, and MVDepthNet's vectorised cost volume vs a per-plane loop.

    .venv/bin/python benchmarks/backends.py [--iterations 20]

* Monodepth2 ResNet-18 at 640x192 and MVDepthNet (64 planes, 1 measurement frame) at 320x256: each
  exported to ONNX in a temporary folder, then ``DepthEngine.infer`` timed (copies in and out included)
  for both backends, interleaved, median and p90 after warm-up.
* ``depth_ros.models.mvdepthnet.cost_volume`` (on the CPU: blocks of planes; and with all planes in one
  block, its form on a GPU and in exported graphs) vs ``cost_volume_per_plane`` of
  ``test/mvdepthnet_reference.py`` (one ``grid_sample`` per plane): 320x256, 64 planes, 1 frame, and the
  shipped lite model's 128x96 with 2 frames.

Targets (the issue): Monodepth2 through ONNX Runtime at least 1.3x faster than PyTorch eager; the
vectorised cost volume at least 5x faster than the per-plane loop. Ratios are printed as measured.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from mvdepthnet_reference import cost_volume_per_plane

from depth_ros.export.onnx_export import export_onnx
from depth_ros.models import Monodepth2, MVDepthNet, cost_volume
from depth_ros.models.checkpoints import monodepth2_metadata, mvdepthnet_metadata
from depth_ros.models.mvdepthnet import inverse_depth_planes, normalize_image
from depth_ros.runtime.benchmark import Row, format_table, measure, measure_engines, relative_difference
from depth_ros.runtime.engine import example_inputs
from depth_ros.runtime.onnxruntime_backend import OnnxRuntimeEngine
from depth_ros.runtime.pytorch_backend import PyTorchEngine

THREADS = 2
TARGET_ORT_SPEEDUP = 1.3
TARGET_COST_VOLUME_SPEEDUP = 5.0


def load() -> str:
    """The 1-minute load average against the CPU count: timings are only comparable on a quiet machine."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def verdict(ratio: float, target: float) -> str:
    return f"target >= {target:.1f}x: {'met' if ratio >= target else 'NOT met'}"


def backends(network: torch.nn.Module, metadata, folder: Path, iterations: int) -> float:
    """Print PyTorch eager vs ONNX Runtime for one network; returns ONNX Runtime's speed-up."""
    onnx = export_onnx(network, metadata, folder / f"{metadata.architecture}.onnx", measurement_frames=1)
    ort_engine = OnnxRuntimeEngine(onnx, threads=THREADS)
    torch_engine = PyTorchEngine(network, ort_engine.metadata)
    inputs = example_inputs(ort_engine.metadata, np.random.default_rng(0))
    (torch_latency, reference), (ort_latency, depth) = measure_engines([torch_engine, ort_engine], inputs, iterations)
    baseline = Row("pytorch cpu fp32 eager", torch_latency)
    print(format_table([Row(ort_engine.describe(), ort_latency, relative_difference(depth, reference))], baseline))
    return torch_latency.median_ms / ort_latency.median_ms


def cost_volumes(iterations: int, height: int, width: int, frames: int) -> float:
    """Print the cost volume's CPU form (blocks of planes), its one-block form (GPU, exported graphs) and the
    per-plane loop, for 64 planes; returns the CPU form's speed-up over the loop."""
    metadata = mvdepthnet_metadata({"width": 1.0, "planes": 64}, height, width, "random")
    metadata = metadata.replace(measurement_frames=frames)
    inputs = {k: torch.from_numpy(v) for k, v in example_inputs(metadata, np.random.default_rng(0)).items()}
    reference = normalize_image(inputs["reference"].permute(2, 0, 1)[None].float())
    measurements = normalize_image(inputs["measurements"].permute(0, 3, 1, 2)[None].float())
    args = (reference, measurements, inputs["K"][None], inputs["T_meas_ref"][None], inverse_depth_planes(64))
    with torch.inference_mode():
        candidates = [lambda: cost_volume(*args), lambda: cost_volume(*args, block_bytes=0)]
        blocks, one_block, loop = measure([*candidates, lambda: cost_volume_per_plane(*args)], iterations)
        expected = cost_volume_per_plane(*args)
        differences = [(cost_volume(*args, block_bytes=b) - expected).abs().max().item() for b in (None, 0)]
    print(
        format_table(
            [Row("cost_volume, CPU blocks of planes", blocks), Row("cost_volume, all planes in one block", one_block)],
            Row("per-plane loop (test/mvdepthnet_reference.py)", loop),
        )
    )
    print(f"max |cost_volume - loop|: blocks {differences[0]:.1e}, one block {differences[1]:.1e} (sums over RGB)")
    return loop.median_ms / blocks.median_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10, help="timed calls per row (default: 10)")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {THREADS} threads (torch.set_num_threads, ORT intra_op_num_threads)")
    print(f"{args.iterations} timed calls per row after 3 warm-up, interleaved; random weights (seed 0)")
    print(f"{load()} (other processes on these cores slow many small parallel ops the most)\n")
    with tempfile.TemporaryDirectory(prefix="depth_ros_bench_") as folder:
        print("Monodepth2 ResNet-18, 640x192")
        monodepth2 = Monodepth2(18, 1.0, 1.0, False).eval()
        variant = {"num_layers": 18, "width": 1.0, "decoder_width": 1.0, "with_fc": False}
        metadata = monodepth2_metadata(variant, 192, 640, False, "random")
        ort_speedup = backends(monodepth2, metadata, Path(folder), args.iterations)
        print(f"ONNX Runtime vs PyTorch eager: {ort_speedup:.2f}x, {verdict(ort_speedup, TARGET_ORT_SPEEDUP)}\n")

        print("MVDepthNet, 320x256, 64 planes, 1 measurement frame")
        mvdepthnet = MVDepthNet(1.0, 64).eval()
        metadata = mvdepthnet_metadata({"width": 1.0, "planes": 64}, 256, 320, "random")
        mvdepthnet_speedup = backends(mvdepthnet, metadata, Path(folder), args.iterations)
        print(f"ONNX Runtime vs PyTorch eager: {mvdepthnet_speedup:.2f}x (no target)\n")

    print("MVDepthNet cost volume, 320x256, 64 planes, 1 measurement frame")
    cv_speedup = cost_volumes(args.iterations, 256, 320, 1)
    print(f"vectorised vs per-plane loop: {cv_speedup:.2f}x, {verdict(cv_speedup, TARGET_COST_VOLUME_SPEEDUP)}\n")
    print("MVDepthNet cost volume, 128x96, 64 planes, 2 measurement frames (the shipped lite model's input)")
    lite_speedup = cost_volumes(args.iterations, 96, 128, 2)
    print(f"vectorised vs per-plane loop: {lite_speedup:.2f}x")
    print(f"\n{load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
