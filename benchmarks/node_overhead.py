"""The mono node over real rclpy and DDS on loopback, against its own engine measured in the same run.

    .venv/bin/python benchmarks/node_overhead.py [--seconds 10] [--width 320 --height 256] [--threads 2]
        [--input-qos auto|sensor_data|reliable]

* Engine: the shipped lite Monodepth2 opened as the node opens it (``backend=auto``: ONNX Runtime on the
  CPU), ``DepthEngine.infer`` timed alone (median after warm-up) before the node starts and again after it
  has stopped; the mean of the two is the reference (this machine's speed drifts by up to 1.6x between
  runs: both are printed, with a warning when they differ by more than 20%).
* Node: ``depth-ros run mono`` in its own process (as on a robot); this process plays the camera (a
  synthetic frame at the given size, rgb8, with camera_info; reliable, as ``ros2 bag play`` and most drivers)
  and subscribes to depth/image and depth/points (so the point cloud is built and published); the node's
  ``input_qos`` is the given one.
  - overhead: at 5 Hz (the node is never busy), the node's per-frame time (conversion, resize, inference,
    point cloud, publishing; on the CPU all on its inference thread) minus its inference time, from /diagnostics,
    as a fraction of the engine's reference time. Target: at most 10%.
  - latency: image stamp (set when published) -> depth received here, median and p90, at 5 Hz; with how many
    of the images sent came back as depth (an image lost by DDS on the way gives none).
  - CPU: the node process's CPU time (all its threads: executor, inference, ONNX Runtime's, DDS's) while
    the camera publishes at 30 Hz, as a share of one core and per frame (Linux: from /proc).
  - throughput: the camera publishes at 1.5x the engine's rate (``--camera-rate``); depth/image messages
    received per second vs the engine's rate. Target: at least 0.9x. The node's inference and overhead times over its
    last 100 frames of this phase are printed too (a busy node runs with warm caches; at 5 Hz every frame
    starts cold).
* Steps alone: after the node has stopped, this process runs the node's own per-frame steps (the camera's
  image to RGB, resize to the network size, the depth image, camera_info and point cloud built over the ones
  published before and published to a subscriber in another process) back to back, with a fixed depth in
  place of inference: a lower bound of any frame's overhead with these steps in Python and rclpy, on a quiet
  machine with warm caches (median ms per frame, and as a fraction of the engine's reference time). Left out,
  so the node's own overhead is larger still: taking the image from DDS, checking its camera_info, the
  frame's statistics and clock readings.
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


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_node(model: Path, threads: int, input_qos: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "depth_ros.cli", "run", "mono", "--ros-args", "-r", "__ns:=/bench",
        "-r", f"image:={CAMERA}/image_raw", "-r", f"camera_info:={CAMERA}/camera_info",
        "-p", f"threads:={threads}", "-p", f"model:={model}", "-p", f"input_qos:={input_qos}",
        "-p", "diagnostics_period:=0.5", "--log-level", "warn",
    ]  # fmt: skip
    return subprocess.Popen(command, env=os.environ.copy())


class Camera:
    """Publishes one frame (restamped with the current time) and its camera_info at a given rate."""

    def __init__(self, graph: RosGraph, width: int, height: int):
        from sensor_msgs.msg import CameraInfo, Image

        from depth_ros.ros.messages import camera_info_message, rgb_image_message

        frame = SyntheticSequence(SyntheticConfig(frames=1, width=width, height=height)).frame(0)
        self.graph = graph
        self.pinhole = frame.camera
        self.image = rgb_image_message(frame.rgb, _header("camera_optical_frame"))
        self.info = camera_info_message(frame.camera, self.image.header)
        self.image_pub = graph.publisher(Image, f"{CAMERA}/image_raw")
        self.info_pub = graph.publisher(CameraInfo, f"{CAMERA}/camera_info")

    def run(self, rate_hz: float, seconds: float) -> int:
        """Publish for ``seconds`` at ``rate_hz``; returns the number of images sent."""
        period, start, sent = 1.0 / rate_hz, time.monotonic(), 0
        while time.monotonic() - start < seconds:
            stamp = self.graph.probe.get_clock().now().to_msg()
            self.image.header.stamp = self.info.header.stamp = stamp
            self.info_pub.publish(self.info)
            self.image_pub.publish(self.image)
            sent += 1
            time.sleep(max(0.0, start + sent * period - time.monotonic()))
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
            if status.name.startswith("/bench/mono_depth_node"):
                self.diagnostics = {v.key: v.value for v in status.values}

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
        help="a full-size Monodepth2 (640x192, random weights) instead of the lite one",
    )
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    model = full_size_model(Path(folder.name)) if args.full_size else shipped_weights("monodepth2")
    iterations = 30 if args.full_size else 300
    reference_before = engine_reference_ms(model, args.threads, iterations)
    graph = RosGraph()
    node = start_node(model, args.threads, args.input_qos)
    try:
        camera, receiver = Camera(graph, args.width, args.height), Receiver(graph)
        assert wait_for(lambda: camera.image_pub.get_subscription_count() > 0, 60.0), "the node did not start"
        camera.run(5.0, 3.0)  # warm-up
        time.sleep(1.0)  # let the warm-up's last frames arrive before counting
        receiver.reset()
        sent = camera.run(5.0, args.seconds)
        time.sleep(1.5)  # the last frame and a diagnostics report
        latencies = np.array([latency for _, latency in receiver.arrivals]) / 1e6
        diagnostics = dict(receiver.diagnostics)
        processing, inference = float(diagnostics["processing_median_ms"]), float(diagnostics["inference_median_ms"])
        overhead = processing - inference

        cpu_before = process_cpu_s(node.pid)
        cpu_frames = camera.run(30.0, args.seconds)
        cpu_s = process_cpu_s(node.pid) - cpu_before

        receiver.reset()
        rate = args.camera_rate * 1000.0 / reference_before
        offered = camera.run(rate, args.seconds) / args.seconds
        time.sleep(0.6)  # the last frames and a diagnostics report covering the busy node's last 100 frames
        arrivals = [t for t, _ in receiver.arrivals]
        throughput = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
        busy = dict(receiver.diagnostics)
        busy_inference = float(busy["inference_median_ms"])
        busy_overhead = float(busy["processing_median_ms"]) - busy_inference
        node.terminate()  # stopped before the steps alone run: the machine is quiet for them
        node.wait(timeout=30)
        steps_alone, steps_resize, steps_messages = steps_alone_ms(graph, camera, model, args.threads)
    finally:  # after an error too (terminating a process that has ended is harmless)
        node.terminate()
        node.wait(timeout=30)
        graph.close()
    reference_after = engine_reference_ms(model, args.threads, iterations)
    reference = (reference_before + reference_after) / 2.0

    engine_rate = 1000.0 / reference
    median, p90 = np.median(latencies), np.percentile(latencies, 90)
    rows = [
        (
            "engine alone (reference)",
            f"{reference:7.2f} ms/frame ({engine_rate:.0f} fps; {reference_before:.2f} before the node, "
            f"{reference_after:.2f} after)",
        ),
        (
            "node CPU, camera at 30 Hz",
            f"{cpu_s / args.seconds:7.0%} of a core = {cpu_s / cpu_frames * 1e3:.1f} ms per frame",
        ),
        ("node: inference in the node", f"{inference:7.2f} ms/frame"),
        ("node: time per frame", f"{processing:7.2f} ms/frame"),
        ("node overhead", f"{overhead:7.2f} ms = {overhead / reference:.0%} of the engine (target <= 10%)"),
        (
            "latency stamp -> depth received",
            f"median {median:.1f} ms, p90 {p90:.1f} ms ({len(latencies)}/{sent} at 5 Hz)",
        ),
        (
            f"throughput, camera at {offered:.0f} Hz",
            f"{throughput:7.1f} fps = {throughput / engine_rate:.2f}x the engine (target >= 0.9x)",
        ),
        ("busy node: inference in the node", f"{busy_inference:7.2f} ms/frame"),
        ("busy node: overhead", f"{busy_overhead:7.2f} ms = {busy_overhead / reference:.0%} of the engine"),
        (
            "the node's steps alone",
            f"{steps_alone:7.2f} ms = {steps_alone / reference:.0%} of the engine (warm, no inference between; "
            f"image to RGB and resize {steps_resize:.2f} ms, three messages {steps_messages:.2f} ms)",
        ),
    ]
    kind = "full-size (random weights)" if args.full_size else "shipped lite"
    setup = f"camera {args.width}x{args.height} rgb8, {args.threads} threads, input_qos {args.input_qos}"
    print(f"\nmono node, {kind} Monodepth2, {setup}")
    for name, value in rows:
        print(f"{name:34s} {value}")
    if max(reference_before, reference_after) > 1.2 * min(reference_before, reference_after):
        print("warning: the engine's speed changed by more than 20% during the run: the ratios are unreliable")


if __name__ == "__main__":
    main()
