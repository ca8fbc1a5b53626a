"""``depth-ros eval BAG``: replay a bag through the depth pipelines, compare with its ground truth, write a report.

No ROS needed: the bag is read with :class:`~depth_ros.data.bag_reader.BagReader`, the pipelines are the nodes'
(:mod:`depth_ros.eval.replay`), the ground truth a depth image topic or a LiDAR
(:mod:`depth_ros.eval.ground_truth`), the report ``metrics.json`` + ``report.md`` + PNGs
(:mod:`depth_ros.eval.report`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from depth_ros.errors import DepthRosError
from depth_ros.eval.evaluation import DEFAULT_SETTINGS, EXAMPLES
from depth_ros.eval.ground_truth import DEFAULT_LIDAR_MAX_GAP_S
from depth_ros.runtime.command import BACKENDS

MODEL_CHOICES = ("mono", "multiview", "both")
REPORTS = Path("eval_output")


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from depth_ros.data.bag_layout import BagTopics
    from depth_ros.data.bag_reader import BagReader
    from depth_ros.eval.evaluation import EvalSettings
    from depth_ros.eval.ground_truth import open_ground_truth
    from depth_ros.eval.replay import MODELS
    from depth_ros.eval.report import check_report_folder
    from depth_ros.eval.session import (
        EvalRequest,
        evaluate_bag,
        model_choices,
        print_summary,
        require_evaluated,
        write_bag_report,
    )
    from depth_ros.geometry import make_transform, quaternion_to_matrix
    from depth_ros.pipeline.mono import MonoSettings

    if args.rate and not args.live:
        raise DepthRosError("--rate sets the playback speed of --live: add --live, or leave --rate out")
    if not (math.isfinite(args.rate) and args.rate >= 0):
        raise DepthRosError(f"--rate must be > 0 (a speed factor) or 0 (paced by the nodes), got {args.rate}")
    out = args.report or REPORTS / args.bag.stem
    check_report_folder(out)  # now, not after the evaluation
    settings = EvalSettings(args.min_depth, args.max_depth, args.garg_crop)
    mono_settings = MonoSettings(args.scale_mode, args.scale_factor, args.camera_height)
    topics = BagTopics(
        image=args.image_topic,
        camera_info=args.camera_info_topic,
        depth=None if args.lidar_topic else args.depth_topic,
        odometry=args.odom_topic,
        lidar=args.lidar_topic,
    )
    reader = BagReader(args.bag, topics)
    T_cam_lidar = None
    if args.lidar_extrinsic is not None:
        values = np.array(args.lidar_extrinsic)
        T_cam_lidar = make_transform(quaternion_to_matrix(values[3:]), values[:3])
    truth = open_ground_truth(reader, T_cam_lidar, args.lidar_max_gap)
    names = MODELS if args.model == "both" else (args.model,)
    weights = {"mono": args.weights_mono, "multiview": args.weights_multiview}
    if args.pose_model and (args.scale_mode != "odometry" or "mono" not in names):
        raise DepthRosError("--pose-model is for the mono model with --scale-mode odometry: add those or leave it out")
    request = EvalRequest(
        model_choices(names, weights, args.backend, args.pose_model),
        args.device,
        mono_settings,
        settings,
        offline=not args.live,
        live=args.live,
        rate=args.rate if args.rate > 0 else None,
        examples=args.examples,
        progress=not args.quiet,
    )
    results = evaluate_bag(reader, truth, request)
    report = write_bag_report(out, reader, truth, results)
    print_summary(results, reader, report)
    require_evaluated(results, out)
    return 0


def register_eval(subparsers) -> None:
    from depth_ros.data.bag_layout import BagTopics
    from depth_ros.pipeline.mono import SCALE_MODES, MonoSettings

    parser = subparsers.add_parser(
        "eval",
        help="replay a bag through the depth pipelines and compare with its ground truth (metrics, report, plots)",
        description="Run the nodes' pipelines (Monodepth2, MVDepthNet) over a ROS 2 bag's images with the poses "
        "from its odometry, compare each depth image with ground truth (a depth image topic in 32FC1 metres or "
        "16UC1 millimetres, or a LiDAR PointCloud2 projected into the camera) as Monodepth2's evaluation does, raw "
        "and with per-image median scaling, and write metrics.json, report.md and figures. No ROS needed.",
    )
    parser.add_argument("bag", type=Path, help="bag folder (or .mcap/.db3 file)")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="both", help="which pipeline(s) (default: both)")
    several = "several files are evaluated side by side"
    parser.add_argument(
        "--weights-mono",
        type=Path,
        nargs="+",
        help=f"Monodepth2 checkpoint, ONNX or engine (default: shipped); {several}",
    )
    parser.add_argument(
        "--weights-multiview",
        type=Path,
        nargs="+",
        help=f"MVDepthNet checkpoint, ONNX or engine (default: shipped); {several}",
    )
    parser.add_argument(
        "--backend", choices=("auto", *BACKENDS), nargs="+", default=["auto"],
        help="inference backend (default: auto); several are evaluated side by side",
    )  # fmt: skip
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="default: cpu")
    parser.add_argument(
        "--scale-mode", choices=SCALE_MODES, default="relative", help="mono depth scale, as the node's (default: "
        "relative; odometry uses the bag's odometry and the pose network)",
    )  # fmt: skip
    parser.add_argument(
        "--pose-model", type=Path, help="--scale-mode odometry: checkpoint holding the pose network, as the node's "
        "pose_model (default: in the mono checkpoint, else <weights>_pose.pt beside it)",
    )  # fmt: skip
    parser.add_argument("--scale-factor", type=float, default=1.0, help="--scale-mode fixed: metres per model unit")
    height = MonoSettings.camera_height_m
    parser.add_argument("--camera-height", type=float, default=height, help=f"--scale-mode ground: metres ({height})")
    parser.add_argument("--report", type=Path, help=f"report folder (default: {REPORTS}/<bag name>)")
    parser.add_argument("--examples", type=int, default=EXAMPLES, help=f"example frames drawn (default: {EXAMPLES})")
    parser.add_argument("--image-topic", default=BagTopics.image, help=f"default: {BagTopics.image}")
    parser.add_argument("--camera-info-topic", default=BagTopics.camera_info, help=f"default: {BagTopics.camera_info}")
    parser.add_argument(
        "--depth-topic", default=BagTopics.depth, help=f"ground-truth depth image (default: {BagTopics.depth})"
    )
    parser.add_argument("--odom-topic", default=BagTopics.odometry, help=f"default: {BagTopics.odometry}")
    parser.add_argument("--lidar-topic", help="ground truth from this sensor_msgs/PointCloud2 topic instead")
    parser.add_argument(
        "--lidar-extrinsic", type=float, nargs=7, metavar=("X", "Y", "Z", "QX", "QY", "QZ", "QW"),
        help="T_cam_lidar: the LiDAR's pose in the camera's optical frame (default: from /tf_static)",
    )  # fmt: skip
    parser.add_argument(
        "--lidar-max-gap", type=float, default=DEFAULT_LIDAR_MAX_GAP_S, metavar="SECONDS",
        help=f"largest time between an image and its LiDAR scan (default: {DEFAULT_LIDAR_MAX_GAP_S})",
    )  # fmt: skip
    low, high = DEFAULT_SETTINGS.min_depth, DEFAULT_SETTINGS.max_depth
    parser.add_argument("--min-depth", type=float, default=low, help=f"ground truth cap, metres (default: {low})")
    parser.add_argument("--max-depth", type=float, default=high, help=f"ground truth cap, metres (default: {high})")
    parser.add_argument(
        "--garg-crop",
        action="store_true",
        help="evaluate only Garg's crop of each image (KITTI's Eigen protocol, with --min-depth 0.001 --max-depth 80)",
    )
    parser.add_argument(
        "--live", action="store_true", help="play the bag into the ROS nodes over DDS and evaluate what they publish"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="--live: playback speed factor of the recorded timing (frames the nodes cannot keep up with are "
        "dropped and reported); 0 (default): each image waits until the nodes have dealt with the previous one",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_eval)
