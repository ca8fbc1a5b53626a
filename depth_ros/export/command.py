"""``depth-ros export``: a weights file or folder -> ``FILE.onnx`` and ``FILE.json``, checked for TensorRT.

torch and onnx are imported only when the command runs, so registering it keeps the CLI start fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

from depth_ros.errors import file_in_the_way
from depth_ros.models.metadata import Architecture

ARCHITECTURES = get_args(Architecture)


def _export(args: argparse.Namespace) -> int:
    from depth_ros.export.onnx_export import (
        DEFAULT_MEASUREMENT_FRAMES,
        OnnxError,
        export_onnx,
        metadata_sidecar,
        verify_onnx,
    )
    from depth_ros.models.checkpoints import load_any
    from depth_ros.models.metadata import ModelMetadata

    if args.measurement_frames is not None and args.architecture != "mvdepthnet":
        raise OnnxError(f"--measurement-frames applies to mvdepthnet only, not {args.architecture}")
    network, metadata = load_any(args.weights)
    if metadata.architecture != args.architecture:
        raise OnnxError(
            f"{args.weights} holds a {metadata.architecture} model, but {args.architecture} was asked for: "
            f"run depth-ros export {metadata.architecture} --weights {args.weights} ..."
        )
    frames = DEFAULT_MEASUREMENT_FRAMES if args.measurement_frames is None else args.measurement_frames
    if args.out.is_dir():
        raise OnnxError(f"--out {args.out} is a folder: name the file to write, e.g. {args.out / 'model.onnx'}")
    blocked = file_in_the_way(args.out)
    if blocked is not None:  # found now, not after the tracing
        raise OnnxError(f"cannot write {args.out}: {blocked} is a file, not a folder")
    out = export_onnx(network, metadata, args.out, args.height, args.width, frames)
    sidecar = metadata_sidecar(out)
    exported = ModelMetadata.from_json(sidecar.read_text())
    inputs = f"{exported.width}x{exported.height}"
    if exported.architecture == "mvdepthnet":
        inputs += f", {exported.measurement_frames} measurement frames"
    print(f"wrote {out} ({exported.architecture}, {inputs})")
    print(f"wrote {sidecar} (metadata)")
    print(verify_onnx(out).verdict())
    return 0


def register_export(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a depth network to ONNX (uint8 images in, depth in metres out) for TensorRT",
        description="Export Monodepth2 or MVDepthNet weights to an ONNX file with embedded metadata and a "
        "FILE.json beside it, and check that TensorRT 8.5 to 10.x can parse it.",
    )
    parser.add_argument("architecture", choices=ARCHITECTURES, help="the network the weights hold")
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="PATH",
        required=True,
        help="a depth_ros checkpoint (.pt), a Monodepth2 model folder, or MVDepthNet's .pth.tar",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.onnx", help="ONNX file to write (FILE.onnx)")
    parser.add_argument("--height", type=int, metavar="H", help="input height, a multiple of 32 (default: the model's)")
    parser.add_argument("--width", type=int, metavar="W", help="input width, a multiple of 32 (default: the model's)")
    parser.add_argument(
        "--measurement-frames", type=int, metavar="N", help="measurement images the MVDepthNet graph takes (default: 2)"
    )
    parser.set_defaults(handler=_export)
