"""On a CUDA GPU: PyTorch fp16 (autocast) and CUDA graphs against eager fp32, for both full-size networks and
the shipped lite weights, and MVDepthNet's cost volume (all planes in one block) against a per-plane loop.

    python benchmarks/gpu.py [--iterations 50]

* Engines: ``DepthEngine.infer`` timed as a node calls it (uint8 images copied to the GPU, depth copied back
  into a NumPy array, which waits for the GPU), interleaved, median and p90 after warm-up. Full-size networks
  have random weights (seed 0): Monodepth2 ResNet-18 at 640x192, MVDepthNet at 320x256 with 64 planes and
  2 measurement frames. The shipped lite weights run at their own input size.
* Cost volume: ``depth_ros.models.cost_volume`` (on a GPU one block holds every plane) against
  ``cost_volume_per_plane`` of ``test/mvdepthnet_reference.py`` (one ``grid_sample`` per plane), 320x256,
  64 planes, each call followed by ``torch.cuda.synchronize()``.

The issue's cost-volume target (at least 5x faster than the per-plane loop) was set for the 2-core CPU, where
no form of the computation can reach it (README); here it is checked on the GPU, where the one-block form
runs. fp16 and CUDA graphs have no target; their speed-ups and depth differences are printed as measured. PyTorch's
default lets cuDNN convolutions use TF32 on Ampere and newer GPUs; the script prints that setting, since
"fp32" rows run with it.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from mvdepthnet_reference import cost_volume_per_plane

from depth_ros.models import Monodepth2, MVDepthNet, cost_volume
from depth_ros.models.checkpoints import load_checkpoint, monodepth2_metadata, mvdepthnet_metadata
from depth_ros.models.metadata import ModelMetadata
from depth_ros.models.mvdepthnet import inverse_depth_planes, normalize_image
from depth_ros.runtime.benchmark import Row, format_table, measure, measure_engines, relative_difference
from depth_ros.runtime.engine import example_inputs
from depth_ros.runtime.pytorch_backend import PyTorchEngine

ROOT = Path(__file__).resolve().parents[1]
TARGET_COST_VOLUME_SPEEDUP = 5.0
MEASUREMENT_FRAMES = 2
VARIANTS = [("fp32", True), ("fp16", False), ("fp16", True)]  # besides the fp32 eager baseline


def engines(network: torch.nn.Module, metadata: ModelMetadata, iterations: int) -> None:
    """Print eager fp32 against fp32 + CUDA graph, fp16 eager and fp16 + CUDA graph for one network."""
    baseline = PyTorchEngine(copy.deepcopy(network), metadata, "cuda", "fp32")
    others = [
        PyTorchEngine(copy.deepcopy(network), metadata, "cuda", precision, cuda_graph=graph)
        for precision, graph in VARIANTS
    ]
    inputs = example_inputs(metadata, np.random.default_rng(0))
    (latency, reference), *results = measure_engines([baseline, *others], inputs, iterations)
    rows = [
        Row(engine.describe(), result_latency, relative_difference(depth, reference))
        for engine, (result_latency, depth) in zip(others, results, strict=True)
    ]
    print(format_table(rows, Row(baseline.describe() + " (baseline)", latency)))


def cost_volumes(iterations: int, height: int, width: int, frames: int) -> None:
    """Print the one-block cost volume against the per-plane loop on the GPU, 64 planes."""
    metadata = mvdepthnet_metadata({"width": 1.0, "planes": 64}, height, width, "random")
    metadata = metadata.replace(measurement_frames=frames)
    inputs = {k: torch.from_numpy(v).cuda() for k, v in example_inputs(metadata, np.random.default_rng(0)).items()}
    reference = normalize_image(inputs["reference"].permute(2, 0, 1)[None].float())
    measurements = normalize_image(inputs["measurements"].permute(0, 3, 1, 2)[None].float())
    K, T = inputs["K"][None].float(), inputs["T_meas_ref"][None].float()
    args = (reference, measurements, K, T, inverse_depth_planes(64, device="cuda"))

    def synchronised(function):
        def call():
            function(*args)
            torch.cuda.synchronize()

        return call

    with torch.inference_mode():
        one_block, loop = measure([synchronised(cost_volume), synchronised(cost_volume_per_plane)], iterations)
        difference = (cost_volume(*args) - cost_volume_per_plane(*args)).abs().max().item()
    print(
        format_table(
            [Row("cost_volume (all planes in one block)", one_block)],
            Row("per-plane loop (test/mvdepthnet_reference.py)", loop),
        )
    )
    speedup = loop.median_ms / one_block.median_ms
    verdict = "met" if speedup >= TARGET_COST_VOLUME_SPEEDUP else "NOT met"
    print(f"max |cost_volume - loop|: {difference:.1e} (sums over RGB)")
    print(f"one block vs per-plane loop: {speedup:.2f}x, target >= {TARGET_COST_VOLUME_SPEEDUP:.0f}x: {verdict}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50, help="timed calls per row (default: 50)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f"this PyTorch {torch.__version__} sees no CUDA GPU: nothing to measure", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}, ", end="")
    print(f"cuDNN {torch.backends.cudnn.version()}, cuDNN TF32 allowed: {torch.backends.cudnn.allow_tf32}")
    print(f"{args.iterations} timed calls per row after 3 warm-up, interleaved\n")

    print("Monodepth2 ResNet-18, 640x192 (random weights)")
    variant = {"num_layers": 18, "width": 1.0, "decoder_width": 1.0, "with_fc": False}
    engines(Monodepth2(**variant).eval(), monodepth2_metadata(variant, 192, 640, False, "random"), args.iterations)
    print(f"\nMVDepthNet, 320x256, 64 planes, {MEASUREMENT_FRAMES} measurement frames (random weights)")
    metadata = mvdepthnet_metadata({"width": 1.0, "planes": 64}, 256, 320, "random")
    engines(MVDepthNet(1.0, 64).eval(), metadata.replace(measurement_frames=MEASUREMENT_FRAMES), args.iterations)
    for name in ("monodepth2_lite", "mvdepthnet_lite"):
        network, metadata = load_checkpoint(ROOT / "weights" / f"{name}.pt")
        if metadata.architecture == "mvdepthnet":
            metadata = metadata.replace(measurement_frames=MEASUREMENT_FRAMES)
        print(f"\nshipped weights/{name}.pt, {metadata.width}x{metadata.height}")
        engines(network.eval(), metadata, args.iterations)

    for frames in (1, MEASUREMENT_FRAMES):
        print(f"\nMVDepthNet cost volume, 320x256, 64 planes, {frames} measurement frame(s)")
        cost_volumes(args.iterations, 256, 320, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
