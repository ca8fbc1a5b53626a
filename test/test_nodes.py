"""The depth nodes over real rclpy and real DDS (an isolated, localhost-only domain; see ros_graph.py).

A bag player publishes recorded images, camera_info and odometry; a probe node receives what the nodes
publish. Pins down: outputs and their layouts, input headers copied, metric depth from the multiview node,
the mono node's scale modes, and bad input that is counted and logged while the node keeps running.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from nav_msgs.msg import Odometry
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
from ros_graph import RosGraph, wait_for
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from test_throttled_log import RecordingLogger

from depth_ros.data.bag_writer import write_sample_bag
from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.encodings import image_to_depth
from depth_ros.errors import CameraModelError, DepthRosError
from depth_ros.geometry import PinholeCamera, matrix_to_quaternion
from depth_ros.resources import package_file
from depth_ros.ros.bag_player import BagPlayer
from depth_ros.ros.messages import camera_info_message, rgb_image_message, stamp_ns
from depth_ros.ros.mono_node import MonoDepthNode
from depth_ros.ros.multiview_node import MultiViewDepthNode
from depth_ros.ros.qos import qos_profile
from depth_ros.ros.throttled_log import ThrottledLog

pytestmark = pytest.mark.ros

INPUTS = {"image": "/camera/image_raw", "camera_info": "/camera/camera_info", "odom": "/odom"}
NETWORK_SIZE = (128, 96)  # width, height of both shipped models


def remaps(**topics: str) -> list[str]:
    """``cli_args`` remapping the nodes' inputs (default: the sample bag's topics)."""
    args = ["--ros-args"]
    for name, topic in {**INPUTS, **topics}.items():
        args += ["-r", f"{name}:={topic}"]
    return args


def parameters(**values: object) -> list[Parameter]:
    return [Parameter(name, value=value) for name, value in values.items()]


def processed(node) -> int:
    """Frames the node has finished with (published, skipped, failed or dropped)."""
    return node.stats.snapshot().finished


def settle(node, timeout_s: float = 60.0) -> None:
    """Wait until the node has dealt with every frame it received."""
    snapshot = node.stats.snapshot
    assert wait_for(lambda: snapshot().all_finished and snapshot().received > 0, timeout_s), snapshot()


@pytest.fixture(scope="module")
def corridor() -> SyntheticSequence:
    """Driving forward down a street that no training run saw (seed 1002), 3 s at 10 Hz."""
    config = SyntheticConfig(frames=30, width=256, height=192, seed=1002, trajectory="forward", moving_objects=0)
    return SyntheticSequence(config)


@pytest.fixture(scope="module")
def corridor_bag(corridor: SyntheticSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_bag(tmp_path_factory.mktemp("nodes") / "corridor", corridor)


def play(graph: RosGraph, bag: Path, nodes: list, restamp_to_ns: int | None = None) -> int:
    """Play the bag's inputs once the nodes listen, each image only once the nodes are done with the previous
    ones (so that a slow or busy machine changes the timing, not the result: dropping frames is tested apart),
    restamped to start at ``restamp_to_ns`` (default: now); returns the stamp offset (ns) of the playback."""
    player = BagPlayer(graph.probe, bag, topics=list(INPUTS.values()))
    assert player.wait_for_subscribers(list(INPUTS.values()), 20.0)
    assert wait_for(lambda: all(n.output_subscribers() > 0 and n.input_publishers() > 0 for n in nodes), 20.0)
    images = 0
    before = {n: n.stats.snapshot().finished for n in nodes}  # a node may have played a bag already

    def keep_up(topic: str, message) -> None:
        nonlocal images
        if topic == INPUTS["image"]:
            done = [wait_for(lambda n=n: n.stats.snapshot().finished - before[n] >= images, 60.0) for n in nodes]
            assert all(done)
            images += 1

    start = graph.probe.get_clock().now().nanoseconds if restamp_to_ns is None else restamp_to_ns
    playback = player.play(rate=1.0, restamp_to_ns=start, before_publish=keep_up)
    for node in nodes:
        settle(node)
    time.sleep(0.5)  # the last messages in flight
    return playback.stamp_offset_ns


def ground_truth(sequence: SyntheticSequence, stamp: int) -> np.ndarray:
    """Ground-truth depth of the recorded frame with ``stamp`` at the network size (nearest pixel)."""
    index = next(i for i in range(len(sequence)) if sequence.stamp_ns(sequence.frame_time(i)) == stamp)
    return cv2.resize(sequence.frame(index).depth, NETWORK_SIZE, interpolation=cv2.INTER_NEAREST)


def abs_rel(depth: np.ndarray, truth: np.ndarray) -> float:
    valid = np.isfinite(truth) & np.isfinite(depth)
    return float(np.mean(np.abs(depth[valid] - truth[valid]) / truth[valid]))


def test_multiview_node_publishes_metric_depth_with_the_input_headers(graph, corridor, corridor_bag) -> None:
    node = graph.add(MultiViewDepthNode(context=graph.context, namespace="mv", cli_args=remaps()))
    depth, info = graph.listen(Image, "/mv/depth/image"), graph.listen(CameraInfo, "/mv/depth/camera_info")
    points, diagnostics = graph.listen(PointCloud2, "/mv/depth/points"), graph.listen(DiagnosticArray, "/diagnostics")
    offset = play(graph, corridor_bag, [node])
    graph.remove(node)

    recorded = {corridor.stamp_ns(corridor.frame_time(i)) for i in range(len(corridor))}
    assert len(depth) >= 5, node.stats.snapshot()
    assert [stamp_ns(m.header.stamp) for m in info] == [stamp_ns(m.header.stamp) for m in depth]
    assert [stamp_ns(m.header.stamp) for m in points] == [stamp_ns(m.header.stamp) for m in depth]
    camera = corridor.camera.resized(*NETWORK_SIZE)
    errors = []
    for image, camera_info, cloud in zip(depth, info, points, strict=True):
        assert {image.header.frame_id, camera_info.header.frame_id, cloud.header.frame_id} == {"camera_optical_frame"}
        assert stamp_ns(image.header.stamp) - offset in recorded
        assert (image.encoding, image.width, image.height, image.step) == ("32FC1", 128, 96, 128 * 4)
        np.testing.assert_allclose(np.reshape(camera_info.k, (3, 3)), camera.K, rtol=1e-9)
        np.testing.assert_allclose(np.reshape(camera_info.p, (3, 4)), camera.P, rtol=1e-9)
        assert (cloud.height, cloud.width, cloud.point_step, cloud.is_dense) == (96, 128, 16, False)
        assert [(f.name, f.offset, f.datatype) for f in cloud.fields] == [("x", 0, 7), ("y", 4, 7), ("z", 8, 7)]
        z = np.frombuffer(bytes(cloud.data), np.float32).reshape(96, 128, 4)[..., 2]
        np.testing.assert_array_equal(z, image_to_depth(image))
        errors.append(abs_rel(image_to_depth(image), ground_truth(corridor, stamp_ns(image.header.stamp) - offset)))
    assert np.median(errors) < 0.38, errors  # metric, no scaling: 0.315 measured on this sequence
    reports = [s for array in diagnostics for s in array.status if s.name.startswith("/mv/multiview_depth_node")]
    # Reports whose period saw images: once the bag has ended the node rightly says "no images received",
    # and on a loaded machine such a report can come before the node is removed.
    received = [int({v.key: v.value for v in s.values}["received"]) for s in reports]
    statuses = [s for s, now, before in zip(reports, received, [0, *received], strict=False) if now > before]
    assert statuses and statuses[-1].level == DiagnosticStatus.OK
    values = {v.key: v.value for v in statuses[-1].values}
    assert 0 < int(values["published"]) <= len(depth) and "pytorch" in values["engine"]  # reports once a second


def test_multiview_node_follows_a_bag_played_again(graph, corridor_bag) -> None:
    """``ros2 bag play --loop``: the second pass repeats the first one's stamps. Odometry and images each start a
    new time line after three stamps in a row behind the newest, so the second pass gives depth again, all but
    its first few frames."""
    node = graph.add(MultiViewDepthNode(context=graph.context, namespace="loop", cli_args=remaps()))
    depth = graph.listen(Image, "/loop/depth/image")
    start = graph.probe.get_clock().now().nanoseconds
    play(graph, corridor_bag, [node], restamp_to_ns=start)
    first = [stamp_ns(m.header.stamp) for m in depth]
    play(graph, corridor_bag, [node], restamp_to_ns=start)
    second = [stamp_ns(m.header.stamp) for m in depth][len(first) :]
    skipped, restarts = node.stats.snapshot().skipped, node.odometry.restarts
    graph.remove(node)
    assert len(first) >= 5 and len(second) >= len(first) - 3, (first, second, skipped)
    # odometry starts its new time line once; the images theirs after 2 late ones, or at once when the
    # odometry's restart came first (it clears the keyframes and the image stamps seen)
    assert set(second) <= set(first) and restarts == 1 and skipped.get("image out of order", 0) <= 2, skipped


def test_mono_node_output_follows_scale_mode(graph, corridor, corridor_bag) -> None:
    modes = {
        "relative": {},
        "fixed": {"scale_mode": "fixed", "scale_factor": 2.5},
        "odometry": {"scale_mode": "odometry", "scale_window": 5},
    }
    nodes, outputs = {}, {}
    for name, values in modes.items():
        node = MonoDepthNode(
            context=graph.context, namespace=name, cli_args=remaps(), parameter_overrides=parameters(**values)
        )
        nodes[name] = graph.add(node)
        outputs[name] = graph.listen(Image, f"/{name}/depth/image")
    offset = play(graph, corridor_bag, list(nodes.values()))
    for node in nodes.values():
        graph.remove(node)

    by_stamp = {
        name: {stamp_ns(m.header.stamp): image_to_depth(m) for m in messages} for name, messages in outputs.items()
    }
    common = sorted(set(by_stamp["relative"]) & set(by_stamp["fixed"]))
    assert len(common) >= 5
    for stamp in common:
        np.testing.assert_allclose(by_stamp["fixed"][stamp], 2.5 * by_stamp["relative"][stamp], rtol=1e-5)
    # odometry: nothing until the robot has moved, then a metric scale from odometry vs the pose network
    assert nodes["odometry"].stats.snapshot().skipped.get("waiting for a metric scale", 0) >= 1
    metric = by_stamp["odometry"]
    assert len(metric) >= 5
    ratios = [np.nanmedian(ground_truth(corridor, stamp - offset) / depth) for stamp, depth in metric.items()]
    assert 0.5 < np.median(ratios) < 2.0, ratios  # a relative model made metric to within a factor of 2


def _header(stamp: int, frame_id: str = "camera_optical_frame") -> Header:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = divmod(stamp, 1_000_000_000)
    return header


def _image(rgb: np.ndarray, stamp: int, encoding: str | None = None) -> Image:
    message = rgb_image_message(rgb, _header(stamp))
    if encoding is not None:
        message.encoding = encoding
    return message


def test_mono_node_survives_bad_input_and_recovers(graph, corridor) -> None:
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="bad",
            cli_args=remaps(image="/bad/in/image", camera_info="/bad/in/camera_info"),
            # reliable input: no transport loss, so the last image always arrives (best effort may lose any)
            parameter_overrides=parameters(max_input_pixels=2_000_000, input_qos="reliable"),
        )
    )
    images, infos = graph.publisher(Image, "/bad/in/image"), graph.publisher(CameraInfo, "/bad/in/camera_info")
    depth = graph.listen(Image, "/bad/depth/image")
    assert wait_for(lambda: images.get_subscription_count() and infos.get_subscription_count(), 20.0)
    frame = corridor.frame(10)
    now = graph.probe.get_clock().now().nanoseconds

    def send(message: Image) -> None:
        before = processed(node)
        images.publish(message)
        assert wait_for(lambda: processed(node) > before, 20.0)

    send(_image(frame.rgb, now))  # before any camera_info
    assert node.stats.snapshot().skipped == {"no camera_info yet": 1}
    zero = camera_info_message(frame.camera, _header(now))
    zero.k = [0.0] * 9
    infos.publish(zero)
    time.sleep(0.3)
    send(_image(frame.rgb, now + 1))
    assert node.stats.snapshot().skipped["invalid camera_info"] == 1
    infos.publish(camera_info_message(frame.camera, _header(now)))
    time.sleep(0.3)
    send(_image(frame.rgb, now + 2, encoding="yuv422"))
    send(_image(np.zeros((1000, 2100, 3), np.uint8), now + 3))  # over max_input_pixels
    send(_image(frame.rgb[:100], now + 4))  # not the size camera_info gives
    assert node.stats.snapshot().failed == {"ImageEncodingError": 3}
    assert not depth
    send(_image(frame.rgb, now + 5))  # good input again
    assert wait_for(lambda: len(depth) == 1, 10.0)

    big = PinholeCamera.from_fov(1600, 1200, 80.0)  # a large image is resized, not refused
    infos.publish(camera_info_message(big, _header(now)))
    time.sleep(0.3)
    send(_image(cv2.resize(frame.rgb, (1600, 1200)), now + 6))
    assert wait_for(lambda: len(depth) == 2, 10.0)
    assert (depth[-1].width, depth[-1].height) == NETWORK_SIZE

    before = node.stats.snapshot()
    large, start = cv2.resize(frame.rgb, (1600, 1200)), time.monotonic()
    for i in range(100):  # 100 Hz, faster than inference keeps up (about 13 ms a frame at this size)
        images.publish(_image(large, now + 10 + i))
        time.sleep(max(0.0, start + (i + 1) * 0.01 - time.monotonic()))  # the publish itself takes some of the 10 ms
    for i in range(50):  # then as fast as publishing goes: a fast machine keeps up with 100 Hz of these
        images.publish(_image(large, now + 110 + i))
    # the newest frame is never the one dropped: its depth comes out last
    assert wait_for(lambda: stamp_ns(depth[-1].header.stamp) == now + 159, 30.0), stamp_ns(depth[-1].header.stamp)
    settle(node)
    after = node.stats.snapshot()
    # DDS keeps one image for the node: those it replaced count from the gaps in the publisher's sequence numbers
    received = after.received - before.received
    assert received == 150
    assert after.dropped > before.dropped  # latest frame wins; the replaced ones are counted
    assert after.published - before.published == received - (after.dropped - before.dropped)
    graph.remove(node)


def test_a_camera_info_is_read_again_only_when_its_calibration_changed() -> None:
    """camera_info comes with nearly every image: an unchanged calibration keeps the camera in use, any change
    (also back to a calibration used before, or after a refused one) is read again, and a refused one is logged
    each time it comes (throttled by the node's log)."""
    from types import SimpleNamespace

    logged: list[str] = []
    node = SimpleNamespace(_calibration=None, _camera=None, log=lambda level, key, text: logged.append(text))
    a, b = PinholeCamera.from_fov(320, 240, 80.0), PinholeCamera.from_fov(320, 240, 60.0)
    zero = camera_info_message(a, _header(0))
    zero.k = [0.0] * 9
    for info, expected, refused, kept in [
        (camera_info_message(a, _header(0)), a, 0, False),
        (camera_info_message(a, _header(1)), a, 0, True),  # another stamp, the same calibration: not read again
        (camera_info_message(b, _header(2)), b, 0, False),
        (zero, CameraModelError, 1, False),
        (zero, CameraModelError, 2, False),  # refused again, and logged again
        (camera_info_message(a, _header(3)), a, 2, False),
    ]:
        camera_before = node._camera
        MonoDepthNode._update_camera(node, info)
        if expected is CameraModelError:
            assert isinstance(node._camera, CameraModelError)
        else:
            assert node._camera == expected
        assert (node._camera is camera_before, len(logged)) == (kept, refused)


def test_the_diagnostics_report_logs_held_back_problems_that_never_recur(graph) -> None:
    """Different bad camera_infos in a row share one throttled log key: the first is logged at once, the newest
    of the others at the first diagnostics report after the throttle period, though no further one comes."""
    node = graph.add(
        MonoDepthNode(context=graph.context, namespace="flush", parameter_overrides=parameters(diagnostics_period=0.05))
    )
    logger = RecordingLogger()
    node.log = ThrottledLog(logger, period_s=0.2)
    for problem in ("all-zero K", "skew", "non-finite intrinsics"):
        node.log("error", "camera_info", f"camera_info refused: {problem}")
    assert wait_for(lambda: len(logger.lines) == 2, 20.0), logger.lines
    assert logger.lines[1] == ("error", "camera_info refused: non-finite intrinsics (1 more since the last report)")
    graph.remove(node)


class _GpuLikeMonoNode(MonoDepthNode):
    """The mono node as on a GPU: 40 ms added to each inference and to each frame's publishing, both spent
    waiting (no CPU, the GIL released), and publishing apart; records when each of the two ran."""

    def publish_apart(self) -> bool:
        return True

    def __init__(self, **kwargs):
        self.inferring: list[tuple[float, float]] = []
        self.publishing: list[tuple[float, float]] = []
        super().__init__(**kwargs)

    def estimate(self, rgb, camera, stamp, frame_id):
        start = time.monotonic()
        time.sleep(0.04)
        result = super().estimate(rgb, camera, stamp, frame_id)
        self.inferring.append((start, time.monotonic()))
        return result

    def _publish(self, result, header) -> None:
        start = time.monotonic()
        time.sleep(0.04)
        super()._publish(result, header)
        self.publishing.append((start, time.monotonic()))


def test_publishing_a_frame_overlaps_the_next_inference(graph, corridor) -> None:
    """With an engine on a GPU, inference and publishing run on threads of their own: while a frame's outputs
    are published, the next frame infers, so a camera faster than both gets depth at the rate of the slower
    one (about 1 / 40 ms here), not of their sum (1 / 80 ms, as one thread would, and does on the CPU)."""
    topics = {"image": "/overlap/in/image", "camera_info": "/overlap/in/camera_info"}
    node = graph.add(_GpuLikeMonoNode(context=graph.context, namespace="overlap", cli_args=remaps(**topics)))
    images, infos = graph.publisher(Image, topics["image"]), graph.publisher(CameraInfo, topics["camera_info"])
    arrivals: list[float] = []
    graph.probe.create_subscription(
        Image, "/overlap/depth/image", lambda _: arrivals.append(time.monotonic()), qos_profile("reliable", 10)
    )
    assert wait_for(lambda: images.get_subscription_count() and infos.get_subscription_count(), 20.0)
    frame, now = corridor.frame(5), graph.probe.get_clock().now().nanoseconds
    infos.publish(camera_info_message(frame.camera, _header(now)))
    time.sleep(0.3)
    start = time.monotonic()
    for i in range(300):  # 3 s at 100 Hz
        images.publish(_image(frame.rgb, now + i))
        time.sleep(max(0.0, start + (i + 1) * 0.01 - time.monotonic()))
    settle(node)
    assert node.stats.snapshot().failed == {} and len(node.publishing) >= 20
    overlapping = [p for p in node.publishing if any(i[0] < p[1] and p[0] < i[1] for i in node.inferring)]
    assert len(overlapping) >= len(node.publishing) // 2, f"{len(overlapping)} of {len(node.publishing)} overlap"
    steady = [t for t in arrivals if start + 0.5 < t < start + 3.0]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert rate > 15.0, f"{rate:.1f} depth images per second (one thread: at most 12.5)"

    # deactivated while one frame infers and one waits to be published: both still go out
    for i in range(10):
        images.publish(_image(frame.rgb, now + 1000 + i))
        time.sleep(0.01)
    time.sleep(0.05)
    assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
    snapshot = node.stats.snapshot()
    assert snapshot.all_finished and snapshot.published == len(node.publishing) and snapshot.failed == {}
    assert wait_for(lambda: len(arrivals) == snapshot.published, 10.0), (len(arrivals), snapshot)
    assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS and wait_for(
        lambda: node.input_publishers() > 0, 20.0
    )
    for i in range(50):  # until the camera's publisher has matched the new subscription too
        images.publish(_image(frame.rgb, now + 2000 + i))
        if wait_for(lambda: len(arrivals) > snapshot.published, 0.2):
            break
    assert len(arrivals) > snapshot.published
    graph.remove(node)


def _image_inputs(diagnostics: list[DiagnosticArray], node: str) -> list[str]:
    """The ``image_input`` value of each /diagnostics status of ``node`` (its fully qualified name) so far."""
    return [
        {v.key: v.value for v in status.values}["image_input"]
        for array in list(diagnostics)
        for status in array.status
        if status.name.startswith(node)
    ]


def test_image_input_qos_follows_the_image_publishers(graph, corridor) -> None:
    """input_qos auto: no image subscription before a publisher exists; reliable for reliable publishers, so
    that 640x480 images from another process (over the ~0.5 MB above which best effort loses nearly all of them
    with Fast DDS defaults: see depth_ros.ros.qos) all arrive; best effort while a best-effort publisher is
    there too, and reliable again once it leaves (with no publisher left, it stays as it was). camera_info
    follows its own publishers the same way."""
    topic = "/qos/in/image"
    diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="qos",
            cli_args=remaps(image=topic, camera_info="/qos/in/info"),
            parameter_overrides=parameters(diagnostics_period=0.2),
        )
    )

    def subscribed(to: str = topic) -> list:
        return [info.qos_profile.reliability for info in graph.probe.get_subscriptions_info_by_topic(to)]

    time.sleep(1.0)
    assert subscribed() == [] == subscribed("/qos/in/info") and node.input_publishers() == 0
    depth = graph.listen(Image, "/qos/depth/image")
    count = 20  # 4 s: camera_info lost beside the large images is resent at the writer's heartbeat (3 s)
    camera = [sys.executable, str(Path(__file__).with_name("camera_process.py")), topic, "/qos/in/info"]
    result = subprocess.run([*camera, "640", "480", str(count), "5"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and f"sent {count}" in result.stdout, result.stderr
    # camera_info too: best effort, it was lost beside the large images (2-3 of 20 arrived)
    assert subscribed() == [ReliabilityPolicy.RELIABLE] == subscribed("/qos/in/info")
    settle(node)
    snapshot = node.stats.snapshot()
    assert snapshot.received == count, f"{snapshot.received} of {count} 640x480 images arrived"
    assert snapshot.published > 0 and wait_for(lambda: len(depth) == snapshot.published, 10.0)

    reliable = graph.publisher(Image, topic)  # the camera process has gone: the node keeps its subscription
    assert wait_for(lambda: reliable.get_subscription_count() > 0, 20.0)
    assert subscribed() == [ReliabilityPolicy.RELIABLE]
    best_effort = graph.probe.create_publisher(Image, topic, qos_profile("sensor_data"))
    assert wait_for(lambda: subscribed() == [ReliabilityPolicy.BEST_EFFORT], 10.0), subscribed()
    infos = graph.publisher(CameraInfo, "/qos/in/info")
    assert wait_for(lambda: best_effort.get_subscription_count() and infos.get_subscription_count(), 20.0)
    frame, now = corridor.frame(11), graph.probe.get_clock().now().nanoseconds
    infos.publish(camera_info_message(frame.camera, _header(now)))
    time.sleep(0.3)
    best_effort.publish(_image(frame.rgb, now))  # 147 kB: best effort carries it
    assert wait_for(lambda: stamp_ns(depth[-1].header.stamp) == now, 20.0)
    graph.probe.destroy_publisher(best_effort)
    assert wait_for(lambda: subscribed() == [ReliabilityPolicy.RELIABLE], 10.0), subscribed()
    assert node.stats.snapshot().failed == {}
    graph.remove(node)
    reported = _image_inputs(diagnostics, "/qos/mono_depth_node")
    assert reported[0] == f"{topic}, not subscribed: no publisher yet (input_qos auto)"
    assert {f"{topic}, reliable", f"{topic}, best effort"} <= set(reported)


def test_a_camera_info_latched_before_the_node_started_is_received(graph, corridor) -> None:
    """A camera_info published once, latched (reliable, transient local: a static camera_info publisher, or a
    bag's latched topic played again), before the node subscribed: input_qos auto subscribes transient local
    to such publishers and gets it; a volatile subscription never would ("no camera_info yet" for good)."""
    frame, now = corridor.frame(12), graph.probe.get_clock().now().nanoseconds
    infos = graph.probe.create_publisher(CameraInfo, "/latched/in/info", qos_profile("latched"))
    infos.publish(camera_info_message(frame.camera, _header(now)))
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="latched",
            cli_args=remaps(image="/latched/in/image", camera_info="/latched/in/info"),
        )
    )
    images, depth = graph.publisher(Image, "/latched/in/image"), graph.listen(Image, "/latched/depth/image")

    def subscribed() -> list:
        return [
            (info.qos_profile.reliability, info.qos_profile.durability)
            for info in graph.probe.get_subscriptions_info_by_topic("/latched/in/info")
        ]

    assert wait_for(lambda: subscribed() == [(ReliabilityPolicy.RELIABLE, DurabilityPolicy.TRANSIENT_LOCAL)], 10.0)
    assert wait_for(lambda: images.get_subscription_count() > 0 and node.input_publishers() > 0, 20.0)
    time.sleep(0.3)
    images.publish(_image(frame.rgb, now))
    assert wait_for(lambda: len(depth) == 1, 20.0), node.stats.snapshot()
    assert stamp_ns(depth[0].header.stamp) == now and node.stats.snapshot().skipped == {}
    graph.remove(node)
    graph.probe.destroy_publisher(infos)


def test_reliable_input_qos_reports_the_best_effort_publishers_it_cannot_hear(graph) -> None:
    """input_qos reliable and a best-effort camera: DDS never matches them, and rclpy's own incompatible-QoS
    warning is off for the camera's inputs (the inference thread takes their messages: see
    depth_ros.ros.camera_inbox), so the node counts such publishers itself, in /diagnostics and a warning."""
    topic = "/unheard/image"
    diagnostics = graph.listen(DiagnosticArray, "/diagnostics")
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="unheard",
            cli_args=remaps(image=topic),
            parameter_overrides=parameters(input_qos="reliable", diagnostics_period=0.2),
        )
    )

    def image_input() -> str:
        reported = _image_inputs(diagnostics, "/unheard/mono_depth_node")
        return reported[-1] if reported else ""

    assert wait_for(lambda: image_input() == f"{topic}, reliable", 10.0), image_input()
    best_effort = graph.probe.create_publisher(Image, topic, qos_profile("sensor_data"))
    unheard = f"{topic}, reliable; 1 best-effort publisher(s) not heard (input_qos reliable)"
    assert wait_for(lambda: image_input() == unheard, 10.0), image_input()
    graph.probe.destroy_publisher(best_effort)
    assert wait_for(lambda: image_input() == f"{topic}, reliable", 10.0), image_input()
    graph.remove(node)


def test_shipped_fastdds_profile_carries_large_best_effort_images(graph) -> None:
    """config/fastdds_large_images.xml in the camera's process: 1280x720 images from a best-effort publisher in
    another process reach a best-effort subscription (with Fast DDS's defaults 2-3 of these 20 did: the 2.8 MB
    images do not fit its 512 KB shared-memory segment and go over UDP in fragments)."""
    from rclpy.utilities import get_rmw_implementation_identifier

    if get_rmw_implementation_identifier() != "rmw_fastrtps_cpp":
        pytest.skip(f"the profile configures Fast DDS; this ROS 2 runs {get_rmw_implementation_identifier()}")
    topic, count = "/large/in/image", 20
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="large",
            cli_args=remaps(image=topic, camera_info="/large/in/info"),
            parameter_overrides=parameters(input_qos="sensor_data"),
        )
    )
    profile = package_file("config/fastdds_large_images.xml")
    camera = [sys.executable, str(Path(__file__).with_name("camera_process.py")), topic, "/large/in/info"]
    # Fast DDS 3 (Kilted) reads the first name, Fast DDS 2.x (Jazzy) only the second
    environment = {
        **os.environ,
        "FASTDDS_DEFAULT_PROFILES_FILE": str(profile),
        "FASTRTPS_DEFAULT_PROFILES_FILE": str(profile),
    }
    result = subprocess.run(
        [*camera, "1280", "720", str(count), "5", "sensor_data"],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert result.returncode == 0 and f"sent {count}" in result.stdout, result.stderr
    settle(node)
    snapshot = node.stats.snapshot()
    # best effort may lose a first frame sent before the subscription has matched the new publisher
    assert snapshot.received >= count - 2, f"{snapshot.received} of {count} 1280x720 best-effort images arrived"
    assert snapshot.published > 0 and snapshot.failed == {}
    graph.remove(node)


def _odometry(stamp: int, T: np.ndarray) -> Odometry:
    message = Odometry(child_frame_id="base_link")
    message.header = _header(stamp, "odom")
    p, q = message.pose.pose.position, message.pose.pose.orientation
    p.x, p.y, p.z = (float(v) for v in T[:3, 3])
    q.x, q.y, q.z, q.w = (float(v) for v in matrix_to_quaternion(T[:3, :3]))
    return message


def _multiview_fed_by_hand(graph, corridor, namespace: str, overrides: list[Parameter] = ()) -> tuple:
    """A multiview node in ``namespace`` whose inputs this test publishes: the node, the image and odometry
    publishers (connected; the corridor's camera_info already sent) and the list its depth images arrive in."""
    topics = {name: f"/{namespace}/in/{name}" for name in ("image", "camera_info", "odom")}
    node = graph.add(
        MultiViewDepthNode(
            context=graph.context, namespace=namespace, cli_args=remaps(**topics), parameter_overrides=list(overrides)
        )
    )
    images, infos = graph.publisher(Image, topics["image"]), graph.publisher(CameraInfo, topics["camera_info"])
    odometry = graph.publisher(Odometry, topics["odom"])
    depth = graph.listen(Image, f"/{namespace}/depth/image")
    assert wait_for(lambda: all(p.get_subscription_count() for p in (images, infos, odometry)), 20.0)
    infos.publish(camera_info_message(corridor.camera, _header(0)))
    return node, images, odometry, depth


def test_multiview_node_forgets_its_keyframes_when_the_odometry_frame_resets(graph, corridor) -> None:
    """The base driver restarts 0.7 m into the run: odometry goes on from the origin. Keyframes placed in the
    old frame would measure the next images with a wrong baseline (they are still within 1 m): the first image
    after the reset finds none of them, and every depth the node publishes, before and after, is right (the
    shipped lite model leans on the image enough that wrong keyframes did not show in its depth here, so the
    keyframes themselves are checked)."""
    slow_robot = parameters(max_odometry_speed=10.0)  # 0.7 m in 20 ms is 35 m/s
    node, images, odometry, depth = _multiview_fed_by_hand(graph, corridor, "jump", slow_robot)
    samples = corridor.odometry()
    reset_at = next(i for i, s in enumerate(samples) if np.linalg.norm(s.T_odom_base[:3, 3]) > 0.7)
    T_new_old = np.linalg.inv(samples[reset_at].T_odom_base)  # the new odometry frame starts at the robot
    sent = 0
    for index in range(30):  # each image after the odometry that covers it, as a robot sends them
        frame = corridor.frame(index)
        while sent < len(samples) and samples[sent].stamp_ns <= frame.stamp_ns + 40_000_000:
            T = samples[sent].T_odom_base
            odometry.publish(_odometry(samples[sent].stamp_ns, T if sent < reset_at else T_new_old @ T))
            sent += 1
            time.sleep(0.002)
        before = processed(node)
        images.publish(_image(frame.rgb, frame.stamp_ns))
        assert wait_for(lambda before=before: processed(node) > before, 20.0)
        if samples[reset_at].stamp_ns < frame.stamp_ns < samples[reset_at].stamp_ns + 100_000_000:  # first after
            kept = [keyframe.stamp_ns for keyframe in node.pipeline.keyframes.keyframes]
            assert kept == [frame.stamp_ns], kept  # the old frame's keyframes are gone: only this image's
    assert node.odometry.buffer.jumps == 1
    graph.remove(node)
    stamps = [stamp_ns(m.header.stamp) for m in depth]
    after = [stamp for stamp in stamps if stamp > samples[reset_at].stamp_ns]
    assert len(stamps) - len(after) >= 2 and len(after) >= 5, node.stats.snapshot()
    errors = [abs_rel(image_to_depth(m), ground_truth(corridor, stamp_ns(m.header.stamp))) for m in depth]
    assert max(errors) < 0.5, errors  # measured at most 0.40 (0.31-0.33 for most frames)


def test_multiview_node_survives_bad_odometry_and_recovers(graph, corridor) -> None:
    node, images, odometry, depth = _multiview_fed_by_hand(graph, corridor, "badodom")
    samples = corridor.odometry()
    start = samples[0].stamp_ns

    def send_odometry(sample, stamp: int | None = None, T: np.ndarray | None = None) -> None:
        odometry.publish(_odometry(sample.stamp_ns if stamp is None else stamp, sample.T_odom_base if T is None else T))
        time.sleep(0.002)  # a stream, not one burst beyond the subscription's queue

    for sample in samples[:60]:  # 1.2 s of good odometry
        send_odometry(sample)
    send_odometry(samples[60], T=np.full((4, 4), np.nan))  # NaN pose
    send_odometry(samples[10])  # out of order
    for sample in samples[100:]:  # then a 0.8 s gap
        send_odometry(sample)
    assert wait_for(lambda: node.stats.snapshot().rejected.get("odometry") == 2, 10.0)

    def send_frame(index: int) -> None:
        before = processed(node)
        frame = corridor.frame(index)
        images.publish(_image(frame.rgb, frame.stamp_ns))
        assert wait_for(lambda: processed(node) > before, 20.0)

    send_frame(15)  # 1.5 s: inside the odometry gap
    assert node.stats.snapshot().skipped == {"odometry gap": 1}
    assert not depth
    for index in range(20, 30):  # good odometry covers these: depth comes back
        send_frame(index)
    last = corridor.stamp_ns(corridor.frame_time(29))
    assert wait_for(lambda: len(depth) >= 5 and stamp_ns(depth[-1].header.stamp) == last, 10.0), node.stats.snapshot()
    assert start < stamp_ns(depth[0].header.stamp)
    graph.remove(node)


def test_depth_ros_run_starts_the_node_and_stops_on_ctrl_c(graph, corridor_bag) -> None:
    # over the shipped file's points_rgb: false, rcl keeps false and drops the integer 1 without a word: we warn
    overrides = ["-p", "points_rgb:=1", "-p", "keyframes.max_baseline:=1e0"]
    run = [sys.executable, "-m", "depth_ros.cli", "run", "multiview", "--ros-args", "-r", "__ns:=/cli", *overrides]
    process = subprocess.Popen([*run, *remaps()[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        depth = graph.listen(Image, "/cli/depth/image")
        player = BagPlayer(graph.probe, corridor_bag, topics=list(INPUTS.values()))
        assert player.wait_for_subscribers(list(INPUTS.values()), 60.0), "depth-ros run did not subscribe"
        player.play(rate=1.0, restamp_to_ns=graph.probe.get_clock().now().nanoseconds)
        assert wait_for(lambda: len(depth) >= 3, 30.0)
    finally:
        # a terminal's Ctrl-C under ros2 launch: the terminal's SIGINT, then the one launch forwards (which once
        # interrupted the join of the inference thread: a traceback and an abort, exit -6)
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in output, output
    assert "/cli/multiview_depth_node" in output or "cli.multiview_depth_node" in output
    assert "-p points_rgb:=1 did not take: points_rgb is false" in output and "max_baseline" not in output


def test_depth_ros_play_feeds_a_node_without_ros2_bag_play(graph, corridor_bag) -> None:
    """``depth-ros play BAG --restamp``, a process of its own, plays the bag to a node over DDS: without a
    ROS 2 install (the PyPI wheels) it is what gives ``depth-ros run`` its input."""
    node = graph.add(MonoDepthNode(context=graph.context, namespace="played", cli_args=remaps()))
    depth = graph.listen(Image, "/played/depth/image")
    command = [sys.executable, "-m", "depth_ros.cli", "play", str(corridor_bag), "--restamp", "--delay", "3"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "/camera/image_raw 30" in result.stdout, result.stdout + result.stderr
    settle(node)
    snapshot = node.stats.snapshot()
    graph.remove(node)
    assert snapshot.received >= 25 and len(depth) >= 20, snapshot
    now = graph.probe.get_clock().now().nanoseconds
    assert all(0 < now - stamp_ns(m.header.stamp) < 120 * 10**9 for m in depth)  # restamped: recorded "now"


def test_depth_ros_run_reports_start_problems_in_one_line(tmp_path: Path) -> None:
    unreadable_params = tmp_path / "unreadable.yaml"
    unreadable_params.write_text("x: [\n")
    backend_only_params = tmp_path / "backend_only.yaml"  # so that rcl takes "abc" (see below)
    backend_only_params.write_text("/**:\n  ros__parameters:\n    backend: auto\n")
    for arguments, message in [
        (["--ros-args", "-p", f"model:={tmp_path / 'missing.pt'}"], "model file not found"),
        (["--ros-args", "-p", "backend:=bogus"], "parameter backend = 'bogus' is not allowed: expected one of auto"),
        (["--ros-args", "-p", "max_pose_gap:=0.0"], "parameter max_pose_gap = 0.0 is not allowed"),
        (["--bogus", "x"], "cannot start ROS: unknown arguments --bogus x (ROS arguments: -r from:=to"),
        (["--ros-args", "-p", "model"], "cannot start ROS: Couldn't parse parameter override rule: '-p model'"),
        (["--params", str(unreadable_params)], "cannot start ROS: Couldn't parse params file"),
        (
            ["--params", str(backend_only_params), "--ros-args", "-p", "points_decimation:=abc"],
            "parameter points_decimation = 'abc' has the wrong type: expected an integer like its default 1",
        ),
        (["--ros-args", "-p", "model:=3"], "parameter model = 3 has the wrong type: expected a string"),
    ]:
        run = [sys.executable, "-m", "depth_ros.cli", "run", "mono", *arguments]
        result = subprocess.run(run, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]  # no rcl log line before ours
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_integers_are_taken_for_double_parameters(graph) -> None:
    """``-p max_pose_gap:=1`` and ``translation: [0, 0, 1]`` in a YAML file arrive as ROS integers; rclpy alone
    would refuse them for the declared doubles."""
    overrides = parameters(max_pose_gap=1, **{"camera_extrinsic.translation": [0, 0, 1]})
    node = graph.add(MultiViewDepthNode(context=graph.context, namespace="ints", parameter_overrides=overrides))
    assert node.params["max_pose_gap"] == 1.0 and isinstance(node.params["max_pose_gap"], float)
    assert node.params["camera_extrinsic.translation"] == [0.0, 0.0, 1.0]
    assert node.odometry.T_base_cam[:3, 3].tolist() == [0.0, 0.0, 1.0]
    graph.remove(node)


def test_input_remaps_apply_once(graph) -> None:
    """``-r image:=/cam_a/image -r /cam_a/image:=/cam_b/image``: rcl maps ``image`` by the first rule only, as
    for any rclpy or rclcpp node (the node once resolved the name and then had it remapped again)."""
    args = ["--ros-args", "-r", "image:=/cam_a/image", "-r", "/cam_a/image:=/cam_b/image"]
    args += ["-r", "camera_info:=/cam_a/info", "-r", "/cam_a/info:=/cam_b/info"]
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="remap",
            cli_args=args,
            parameter_overrides=parameters(input_qos="reliable"),
        )
    )
    subscribed = {name for name, _ in node.get_subscriber_names_and_types_by_node(node.get_name(), "/remap")}
    graph.remove(node)
    assert {"/cam_a/image", "/cam_a/info"} <= subscribed and not {"/cam_b/image", "/cam_b/info"} & subscribed


def test_multiview_node_with_compressed_images_pose_stamped_and_coloured_decimated_points(graph, corridor) -> None:
    from geometry_msgs.msg import PoseStamped
    from sensor_msgs.msg import CompressedImage

    topics = {"image": "/alt/in/image", "camera_info": "/alt/in/camera_info", "odom": "/alt/in/pose"}
    settings = parameters(
        image_transport="compressed",
        odom_type="pose_stamped",
        points_rgb=True,
        points_decimation=2,
        max_input_pixels=100_000,  # the 256x192 frames pass
    )
    node = graph.add(
        MultiViewDepthNode(
            context=graph.context, namespace="alt", cli_args=remaps(**topics), parameter_overrides=settings
        )
    )
    images = graph.publisher(CompressedImage, "/alt/in/image/compressed")
    infos, poses = graph.publisher(CameraInfo, topics["camera_info"]), graph.publisher(PoseStamped, topics["odom"])
    depth, colored = graph.listen(Image, "/alt/depth/image"), graph.listen(Image, "/alt/depth/colored")
    points = graph.listen(PointCloud2, "/alt/depth/points")
    assert wait_for(lambda: all(p.get_subscription_count() for p in (images, infos, poses)), 20.0)
    infos.publish(camera_info_message(corridor.camera, _header(0)))
    for sample in corridor.odometry():
        pose = PoseStamped(header=_header(sample.stamp_ns, "odom"))
        pose.pose = _odometry(sample.stamp_ns, sample.T_odom_base).pose.pose
        poses.publish(pose)
        time.sleep(0.002)  # a stream, not one burst beyond the subscription's queue
    time.sleep(0.5)
    for index in range(10, 30, 2):
        frame = corridor.frame(index)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
        assert ok
        before = processed(node)
        images.publish(CompressedImage(header=_header(frame.stamp_ns), format="jpeg", data=jpeg.tobytes()))
        assert wait_for(lambda before=before: processed(node) > before, 20.0)
    done = wait_for(lambda: len(depth) >= 5 and len(points) == len(depth) and len(colored) == len(depth), 10.0)
    assert done, (len(depth), len(points), len(colored), node.stats.snapshot())
    cloud = points[-1]
    assert (cloud.height, cloud.width, cloud.point_step) == (48, 64, 32)
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "rgb"]
    assert (colored[-1].encoding, colored[-1].width, colored[-1].height) == ("rgb8", 128, 96)
    truth = ground_truth(corridor, stamp_ns(depth[-1].header.stamp))
    assert abs_rel(image_to_depth(depth[-1]), truth) < 0.38  # JPEG input, metric depth still (measured 0.31)
    ok, png = cv2.imencode(".png", np.zeros((300, 400, 3), np.uint8))  # 120,000 pixels: refused by its header
    before = processed(node)
    images.publish(CompressedImage(header=_header(corridor.frame(29).stamp_ns), format="png", data=png.tobytes()))
    assert wait_for(lambda: processed(node) > before, 20.0)
    assert node.stats.snapshot().failed == {"ImageEncodingError": 1}
    graph.remove(node)


def test_lifecycle_without_autostart_waits_for_the_transitions(graph, corridor, tmp_path: Path) -> None:
    """With ``autostart: false`` the node is a managed node driven over its real lifecycle services:
    configure loads the engine and creates the outputs, activate subscribes and publishes, deactivate stops
    taking images, cleanup removes the outputs, shutdown releases everything; a configure that fails (no model
    file) is refused and logged."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    topics = {"image": "/lc/in/image", "camera_info": "/lc/in/camera_info"}
    node = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="lc",
            cli_args=remaps(**topics),
            parameter_overrides=parameters(autostart=False),
        )
    )
    broken = graph.add(
        MonoDepthNode(
            context=graph.context,
            namespace="lc_broken",
            parameter_overrides=parameters(autostart=False, model=str(tmp_path / "missing.pt")),
        )
    )

    def call(service_type, name: str, request):
        client = graph.probe.create_client(service_type, name)
        assert client.wait_for_service(timeout_sec=20.0), name
        future = client.call_async(request)
        assert wait_for(future.done, 120.0), name
        graph.probe.destroy_client(client)
        return future.result()

    def state(prefix: str = "/lc") -> str:
        return call(GetState, f"{prefix}/mono_depth_node/get_state", GetState.Request()).current_state.label

    def transition(transition_id: int, prefix: str = "/lc") -> bool:
        request = ChangeState.Request(transition=Transition(id=transition_id))
        return call(ChangeState, f"{prefix}/mono_depth_node/change_state", request).success

    images, infos = graph.publisher(Image, topics["image"]), graph.publisher(CameraInfo, topics["camera_info"])
    depth = graph.listen(Image, "/lc/depth/image")
    frame = corridor.frame(3)

    def send(count: int) -> None:
        for _ in range(count):
            header = Header(stamp=graph.probe.get_clock().now().to_msg(), frame_id="camera_optical_frame")
            infos.publish(camera_info_message(frame.camera, header))
            images.publish(rgb_image_message(frame.rgb, header))
            time.sleep(0.1)

    def image_subscribers() -> int:
        return graph.probe.count_subscribers(topics["image"])

    try:
        assert state() == "unconfigured" and not hasattr(node, "engine")
        assert image_subscribers() == 0 and graph.probe.count_publishers("/lc/depth/image") == 0
        assert transition(Transition.TRANSITION_CONFIGURE) and state() == "inactive"
        assert node.engine.metadata.architecture == "monodepth2"
        assert wait_for(lambda: graph.probe.count_publishers("/lc/depth/image") == 1, 10.0) and image_subscribers() == 0

        assert transition(Transition.TRANSITION_ACTIVATE) and state() == "active"
        assert wait_for(lambda: image_subscribers() == 1, 10.0)
        send(5)
        assert wait_for(lambda: len(depth) >= 3, 30.0), node.stats.snapshot()
        assert depth[-1].encoding == "32FC1" and depth[-1].header.frame_id == "camera_optical_frame"

        assert transition(Transition.TRANSITION_DEACTIVATE) and state() == "inactive"
        assert wait_for(lambda: image_subscribers() == 0, 10.0)
        received = len(depth)
        send(5)
        time.sleep(0.5)
        assert len(depth) == received  # inactive: no image taken, nothing published

        assert transition(Transition.TRANSITION_ACTIVATE) and state() == "active"  # the engine stayed loaded
        assert wait_for(lambda: image_subscribers() == 1, 10.0)
        send(5)
        assert wait_for(lambda: len(depth) > received, 30.0)

        engine = weakref.ref(node.engine)
        assert transition(Transition.TRANSITION_DEACTIVATE) and transition(Transition.TRANSITION_CLEANUP)
        assert state() == "unconfigured" and not hasattr(node, "engine") and not hasattr(node, "pipeline")
        gc.collect()
        assert engine() is None  # nothing holds the engine any more: its memory is freed
        assert wait_for(lambda: graph.probe.count_publishers("/lc/depth/image") == 0, 10.0)

        assert transition(Transition.TRANSITION_CONFIGURE) and state() == "inactive"
        assert transition(Transition.TRANSITION_INACTIVE_SHUTDOWN) and state() == "finalized"
        assert not hasattr(node, "engine") and not list(node.timers) and not list(node.subscriptions)
        assert wait_for(lambda: graph.probe.count_publishers("/lc/depth/image") == 0, 10.0)

        assert not transition(Transition.TRANSITION_CONFIGURE, "/lc_broken")
        assert state("/lc_broken") == "unconfigured"
        assert isinstance(broken.configure_error, DepthRosError) and "model file not found" in str(
            broken.configure_error
        )
    finally:
        graph.remove(node)
        graph.remove(broken)
