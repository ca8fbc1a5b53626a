"""The ``depth-ros`` command: one entry point, one subcommand per job.

Each subcommand is a ``register_*`` function that adds its parser and sets ``handler``; errors meant for
users (:class:`~depth_ros.errors.DepthRosError`) and file-system errors (``OSError``: an output path that
is a file, no permission, a full disk) print as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from pathlib import Path

from depth_ros.errors import DepthRosError, file_in_the_way


def _make_sample(args: argparse.Namespace) -> int:
    from depth_ros.data.bag_writer import write_sample_bag
    from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence

    try:
        config = SyntheticConfig(
            scene=args.scene,
            trajectory=args.trajectory,
            frames=args.frames,
            width=args.width,
            height=args.height,
            moving_objects=args.moving_objects,
            seed=args.seed,
        )
        sequence = SyntheticSequence(config)
    except ValueError as error:  # worded with the config's field names: name the options given instead
        raise DepthRosError(re.sub(r"^(frames|moving_objects)\b", _option, str(error))) from error
    write_sample_bag(args.out, sequence, storage=args.storage, encoding=args.encoding, progress=not args.quiet)
    print(f"wrote {args.out} ({args.storage}, {args.frames} frames {args.width}x{args.height}, seed {args.seed})")
    return 0


def _option(field: re.Match[str]) -> str:
    """The command-line option of a ``SyntheticConfig`` field: ``moving_objects`` -> ``--moving-objects``."""
    return "--" + field.group(1).replace("_", "-")


def register_make_sample(subparsers) -> None:
    parser = subparsers.add_parser(
        "make-sample",
        help="write a synthetic ROS 2 bag (camera, camera_info, odometry, tf, ground-truth depth)",
        description="Render a synthetic posed RGB-D sequence with exact ground truth into a ROS 2 bag.",
    )
    parser.add_argument("out", type=Path, help="bag folder to create (must not exist)")
    parser.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap", help="bag storage (default: mcap)")
    parser.add_argument("--frames", type=int, default=100, help="camera frames at 10 Hz (default: 100)")
    parser.add_argument("--width", type=int, default=320, help="image width in pixels (default: 320)")
    parser.add_argument("--height", type=int, default=256, help="image height in pixels (default: 256)")
    parser.add_argument("--seed", type=int, default=0, help="scene and texture seed (default: 0)")
    parser.add_argument("--scene", choices=["corridor", "room"], default="corridor", help="default: corridor")
    parser.add_argument(
        "--trajectory",
        default="mixed",
        choices=("mixed", "forward", "orbit"),
        help="mixed | forward (corridor) | orbit (default: mixed)",
    )
    parser.add_argument("--moving-objects", type=int, default=2, help="independently moving boxes (default: 2)")
    parser.add_argument("--encoding", choices=["rgb8", "bgr8"], default="rgb8", help="colour encoding (default: rgb8)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_make_sample)


def _preview(args: argparse.Namespace) -> int:
    from depth_ros.data.bag_layout import BagTopics
    from depth_ros.data.bag_reader import BagReader
    from depth_ros.data.preview import save_preview

    topics = BagTopics(
        image=args.image_topic, camera_info=args.camera_info_topic, depth=args.depth_topic, odometry=args.odom_topic
    )
    reader = BagReader(args.bag, topics)
    frames = reader.read_all()
    if not frames:
        raise DepthRosError(f"no readable frames in {args.bag}: {dict(reader.issues) or 'no images'}")
    save_preview(frames, args.out, f"{args.bag.name}: {len(frames)} frames, extrinsic from {reader.extrinsic_source}")
    for issue, count in sorted(reader.issues.items()):
        print(f"note: {issue}" + (f" ({count} times)" if count > 1 else ""))
    print(f"wrote {args.out}")
    return 0


def register_preview(subparsers) -> None:
    parser = subparsers.add_parser(
        "preview", help="draw a bag's frames, ground-truth depth and camera path to a PNG",
        description="Read a ROS 2 bag with depth_ros's reader and draw example frames and the camera path.",
    )  # fmt: skip
    parser.add_argument("bag", type=Path, help="bag folder (or .mcap/.db3 file)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    from depth_ros.data.bag_layout import BagTopics

    parser.add_argument("--image-topic", default=BagTopics.image, help=f"default: {BagTopics.image}")
    parser.add_argument("--camera-info-topic", default=BagTopics.camera_info, help=f"default: {BagTopics.camera_info}")
    parser.add_argument("--depth-topic", default=BagTopics.depth, help=f"default: {BagTopics.depth}")
    parser.add_argument("--odom-topic", default=BagTopics.odometry, help=f"default: {BagTopics.odometry}")
    parser.set_defaults(handler=_preview)


def _demo(args: argparse.Namespace) -> int:
    from depth_ros.demo import run_demo

    return run_demo(args.out, args.frames, live=not args.offline)


def register_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="the first thing to run: sample bag, both depth nodes live over DDS, evaluation report",
        description="Generate (or reuse) the sample bag, run both depth pipelines on it offline and both ROS nodes "
        "live over DDS, and write an evaluation report into the output folder.",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("demo_output"), help="output folder (default: demo_output)")
    parser.add_argument("--frames", type=int, default=100, help="frames in the sample bag (default: 100)")
    parser.add_argument("--offline", action="store_true", help="skip the live run over DDS (no rclpy needed)")
    parser.set_defaults(handler=_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="depth-ros", description="Learned dense metric depth for ROS 2.")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show what depth_ros chooses and does (the backend auto picks, exports to the ONNX cache, the "
        "trainer's loading processes), before the command: depth-ros -v eval ...",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_demo(subparsers)
    from depth_ros.eval.command import register_eval

    register_eval(subparsers)
    from depth_ros.export.command import register_export

    register_export(subparsers)
    register_make_sample(subparsers)
    register_preview(subparsers)
    from depth_ros.runtime.command import register_bench, register_build_engine

    register_build_engine(subparsers)
    register_bench(subparsers)
    from depth_ros.train.command import register_train

    register_train(subparsers)
    from depth_ros.ros.command import register_run
    from depth_ros.ros.play_command import register_play

    register_run(subparsers)
    register_play(subparsers)
    return parser


_FILE_SYSTEM_ERRORS = (PermissionError, FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError)
_FILE_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.ENAMETOOLONG, errno.ENOTEMPTY, errno.EXDEV}


def _is_file_system_error(error: OSError) -> bool:
    """Whether ``error`` is about a path (no permission, a full disk, a file in the way), not a bug."""
    return isinstance(error, _FILE_SYSTEM_ERRORS) or error.errno in _FILE_SYSTEM_ERRNOS


def _os_error_line(error: OSError) -> str:
    """One line for a file-system error, naming the path the user gave and any file in its way.

    Our files are written to a temporary ``.NAME.*.tmp`` beside them and moved into place with
    ``os.replace``, whose error names both: the destination is the path the user knows.
    """
    if not error.filename:
        return str(error)
    path = Path(error.filename)
    if error.filename2:
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            path = Path(error.filename2)
        else:
            return f"{error.strerror or error}: {path} -> {error.filename2}"
    if isinstance(error, FileExistsError) and path.is_file():
        return f"{path} already exists and is a file"
    if isinstance(error, (FileExistsError, NotADirectoryError)):
        in_the_way = file_in_the_way(path)
        if in_the_way is not None:
            return f"{path}: {in_the_way} is a file, not a folder"
    return f"{error.strerror or error}: {path}"


def _show_info_logs() -> None:
    """depth_ros's INFO log lines on stderr (warnings show without it, through Python's last-resort handler)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("depth_ros")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and hasattr(args, "overrides"):  # key=value overrides may follow options (depth-ros train)
        args.overrides = [*args.overrides, *extra]
    elif extra and hasattr(args, "ros_args"):  # --ros-args ... goes to rclpy (depth-ros run)
        args.ros_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.verbose:
        _show_info_logs()
    try:
        status = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
        return status
    except DepthRosError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # whoever read our output left (depth-ros ... | head): nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1
    except OSError as error:  # an output path that is a file, a read-only folder, a full disk
        if not _is_file_system_error(error):
            raise
        print(f"error: {_os_error_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
