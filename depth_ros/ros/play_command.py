"""``depth-ros play BAG [--rate R] [--loop] [--restamp] [--topics ...]``: play a bag into ROS, for machines
without ``ros2 bag play`` (the PyPI wheels of ``make``), so that ``depth-ros run mono|multiview`` has input.

Like ``ros2 bag play``: every topic whose message package is installed, in recording order at the recorded
pace, reliable (keep last 10), the recorded stamps unless ``--restamp`` shifts them so that the recording
appears to happen now (then each loop starts at the time it is played, and latencies in ``/diagnostics`` mean
something). Topics of packages that are not installed (``tf2_msgs`` from the wheels) are named and skipped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _play(args: argparse.Namespace) -> int:
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from depth_ros.errors import DepthRosError
    from depth_ros.ros.bag_player import BagPlayer

    if not args.rate > 0:
        raise DepthRosError(f"--rate must be above 0, got {args.rate}")
    # Ctrl-C as a plain KeyboardInterrupt: rclpy's own handler would shut the context down under a publish
    rclpy.init(args=["--ros-args", "--disable-rosout-logs"], signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("depth_ros_bag_player")
    try:
        player = BagPlayer(node, args.bag, topics=args.topics or None)
        for topic, why in player.skipped_topics.items():
            print(f"note: not playing {topic}: {why}", file=sys.stderr)
        time.sleep(args.delay)  # let subscribers discover the publishers: DDS drops what comes before
        loop = 0
        while True:
            loop += 1
            start = node.get_clock().now().nanoseconds if args.restamp else None
            playback = player.play(rate=args.rate, restamp_to_ns=start)
            counts = ", ".join(f"{topic} {count}" for topic, count in sorted(playback.published.items()))
            print(f"played {args.bag} ({playback.duration_s:.1f} s{f', loop {loop}' if args.loop else ''}): {counts}")
            if not args.loop:
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def register_play(subparsers) -> None:
    parser = subparsers.add_parser(
        "play",
        help="play a ROS 2 bag into ROS (for depth-ros run without ros2 bag play)",
        description="Publish a bag's messages as recorded, like ros2 bag play.",
        epilog="example: depth-ros play demo_output/sample_bag --loop & depth-ros run multiview",
    )
    parser.add_argument("bag", type=Path, help="a ROS 2 bag folder (mcap or sqlite3)")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor of the recorded pace (default: 1)")
    parser.add_argument("--loop", action="store_true", help="play again from the start until Ctrl-C")
    parser.add_argument("--restamp", action="store_true", help="shift header stamps so that each pass happens now")
    parser.add_argument("--topics", nargs="+", metavar="TOPIC", help="play only these topics (default: all)")
    parser.add_argument(
        "--delay", type=float, default=1.0, help="seconds between creating the publishers and playing (default: 1)"
    )
    parser.set_defaults(handler=_play)
