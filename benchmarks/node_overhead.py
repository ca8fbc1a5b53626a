"""A depth node over real rclpy and DDS on loopback, against its own engine and a minimal relay, in the same run.

    .venv/bin/python benchmarks/node_overhead.py [--node mono|multiview] [--seconds 10]
        [--width 320 --height 256] [--threads 2] [--input-qos auto|sensor_data|reliable] [--full-size]

* Engine: the shipped lite network of the node (Monodepth2 or MVDepthNet) opened as the node opens it
  (``backend=auto``: ONNX Runtime on the CPU), ``DepthEngine.infer`` timed alone (median after warm-up) before
  the node starts and again after it has stopped; the mean of the two is the reference (this machine's speed
  drifts by up to 1.6x between runs: both are printed, with a warning when they differ by more than 20%).
  Its CPU per inference (this process's CPU time, all threads) is measured at the CPU phase's camera rate, as the
  node runs it (ONNX Runtime's threads spin a while after each run: that is the engine's cost, not the node's).
* Node: ``depth-ros run mono|multiview`` in its own process (as on a robot); this process plays the camera (a
  synthetic frame at the given size, rgb8, with camera_info; reliable, as ``ros2 bag play`` and most drivers;
  for multiview also odometry moving forward at 1 m/s, each pose with its image's stamp) and subscribes to
  depth/image and depth/points (so the point cloud is built and published).
* Relay (``benchmarks/minimal_relay.py``, its own process, after the node has stopped): the same inputs and
  outputs in plain rclpy (resize, a constant depth image, camera_info and organised cloud published; odometry
  subscribed for multiview), no inference: the floor of any node's per-frame work in Python and rclpy.
  - **target: the node's CPU per frame minus its engine's at most 1.25x the relay's CPU per frame**, all three
    with the camera at 30 Hz, or at half the engine's rate when that is lower (so that every frame is inferred:
    the shipped MVDepthNet runs at about 11 fps here) (Linux: process CPU time from /proc, all threads:
    executor, inference, DDS).
  - overhead: at 5 Hz (the node is never busy), the node's per-frame time (conversion, resize, inference,
    point cloud, publishing; on the CPU all on its inference thread) minus its inference time, from
    /diagnostics, as a fraction of the engine's reference time. Reported.
  - latency: image stamp (set when published) -> depth received here, median and p90, at 5 Hz; with how many
    of the images sent came back as depth. Reported.
  - throughput: the camera publishes at 1.5x the engine's rate (``--camera-rate``); depth/image messages
    received per second vs the engine's rate; the busy node's inference and overhead times. Reported.
* Steps alone (mono): after the node has stopped, this process runs the node's own per-frame steps back to
  back with a fixed depth in place of inference (median ms per frame): a lower bound on a quiet machine with
  warm caches, without taking the image from DDS, the camera_info checks and the statistics.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from ros_graph import RosGraph, wait_for

from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.models import Monodepth2
from depth_ros.models.checkpoints import monodepth2_metadata, save_checkpoint
from depth_ros.pipeline.frame import to_network_size
from depth_ros.resources import shipped_weights
from depth_ros.ros.messages import (
    camera_info_message,
    depth_image_message,
    point_cloud_from_depth,
    rgb_from_image,
    stamp_ns,
)
from depth_ros.ros.qos import INPUT_QOS_CHOICES
from depth_ros.runtime.benchmark import measure_engines
from depth_ros.runtime.engine import example_inputs, open_engine

CAMERA = "/bench_camera"
ODOMETRY = "/bench_odom"
ARCHITECTURES = {"mono": "monodepth2", "multiview": "mvdepthnet"}
RELAY = Path(__file__).with_name("minimal_relay.py")
CPU_RATE_HZ = 30.0  # the camera's rate while CPU is measured, or half the engine's rate if that is lower
CPU_TARGET = 1.25  # node CPU per frame minus the engine's, at most this times the relay's
STEPS_TOPIC = "/bench_steps"
STEPS_SUBSCRIBER = f"""
import rclpy
from rclpy.executors import ExternalShutdownException
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from depth_ros.ros.qos import qos_profile
rclpy.init()
node = rclpy.create_node("bench_steps_subscriber")
for kind, name in ((Image, "image"), (CameraInfo, "camera_info"), (PointCloud2, "points")):
    node.create_subscription(kind, "{STEPS_TOPIC}/" + name, lambda msg: None, qos_profile("reliable", 10))
try:
    rclpy.spin(node)
except (KeyboardInterrupt, ExternalShutdownException):
    pass
"""


def full_size_model(folder: Path) -> Path:
    """A full-size Monodepth2 (ResNet-18, 640x192) with random weights (speed does not depend on them)."""
    torch.manual_seed(0)
    variant = {"num_layers": 18, "width": 1.0, "decoder_width": 1.0, "with_fc": False}
    metadata = monodepth2_metadata(variant, 192, 640, False, "random weights for benchmarks/node_overhead.py")
    return save_checkpoint(folder / "monodepth2_full_random.pt", Monodepth2(**variant).eval(), metadata)


def engine_reference_ms(model: Path, threads: int, iterations: int) -> float:
    """Median ms of one inference of ``model``, opened as the node opens it."""
    engine = open_engine(model, "auto", "cpu", "fp32", threads=threads)
    inputs = example_inputs(engine.metadata, np.random.default_rng(0))
    ((latency, _),) = measure_engines([engine], inputs, iterations, warmup=10)
    return latency.median_ms


def engine_cpu_ms(model: Path, threads: int, rate_hz: float, seconds: float) -> float:
    """This process's CPU ms (all threads) per inference of ``model`` run at ``rate_hz`` for ``seconds``, on a
    thread of its own as the node runs it (PyTorch's intra-op threads behave differently below the main thread)."""
    engine = open_engine(model, "auto", "cpu", "fp32", threads=threads)
    inputs = example_inputs(engine.metadata, np.random.default_rng(0))
    period, count, used = 1.0 / rate_hz, int(rate_hz * seconds), []

    def infer_at_pace() -> None:
        for _ in range(10):
            engine.infer(**inputs)
        time.sleep(0.5)  # the warm-up's spinning threads settle
        cpu_before, start = process_cpu_s(os.getpid()), time.monotonic()
        for index in range(count):
            engine.infer(**inputs)
            time.sleep(max(0.0, start + (index + 1) * period - time.monotonic()))
        used.append(process_cpu_s(os.getpid()) - cpu_before)

    thread = threading.Thread(target=infer_at_pace)
    thread.start()
    thread.join()
    return used[0] / count * 1e3


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_node(kind: str, model: Path, threads: int, input_qos: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "depth_ros.cli", "run", kind, "--ros-args", "-r", "__ns:=/bench",
        "-r", f"image:={CAMERA}/image_raw", "-r", f"camera_info:={CAMERA}/camera_info", "-r", f"odom:={ODOMETRY}",
        "-p", f"threads:={threads}", "-p", f"model:={model}", "-p", f"input_qos:={input_qos}",
        "-p", "diagnostics_period:=0.5", "--log-level", "error",
    ]  # fmt: skip
    return subprocess.Popen(command, env=os.environ.copy())


def start_relay(kind: str, width: int, height: int) -> subprocess.Popen:
    odometry = [ODOMETRY] if kind == "multiview" else []
    command = [sys.executable, str(RELAY), CAMERA, "/bench", str(width), str(height), *odometry]
    return subprocess.Popen(command, env=os.environ.copy())


class Camera:
    """Publishes one frame (restamped with the current time) and its camera_info at a given rate."""

    SPEED_M_S = 1.0  # odometry: forward along base_link x

    def __init__(self, graph: RosGraph, width: int, height: int, odometry: bool):
        from nav_msgs.msg import Odometry
        from sensor_msgs.msg import CameraInfo, Image

        from depth_ros.ros.messages import camera_info_message, rgb_image_message

        frame = SyntheticSequence(SyntheticConfig(frames=1, width=width, height=height)).frame(0)
        self.graph = graph
        self.pinhole = frame.camera
        self.image = rgb_image_message(frame.rgb, _header("camera_optical_frame"))
        self.info = camera_info_message(frame.camera, self.image.header)
        self.image_pub = graph.publisher(Image, f"{CAMERA}/image_raw")
        self.info_pub = graph.publisher(CameraInfo, f"{CAMERA}/camera_info")
        self.odometry = Odometry(header=_header("odom"), child_frame_id="base_link") if odometry else None
        if self.odometry is not None:
            self.odometry.twist.twist.linear.x = self.SPEED_M_S
            self.odometry_pub = graph.publisher(Odometry, ODOMETRY)
        self.travelled_s = 0.0  # odometry time: the pose goes on where the last run left it

    def run(self, rate_hz: float, seconds: float) -> int:
        """Publish for ``seconds`` at ``rate_hz``; returns the number of images sent."""
        period, start, sent = 1.0 / rate_hz, time.monotonic(), 0
        while time.monotonic() - start < seconds:
            stamp = self.graph.probe.get_clock().now().to_msg()
            self.image.header.stamp = self.info.header.stamp = stamp
            if self.odometry is not None:
                self.odometry.header.stamp = stamp
                self.odometry.pose.pose.position.x = self.SPEED_M_S * (self.travelled_s + sent * period)
                self.odometry_pub.publish(self.odometry)
            self.info_pub.publish(self.info)
            self.image_pub.publish(self.image)
            sent += 1
            time.sleep(max(0.0, start + sent * period - time.monotonic()))
        self.travelled_s += sent * period
        return sent


def _header(frame_id: str):
    from std_msgs.msg import Header

    return Header(frame_id=frame_id)


def steps_alone_ms(
    graph: RosGraph, camera: Camera, model: Path, threads: int, frames: int = 300
) -> tuple[float, float, float]:
    """Median ms per frame of the node's steps besides inference, run back to back in this process (see the
    module docstring), on the camera's frame and the depth the engine gives for it: (all, of which the image's
    conversion and resize, of which the messages built and published)."""
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2

    engine = open_engine(model, "auto", "cpu", "fp32", threads=threads)
    size = (engine.metadata.width, engine.metadata.height)
    pinhole = camera.pinhole
    depth = engine.infer(image=to_network_size(rgb_from_image(camera.image), pinhole, *size)[0]).copy()
    publishers = [graph.publisher(kind, f"{STEPS_TOPIC}/{name}") for kind, name in
                  ((Image, "image"), (CameraInfo, "camera_info"), (PointCloud2, "points"))]  # fmt: skip
    subscriber = subprocess.Popen([sys.executable, "-c", STEPS_SUBSCRIBER], env=os.environ.copy())
    try:
        assert wait_for(lambda: all(p.get_subscription_count() for p in publishers), 60.0), "no steps subscriber"
        time.sleep(0.5)  # discovery is not symmetric: let the subscriptions see these publishers too
        header, last, times = camera.image.header, [None, None, None], []
        for _ in range(frames):
            started = time.perf_counter()
            _network_image, network_camera = to_network_size(rgb_from_image(camera.image), pinhole, *size)
            resized = time.perf_counter()
            last[0] = depth_image_message(depth, header, reuse=last[0])
            last[1] = camera_info_message(network_camera, header, reuse=last[1])
            last[2] = point_cloud_from_depth(depth, network_camera, header, reuse=last[2])
            for publisher, message in zip(publishers, last, strict=True):
                publisher.publish(message)
            times.append((time.perf_counter() - started, resized - started, time.perf_counter() - resized))
    finally:
        subscriber.terminate()
        subscriber.wait(timeout=30)
    all_steps, resizing, messages = np.median(np.array(times[10:]), axis=0) * 1e3
    return float(all_steps), float(resizing), float(messages)


class Receiver:
    """Records arrival time and stamp of each depth image, and the node's latest diagnostics values."""

    def __init__(self, graph: RosGraph):
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import Image, PointCloud2

        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, int]] = []
        self.diagnostics: dict[str, str] = {}
        self.graph = graph
        graph.probe.create_subscription(Image, "/bench/depth/image", self._on_depth, 10)  # reliable, as rviz's
        graph.listen(PointCloud2, "/bench/depth/points", depth=1)  # so that the node builds and sends clouds
        graph.probe.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_depth(self, msg) -> None:
        now = self.graph.probe.get_clock().now().nanoseconds
        with self.lock:
            self.arrivals.append((time.monotonic(), now - stamp_ns(msg.header.stamp)))

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith("/bench/") and "depth_node" in status.name:
                self.diagnostics = {v.key: v.value for v in status.values}

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()


def progress(step: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {step}", file=sys.stderr, flush=True)


def relay_cpu_ms(graph: RosGraph, camera: Camera, kind: str, rate_hz: float, seconds: float) -> tuple[float, int]:
    """The relay's CPU ms per frame with the camera at ``rate_hz``, and the depth images it sent back meanwhile."""
    from sensor_msgs.msg import Image

    relay = start_relay(kind, 128, 96)
    try:
        depth = graph.listen(Image, "/bench/depth/image", depth=1)
        assert wait_for(lambda: camera.image_pub.get_subscription_count() > 0, 60.0), "the relay did not start"
        camera.run(rate_hz, 2.0)  # warm-up
        received, cpu_before = len(depth), process_cpu_s(relay.pid)
        frames = camera.run(rate_hz, seconds)
        cpu_s = process_cpu_s(relay.pid) - cpu_before
        return cpu_s / frames * 1e3, len(depth) - received
    finally:
        relay.terminate()
        relay.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node", default="mono", choices=sorted(ARCHITECTURES), help="the node to measure")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="inference threads of the engine and the node")
    parser.add_argument("--input-qos", default="auto", choices=INPUT_QOS_CHOICES, help="the node's input_qos")
    parser.add_argument(
        "--camera-rate", type=float, default=1.5, help="throughput phase: camera rate / engine rate (default: 1.5)"
    )
    parser.add_argument(
        "--full-size",
        action="store_true",
        help="(mono) a full-size Monodepth2 (640x192, random weights) instead of the lite one",
    )
    args = parser.parse_args()
    if args.full_size and args.node != "mono":
        parser.error("--full-size is a Monodepth2: use it with --node mono")

    folder = tempfile.TemporaryDirectory()
    model = full_size_model(Path(folder.name)) if args.full_size else shipped_weights(ARCHITECTURES[args.node])
    iterations = 30 if args.full_size else 300
    progress("engine alone")
    reference_before = engine_reference_ms(model, args.threads, iterations)
    cpu_rate = min(CPU_RATE_HZ, 0.5 * 1000.0 / reference_before)  # every frame inferred, at the camera's pace
    engine_cpu = engine_cpu_ms(model, args.threads, cpu_rate, args.seconds)
    graph = RosGraph()
    node = start_node(args.node, model, args.threads, args.input_qos)
    try:
        camera = Camera(graph, args.width, args.height, odometry=args.node == "multiview")
        receiver = Receiver(graph)
        assert wait_for(lambda: camera.image_pub.get_subscription_count() > 0, 60.0), "the node did not start"
        progress("node at 5 Hz")
        camera.run(5.0, 3.0)  # warm-up (multiview: the first keyframes)
        time.sleep(1.0)  # let the warm-up's last frames arrive before counting
        receiver.reset()
        sent = camera.run(5.0, args.seconds)
        time.sleep(1.5)  # the last frame and a diagnostics report
        latencies = np.array([latency for _, latency in receiver.arrivals]) / 1e6
        diagnostics = dict(receiver.diagnostics)
        processing, inference = float(diagnostics["processing_median_ms"]), float(diagnostics["inference_median_ms"])
        overhead = processing - inference

        progress(f"node CPU at {cpu_rate:.0f} Hz")
        receiver.reset()
        cpu_before = process_cpu_s(node.pid)
        cpu_frames = camera.run(cpu_rate, args.seconds)
        node_cpu = (process_cpu_s(node.pid) - cpu_before) / cpu_frames * 1e3
        cpu_depth = len(receiver.arrivals)

        receiver.reset()
        rate = args.camera_rate * 1000.0 / reference_before
        offered = camera.run(rate, args.seconds) / args.seconds
        time.sleep(0.6)  # the last frames and a diagnostics report covering the busy node's last 100 frames
        arrivals = [t for t, _ in receiver.arrivals]
        throughput = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        busy = dict(receiver.diagnostics)
        busy_inference = float(busy["inference_median_ms"])
        busy_overhead = float(busy["processing_median_ms"]) - busy_inference
        node.terminate()  # stopped before the relay and the steps alone run: the machine is quiet for them
        node.wait(timeout=30)
        progress("relay")
        relay_cpu, relay_depth = relay_cpu_ms(graph, camera, args.node, cpu_rate, args.seconds)
        steps = None
        if args.node == "mono":
            progress("steps alone")
            steps = steps_alone_ms(graph, camera, model, args.threads)
    finally:  # after an error too (terminating a process that has ended is harmless)
        node.terminate()
        node.wait(timeout=30)
        graph.close()
    reference_after = engine_reference_ms(model, args.threads, iterations)
    reference = (reference_before + reference_after) / 2.0

    engine_rate = 1000.0 / reference
    median, p90 = np.median(latencies), np.percentile(latencies, 90)
    own_cpu = node_cpu - engine_cpu
    # the engine's speed drifts on this machine: its CPU per inference is known to about this much
    engine_cpu_spread = engine_cpu * abs(reference_before - reference_after) / reference
    if engine_cpu_spread > CPU_TARGET * relay_cpu:
        verdict = f"unresolved: the engine's CPU drifted by ~{engine_cpu_spread:.1f} ms during the run"
    else:
        verdict = "met" if own_cpu <= CPU_TARGET * relay_cpu else "NOT met"
    rows = [
        (
            "engine alone (reference)",
            f"{reference:7.2f} ms/frame ({engine_rate:.0f} fps; {reference_before:.2f} before the node, "
            f"{reference_after:.2f} after)",
        ),
        (f"engine CPU at {cpu_rate:.0f} Hz", f"{engine_cpu:7.2f} ms per inference"),
        (f"node CPU at {cpu_rate:.0f} Hz", f"{node_cpu:7.2f} ms per frame ({cpu_depth}/{cpu_frames} depth images)"),
        (f"relay CPU at {cpu_rate:.0f} Hz (floor)", f"{relay_cpu:7.2f} ms per frame ({relay_depth} depth images)"),
        (
            "node CPU minus engine CPU",
            f"{own_cpu:7.2f} ms = {own_cpu / relay_cpu:.2f}x the relay (target <= {CPU_TARGET}x: {verdict})",
        ),
        ("node: inference in the node", f"{inference:7.2f} ms/frame"),
        ("node: time per frame", f"{processing:7.2f} ms/frame"),
        ("node overhead at 5 Hz", f"{overhead:7.2f} ms = {overhead / reference:.0%} of the engine"),
        (
            "latency stamp -> depth received",
            f"median {median:.1f} ms, p90 {p90:.1f} ms ({len(latencies)}/{sent} at 5 Hz)",
        ),
        (
            f"throughput, camera at {offered:.0f} Hz",
            f"{throughput:7.1f} fps = {throughput / engine_rate:.2f}x the engine",
        ),
        ("busy node: inference in the node", f"{busy_inference:7.2f} ms/frame"),
        ("busy node: overhead", f"{busy_overhead:7.2f} ms = {busy_overhead / reference:.0%} of the engine"),
    ]
    if steps is not None:
        steps_alone, steps_resize, steps_messages = steps
        rows.append(
            (
                "the node's steps alone",
                f"{steps_alone:7.2f} ms = {steps_alone / reference:.0%} of the engine (warm, no inference between; "
                f"image to RGB and resize {steps_resize:.2f} ms, three messages {steps_messages:.2f} ms)",
            )
        )
    kind = "full-size (random weights)" if args.full_size else "shipped lite"
    setup = f"camera {args.width}x{args.height} rgb8, {args.threads} threads, input_qos {args.input_qos}"
    print(f"\n{args.node} node, {kind} {ARCHITECTURES[args.node]}, {setup}")
    for name, value in rows:
        print(f"{name:34s} {value}")
    if max(reference_before, reference_after) > 1.2 * min(reference_before, reference_after):
        print("warning: the engine's speed changed by more than 20% during the run: the ratios are unreliable")


if __name__ == "__main__":
    main()
