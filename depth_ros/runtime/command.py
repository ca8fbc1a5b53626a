"""``depth-ros build-engine`` (ONNX -> TensorRT engine) and ``depth-ros bench`` (latency per backend).

torch, onnxruntime and TensorRT are imported only when a command runs, so registering them keeps the CLI
start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from depth_ros.errors import DepthRosError
from depth_ros.models.metadata import Architecture

if TYPE_CHECKING:
    from depth_ros.models.metadata import ModelMetadata
    from depth_ros.runtime.engine import DepthEngine

ARCHITECTURES = get_args(Architecture)
# The values of depth_ros.runtime.engine's Runner, spelt out so that building the parser does not import
# numpy; test_runtime checks that they agree.
BACKENDS = ("pytorch", "onnxruntime", "tensorrt")


def _build_engine(args: argparse.Namespace) -> int:
    if not args.onnx.is_file():
        raise DepthRosError(f"ONNX file not found: {args.onnx}")
    from depth_ros.runtime.tensorrt_platform import DEFAULT_WORKSPACE_MB, require_tensorrt, sidecar_path

    require_tensorrt()
    from depth_ros.runtime.tensorrt_build import build_engine

    out = args.out or args.onnx.with_suffix(".engine")
    workspace = DEFAULT_WORKSPACE_MB if args.workspace is None else args.workspace
    print(f"building {out} from {args.onnx} (TensorRT tunes kernels for this GPU: this takes minutes)")
    build_engine(args.onnx, out, fp16=args.fp16, workspace_mb=workspace, dla_core=args.dla_core)
    print(f"wrote {out} and {sidecar_path(out).name}")
    return 0


def register_build_engine(subparsers) -> None:
    parser = subparsers.add_parser(
        "build-engine",
        help="build a TensorRT engine from an exported ONNX file, on the GPU it will run on",
        description="Build a TensorRT 10.x engine from a depth_ros ONNX file, with a persistent timing cache "
        "beside it and a FILE.engine.json sidecar (TensorRT version, GPU, precision, source ONNX hash, model "
        "metadata). Engines run only with the TensorRT version and GPU they were built with.",
    )
    parser.add_argument("onnx", type=Path, help="ONNX file written by depth-ros export")
    parser.add_argument("--out", type=Path, help="engine file to write (default: the ONNX file's name, .engine)")
    parser.add_argument("--fp16", action="store_true", help="allow fp16 kernels (faster; required on a DLA)")
    parser.add_argument("--workspace", type=int, metavar="MB", help="workspace memory pool in MiB (default: 1024)")
    parser.add_argument("--dla-core", type=int, metavar="N", help="run on DLA core N, falling back to the GPU")
    parser.set_defaults(handler=_build_engine)


def _bench(args: argparse.Namespace) -> int:
    import tempfile

    import numpy as np
    import torch

    from depth_ros.export.onnx_export import (
        DEFAULT_MEASUREMENT_FRAMES,
        check_export_size,
        export_onnx,
        read_onnx_metadata,
    )
    from depth_ros.models.checkpoints import load_any
    from depth_ros.runtime.benchmark import Row, format_table, measure_engines, relative_difference
    from depth_ros.runtime.engine import example_inputs, open_engine
    from depth_ros.runtime.pytorch_backend import PyTorchEngine

    _check_counts(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    if args.weights.suffix.lower() in (".onnx", ".engine"):
        raise DepthRosError(
            f"{args.weights} is an exported model: --weights takes the checkpoint (the PyTorch baseline), and an "
            "ONNX file goes in --onnx"
        )
    network, metadata = load_any(args.weights)
    if metadata.architecture != args.model:
        raise DepthRosError(f"{args.weights} holds a {metadata.architecture} model, not {args.model}")
    height = metadata.height if args.height is None else args.height
    width = metadata.width if args.width is None else args.width
    check_export_size(metadata.architecture, height, width)
    metadata = metadata.replace(height=height, width=width)
    frames = DEFAULT_MEASUREMENT_FRAMES if args.frames is None else args.frames
    if args.onnx is not None:
        frames = _check_same_model(read_onnx_metadata(args.onnx), metadata, args.onnx, args.frames)
    if metadata.architecture == "mvdepthnet":
        metadata = metadata.replace(measurement_frames=frames)
    with tempfile.TemporaryDirectory(prefix="depth_ros_bench_") as folder:
        onnx = args.onnx
        if onnx is None and {"onnxruntime", "tensorrt"} & set(args.backends):
            onnx = export_onnx(network, metadata, Path(folder) / "model.onnx", measurement_frames=frames)
        engines: list[DepthEngine] = []
        if "pytorch" in args.backends and (args.precision == "fp16" or args.device == "cuda"):
            cuda_graph = args.device == "cuda"
            engines.append(PyTorchEngine(network, metadata, args.device, args.precision, cuda_graph=cuda_graph))
        if "onnxruntime" in args.backends:
            engines.append(open_engine(onnx, "onnxruntime", args.device, args.precision, threads=threads))
        if "tensorrt" in args.backends:
            engines.append(_tensorrt_engine(onnx, Path(folder), args.precision))
        baseline_engine = PyTorchEngine(network, metadata, args.device, "fp32")
        inputs = example_inputs(metadata, np.random.default_rng(0))
        results = measure_engines([baseline_engine, *engines], inputs, args.iterations)
    (latency, reference), *others = results
    baseline = Row(f"pytorch {args.device} fp32 eager (baseline)", latency)
    rows = [
        Row(engine.describe(), latency, relative_difference(depth, reference))
        for engine, (latency, depth) in zip(engines, others, strict=True)
    ]
    size = f"{metadata.width}x{metadata.height}"
    if metadata.architecture == "mvdepthnet":
        size += f", {metadata.measurement_frames} measurement frame(s), {metadata.planes} planes"
    print(f"{metadata.architecture} {size}; {args.iterations} timed calls after 3 warm-up; {threads} CPU threads")
    print(format_table(rows, baseline))
    return 0


def _check_counts(args: argparse.Namespace) -> None:
    """Refuse an ``--iterations``, ``--threads`` or ``--frames`` below 1 (the last two may be left out)."""
    for option, value in (("iterations", args.iterations), ("threads", args.threads), ("frames", args.frames)):
        if value is not None and value < 1:
            raise DepthRosError(f"--{option} must be at least 1, got {value}")


def _tensorrt_engine(onnx: Path, folder: Path, precision: str) -> DepthEngine:
    """A TensorRT engine built from ``onnx`` into ``folder``, opened."""
    from depth_ros.runtime.engine import open_engine
    from depth_ros.runtime.tensorrt_platform import require_tensorrt

    require_tensorrt()
    from depth_ros.runtime.tensorrt_build import build_engine

    engine = build_engine(onnx, folder / f"{onnx.stem}.engine", fp16=precision == "fp16")
    return open_engine(engine, "tensorrt")


def _check_same_model(exported: ModelMetadata, metadata: ModelMetadata, onnx: Path, frames: int | None) -> int:
    """The measurement frames of an ONNX file that holds the weights' architecture at the benchmark size."""
    ours = (metadata.architecture, metadata.width, metadata.height)
    theirs = (exported.architecture, exported.width, exported.height)
    if ours != theirs:
        raise DepthRosError(
            f"{onnx} is {theirs[0]} at {theirs[1]}x{theirs[2]}, the weights give {ours[0]} at {ours[1]}x{ours[2]}: "
            + (
                "pass --height/--width to match, or export the ONNX file from these weights"
                if theirs[0] == ours[0]
                else f"benchmark it with --model {theirs[0]}, or export the ONNX file from these weights"
            )
        )
    if frames and exported.measurement_frames and frames != exported.measurement_frames:
        raise DepthRosError(
            f"{onnx} takes {exported.measurement_frames} measurement frames, not {frames}: leave --frames out"
        )
    return exported.measurement_frames


def register_bench(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="latency of a model per backend, against PyTorch eager fp32 in the same run",
        description="Time a model's inference (median and p90 after warm-up, copies in and out included) with "
        "each backend, and print each one's speed-up over PyTorch eager fp32 on the same device and how far "
        "its depth is from it. Inputs are random images (and a fixed pose for MVDepthNet).",
    )
    parser.add_argument("--model", choices=ARCHITECTURES, required=True, help="the network the weights hold")
    parser.add_argument("--weights", type=Path, required=True, help="checkpoint, Monodepth2 folder or .pth.tar")
    parser.add_argument("--onnx", type=Path, help="ONNX file of these weights (default: exported to a temp folder)")
    parser.add_argument("--height", type=int, help="network input height, a multiple of 32 (default: the model's)")
    parser.add_argument("--width", type=int, help="network input width, a multiple of 32 (default: the model's)")
    parser.add_argument(
        "--frames", type=int, help="MVDepthNet measurement frames (default: the --onnx file's, else export's 2)"
    )
    parser.add_argument("--iterations", type=int, default=20, help="timed calls per backend (default: 20)")
    parser.add_argument(
        "--backends", nargs="+", choices=BACKENDS, default=["onnxruntime"], help="backends to time besides "
        "the baseline (default: onnxruntime; pytorch adds fp16/CUDA graphs on CUDA; tensorrt builds an engine)",
    )  # fmt: skip
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="default: cpu")
    parser.add_argument("--precision", choices=["fp32", "fp16"], default="fp32", help="default: fp32")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch and ONNX Runtime (default: torch's)")
    parser.set_defaults(handler=_bench)
