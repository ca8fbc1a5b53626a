"""Start a depth node, spin it until Ctrl-C or shutdown, and stop cleanly.

A problem at start (no model file, a wrong parameter) is one ``error: ...`` line and exit status 2, not a
traceback; the node's own errors while running are logged and never stop it.
"""

from __future__ import annotations

import ast
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from depth_ros.errors import DepthRosError

if TYPE_CHECKING:
    from depth_ros.ros.depth_node import DepthNode


def _rcl_message(error: RuntimeError) -> str:
    """rcl's error text without the C source locations it appends (``..., at src/rcl/arguments.c:352``)."""
    if type(error).__name__ == "UnknownROSArgsError":  # its text is the repr of a list: "['--bogus', 'x']"
        try:
            unknown = " ".join(ast.literal_eval(str(error)))
        except (ValueError, SyntaxError, TypeError):
            unknown = str(error)
        return f"unknown arguments {unknown} (ROS arguments: -r from:=to, -p name:=value, --params-file FILE)"
    text = str(error).removeprefix("failed to initialize rcl: ")
    return re.sub(r",? at [^,]*\.c:\d+", "", text).strip()


def _init_quietly(rclpy, args: list[str]) -> None:
    """``rclpy.init`` without rcl's own ``[ERROR] [rcl]: Failed to parse ...`` log line on a bad argument.

    The exception carries the same news; the caller prints it as the one error line. Afterwards the ``rcl``
    logger follows ``--log-level`` again (unset, so the default level applies), unless that named it.
    """
    from rclpy.logging import LoggingSeverity, set_logger_level

    set_logger_level("rcl", LoggingSeverity.FATAL)
    try:
        rclpy.init(args=args)
    finally:
        if not any(arg.startswith("rcl:=") for arg in args):
            set_logger_level("rcl", LoggingSeverity.UNSET)


def _wait_for_shutdown(rclpy, timeout_s: float) -> bool:
    """Whether rclpy's context is (or within ``timeout_s`` becomes) shut down."""
    deadline = time.monotonic() + timeout_s
    while rclpy.ok():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _interrupt_once(signum: int, frame: object) -> None:
    """SIGINT handler: the first Ctrl-C stops the node (``KeyboardInterrupt``), later ones are ignored.

    A terminal's Ctrl-C reaches the whole process group, so under ``ros2 launch`` the node gets the terminal's
    SIGINT and, milliseconds later, the one launch forwards. Raised inside ``destroy_node``, the second one
    interrupted the join of the inference thread: a traceback, and a native thread still running at exit
    aborted the process (exit code -6).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_node(make_node: Callable[[], DepthNode], args: Sequence[str] | None = None) -> int:
    """``rclpy.init(args)``, build the node, spin; returns the exit status."""
    import cv2

    # Images here are small: OpenCV's thread pool costs more in wake-ups (and fights the inference threads for
    # the cores) than it gains; one thread measured 2x faster per frame in benchmarks/node_overhead.py.
    cv2.setNumThreads(1)
    arguments = list(args) if args is not None else sys.argv
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:  # rclpy.init keeps the handler it finds and calls it after its own
        previous_sigint = signal.signal(signal.SIGINT, _interrupt_once)
    try:
        return _spin(make_node, arguments)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous_sigint)


def _spin(make_node: Callable[[], DepthNode], arguments: list[str]) -> int:
    """:func:`run_node` once SIGINT is handled."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    from depth_ros.ros.parameters import overrides_not_taken, parameters_not_declared

    try:
        _init_quietly(rclpy, arguments)
    except RuntimeError as error:  # rcl's UnknownROSArgsError / RCLError: a bad --ros-args or params file
        print(f"error: cannot start ROS: {_rcl_message(error)}", file=sys.stderr)
        return 2
    node = None
    try:
        node = make_node()
        declared = set(node.get_parameters_by_prefix(""))
        for sentence in [
            *overrides_not_taken(arguments, node.get_name(), node.params),
            *parameters_not_declared(arguments, node.get_name(), declared),
        ]:
            node.get_logger().warning(sentence)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except DepthRosError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # Ctrl-C while the executor was taking a message: rclpy raises from that take, either because its
        # signal handler's thread has shut the context down meanwhile, or as pybind11's "Unable to convert
        # call argument" when the KeyboardInterrupt landed inside the take; the shutdown follows within ms.
        if not _wait_for_shutdown(rclpy, timeout_s=1.0):
            raise
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
