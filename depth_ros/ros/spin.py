"""Start a depth node, spin it until Ctrl-C or shutdown, and stop cleanly.

A problem at start (no model file, a wrong parameter) is one ``error: ...`` line and exit status 2, not a
traceback; the node's own errors while running are logged and never stop it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence

from depth_ros.errors import DepthRosError


def _rcl_message(error: RuntimeError) -> str:
    """rcl's error text without the C source locations it appends (``..., at src/rcl/arguments.c:352``)."""
    text = str(error).removeprefix("failed to initialize rcl: ")
    if type(error).__name__ == "UnknownROSArgsError":
        return f"unknown arguments {text} (ROS arguments: -r from:=to, -p name:=value, --params-file FILE)"
    return re.sub(r",? at [^,]*\.c:\d+", "", text).strip()


def run_node(make_node: Callable[[], object], args: Sequence[str] | None = None) -> int:
    """``rclpy.init(args)``, build the node, spin; returns the exit status."""
    import cv2
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    # Images here are small: OpenCV's thread pool costs more in wake-ups (and fights the inference threads for
    # the cores) than it gains; one thread measured 2x faster per frame in benchmarks/node_overhead.py.
    cv2.setNumThreads(1)
    try:
        rclpy.init(args=list(args) if args is not None else sys.argv)
    except RuntimeError as error:  # rcl's UnknownROSArgsError / RCLError: a bad --ros-args or params file
        print(f"error: cannot start ROS: {_rcl_message(error)}", file=sys.stderr)
        return 2
    node = None
    try:
        node = make_node()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except DepthRosError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        if rclpy.ok():
            raise
        # Ctrl-C shut rclpy down while the executor was taking a message: rclpy raises from that take
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
