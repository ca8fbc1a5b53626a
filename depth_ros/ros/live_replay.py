"""Live evaluation: play a bag into the real depth nodes over DDS and record what they publish.

The nodes run in this process on their own rclpy context, in a private namespace
(``/depth_ros_eval_<pid>``; the bag's inputs are remapped into it, so a live robot's topics are never
touched), with the bag's camera extrinsic as parameters. Each image's published ``depth/image`` and
``depth/camera_info`` become a :class:`~depth_ros.eval.evaluation.Prediction`, with the latency from the
moment the image was published here to the moment its depth arrived back. Images without a depth are
accounted for with the node's own reasons: skipped (no pose, no keyframe...), failed, dropped (a newer
image replaced it before inference: latest frame wins, in the node or already in its input queue of one).

Where ``ROS_AUTOMATIC_DISCOVERY_RANGE`` is unset, it is set to ``LOCALHOST`` for this process: the
replay needs no other machine, and other machines should not see it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from depth_ros.data.bag_reader import BagReader
from depth_ros.encodings import image_to_depth
from depth_ros.eval.evaluation import Prediction
from depth_ros.eval.session import ModelChoice
from depth_ros.geometry import matrix_to_quaternion
from depth_ros.pipeline.mono import MonoSettings
from depth_ros.ros.waiting import wait_until

DROPPED = "dropped: a newer image replaced it while the node was busy (latest frame wins), or lost on the way"
NOT_RECEIVED = "not counted by the node (lost on the way, or replaced where the middleware does not number messages)"


@dataclass
class LiveRun:
    """What one node published while the bag played.

    Attributes:
        name: ``live <model>``.
        predictions: image stamp (ns) -> depth and camera as published, with the round-trip latency.
        engine: the node's engine (``DepthEngine.describe()``).
        metric: whether the node's depth claims metres.
        unanswered: images without a depth, by reason.
    """

    name: str
    predictions: dict[int, Prediction] = field(default_factory=dict)
    engine: str = ""
    metric: bool = True
    unanswered: Counter[str] = field(default_factory=Counter)


def _node_parameters(model: ModelChoice, device: str, mono: MonoSettings, reader: BagReader):
    from rclpy.parameter import Parameter

    values: dict[str, Any] = {"model": str(model.weights or ""), "backend": model.backend, "device": device}
    if model.kind == "mono":
        values |= {"scale_mode": mono.scale_mode, "scale_factor": mono.scale_factor}
        values |= {"camera_height": mono.camera_height_m, "scale_window": mono.scale_window}
        values["pose_model"] = str(model.pose_model or "")
    if reader.T_base_cam is not None:
        values["camera_extrinsic.translation"] = [float(v) for v in reader.T_base_cam[:3, 3]]
        values["camera_extrinsic.rotation"] = [float(v) for v in matrix_to_quaternion(reader.T_base_cam[:3, :3])]
    values["extrinsic_from_tf"] = False  # the bag's extrinsic, as read above
    return [Parameter(key, value=value) for key, value in values.items()]


def live_replay(
    reader: BagReader,
    models: Sequence[ModelChoice],
    device: str = "cpu",
    mono_settings: MonoSettings | None = None,
    rate: float | None = None,
    progress: bool = True,
) -> list[LiveRun]:
    """Play ``reader``'s bag into one node per model and collect what they publish.

    Args:
        reader: the bag (its topics, camera extrinsic and frame count).
        models: the models: each runs in its own node (``mono_depth_node`` or ``multiview_depth_node``).
        device: the nodes' ``device`` parameter.
        mono_settings: the mono node's scale mode.
        rate: None: each image waits until every node has dealt with the previous one (as fast as the nodes
            keep up: no frame dropped for speed); a number: the recorded timing times this factor (frames
            the nodes cannot keep up with are dropped and reported).
        progress: show a progress bar over the images.
    """
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, Image

    from depth_ros.ros import mono_node, multiview_node
    from depth_ros.ros.bag_player import BagPlayer
    from depth_ros.ros.messages import camera_from_info, stamp_ns
    from depth_ros.ros.qos import qos_profile

    mono_settings = mono_settings or MonoSettings()
    private = f"/depth_ros_eval_{os.getpid()}"
    inputs = {"image": reader.topics.image, "camera_info": reader.topics.camera_info, "odom": reader.topics.odometry}
    inputs = {role: topic for role, topic in inputs.items() if topic}
    remap = {topic: f"{private}/in/{role}" for role, topic in inputs.items()}
    context = rclpy.Context()
    rclpy.init(context=context)
    # One thread: the nodes infer on their own threads, and rclpy's MultiThreadedExecutor keeps waking up while
    # a callback runs (about 0.4 of a core per image subscription, taken from the nodes on a small CPU).
    executor = SingleThreadedExecutor(context=context)
    probe = Node("depth_ros_eval_player", context=context)
    executor.add_node(probe)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    nodes: dict[str, Any] = {}
    names = [model.name for model in models]
    runs = {model.name: LiveRun(f"live {model.name}") for model in models}
    published_at: dict[int, float] = {}
    lock = threading.Lock()
    depth: dict[str, dict[int, tuple[np.ndarray, float]]] = {name: {} for name in names}
    cameras: dict[str, dict[int, Any]] = {name: {} for name in names}
    try:
        for index, model in enumerate(models):
            name = model.name
            cls = mono_node.MonoDepthNode if model.kind == "mono" else multiview_node.MultiViewDepthNode
            cli_args = ["--ros-args", *(a for role in inputs for a in ("-r", f"{role}:={remap[inputs[role]]}"))]
            parameters = _node_parameters(model, device, mono_settings, reader)
            namespace = f"{private}/model_{index}"
            node = cls(context=context, namespace=namespace, cli_args=cli_args, parameter_overrides=parameters)
            nodes[name] = node
            executor.add_node(node)
            runs[name].engine = node.engine.describe()
            runs[name].metric = node.pipeline.metric

            def on_depth(msg, name=name) -> None:
                arrived = time.monotonic()
                with lock:
                    depth[name][stamp_ns(msg.header.stamp)] = (image_to_depth(msg).copy(), arrived)

            def on_info(msg, name=name) -> None:
                with lock:
                    cameras[name][stamp_ns(msg.header.stamp)] = camera_from_info(msg)

            reliable = qos_profile("reliable", 1000)
            probe.create_subscription(Image, f"{namespace}/depth/image", on_depth, reliable)
            probe.create_subscription(CameraInfo, f"{namespace}/depth/camera_info", on_info, reliable)

        player = BagPlayer(probe, reader.path, topics=list(inputs.values()), remap=remap)
        if not player.wait_for_subscribers(list(inputs.values()), 30.0) or not _connected(nodes, 30.0):
            from depth_ros.errors import DepthRosError

            raise DepthRosError(
                "the depth nodes did not connect over DDS within 30 s (is the ROS 2 middleware working?)"
            )
        bar = tqdm(total=len(reader), desc=f"live {' + '.join(names)}", unit="frame", disable=not progress)

        def before_publish(topic: str, msg: Any) -> None:
            if rate is None and topic == reader.topics.image:  # keep up: the previous images are done
                images = len(published_at)
                for node in nodes.values():
                    wait_until(lambda node=node: node.stats.progress()[1] >= images, 60.0)

        def on_publish(topic: str, msg: Any) -> None:
            if topic == reader.topics.image:
                published_at[stamp_ns(msg.header.stamp)] = time.monotonic()
                bar.update(1)

        player.play(rate=rate, on_publish=on_publish, before_publish=before_publish)
        bar.close()
        time.sleep(0.3)  # the last images in flight
        for node in nodes.values():
            _wait_settled(node, len(published_at), 60.0)
        time.sleep(0.3)  # the last outputs in flight
    finally:
        for node in nodes.values():
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown(timeout_sec=5.0)
        probe.destroy_node()
        rclpy.try_shutdown(context=context)

    for name, run in runs.items():
        with lock:
            for stamp, (values, arrived) in depth[name].items():
                camera = cameras[name].get(stamp)
                if camera is not None:
                    latency = arrived - published_at[stamp] if stamp in published_at else None
                    run.predictions[stamp] = Prediction(values, camera, latency)
        snapshot = nodes[name].stats.snapshot()
        run.unanswered.update(snapshot.skipped)
        run.unanswered.update({f"failed: {reason}": count for reason, count in snapshot.failed.items()})
        if snapshot.dropped:
            run.unanswered[DROPPED] += snapshot.dropped
        if len(published_at) > snapshot.received:
            run.unanswered[NOT_RECEIVED] += len(published_at) - snapshot.received
    return list(runs.values())


def _wait_settled(node: Any, images: int, timeout_s: float) -> None:
    """Wait until ``node`` has dealt with all ``images`` sent: counted them (taken, or missed by sequence
    number) and finished those it took; or, where the middleware does not number messages (so missed ones
    are never counted), until it has finished what it took and counted nothing more for 2 s."""
    deadline, progress, changed = time.monotonic() + timeout_s, None, time.monotonic()
    while time.monotonic() < deadline:
        received, finished = node.stats.progress()
        if finished >= received >= images:
            return
        if (received, finished) != progress:
            progress, changed = (received, finished), time.monotonic()
        elif finished >= received and time.monotonic() - changed > 2.0:
            return
        time.sleep(0.005)


def _connected(nodes: dict[str, Any], timeout_s: float) -> bool:
    """Whether every node's inputs and outputs are matched over DDS (both ways) within ``timeout_s``."""
    return wait_until(
        lambda: all(node.output_subscribers() > 0 and node.input_publishers() > 0 for node in nodes.values()),
        timeout_s,
    )
