"""What both depth nodes share: parameters, inputs, the inference and publishing threads, outputs, diagnostics.

Topics (relative names, so namespaces and remapping work):

* in: ``image`` (``sensor_msgs/Image`` rgb8, bgr8, rgba8, bgra8, mono8) or, with ``image_transport:=compressed``,
  ``<image>/compressed`` (``sensor_msgs/CompressedImage``, image_transport's name: the ``image`` topic after
  remapping, plus ``/compressed``); ``camera_info`` (the newest one is used; its size
  must match the image's). With ``input_qos:=auto`` (the default) the image subscription is made once a
  publisher of the image topic exists, reliable when every publisher is reliable (large images are then
  resent, not lost: see :mod:`depth_ros.ros.qos`) and best effort otherwise, and follows the publishers when
  they change; camera_info (and odometry) likewise.
* out: ``depth/image`` (32FC1 metres, NaN = no estimate, REP 117/118), ``depth/camera_info`` (K and P at the
  depth's resolution), ``depth/points`` (organised ``PointCloud2`` in depth_image_proc's layout) and
  ``depth/colored`` (rgb8 preview); every output carries the input image's header (stamp and frame_id).
  Points and the preview are computed only while someone subscribes to them.
* ``/diagnostics`` (``diagnostic_msgs/DiagnosticArray``): rates, latency, drops, skips and failures.

Threading: an inference thread waits for the newest image itself and takes it with the newest camera_info
(:class:`~depth_ros.ros.camera_inbox.CameraInbox`: the executor never handles the camera's messages, which
at camera rate cost more Python than the rest of a frame), converts it, runs the pipeline and publishes the
outputs. With an engine on a GPU (:meth:`DepthNode.publish_apart`), a publishing thread builds and publishes
them instead, while the next frame infers; one estimate waits for it at most: beyond that the inference
thread waits too, rather than run further ahead of the outputs.
Frames that come while inference is busy are replaced by newer ones (the latest frame wins) and counted as
dropped. The executor thread serves everything else (odometry, timers, lifecycle and parameter services),
so its callbacks never wait for inference. A frame without output is
*skipped* (no camera_info yet, no pose, no keyframe: see :class:`~depth_ros.pipeline.frame.FrameSkipped`)
or *failed* (bad input, an error); both are counted, logged at most once per 5 s per reason, and the node
keeps running.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from depth_ros.encodings import compressed_image_size
from depth_ros.errors import DepthRosError, ImageEncodingError
from depth_ros.geometry import PinholeCamera
from depth_ros.pipeline.colour_map import colour_depth
from depth_ros.pipeline.frame import DepthResult, FrameSkipped
from depth_ros.ros.camera_inbox import CameraInbox, Taken, TakenByOwnThread
from depth_ros.ros.diagnostics import depth_status
from depth_ros.ros.input_subscription import InputSubscription
from depth_ros.ros.messages import (
    camera_from_info,
    camera_info_calibration,
    camera_info_message,
    depth_image_message,
    point_cloud_from_depth,
    rgb_from_compressed,
    rgb_from_image,
    rgb_image_message,
    stamp_ns,
)
from depth_ros.ros.parameters import ParameterSpec, declare_parameters
from depth_ros.ros.qos import INPUT_QOS_CHOICES, QOS_CHOICES, qos_profile
from depth_ros.ros.statistics import NodeStatistics, Snapshot
from depth_ros.ros.throttled_log import ThrottledLog
from depth_ros.runtime.engine import DepthEngine, open_engine

COMMON_PARAMETERS = (
    ParameterSpec(
        "model",
        "",
        "model file: a depth_ros .pt checkpoint, a Monodepth2 model folder, an MVDepthNet .pth.tar, an .onnx "
        "exported by depth-ros export, or a TensorRT .engine; empty: the weights shipped with depth_ros",
    ),
    ParameterSpec(
        "backend",
        "auto",
        "inference backend; auto: TensorRT for .engine files, ONNX Runtime for .onnx, the fastest for checkpoints",
        choices=("auto", "pytorch", "onnxruntime", "tensorrt"),
    ),
    ParameterSpec("device", "auto", "cpu, cuda, or auto (cuda when available)", choices=("auto", "cpu", "cuda")),
    ParameterSpec("precision", "fp32", "fp32 or fp16 (CUDA only; a TensorRT engine has its own)", ("fp32", "fp16")),
    ParameterSpec("threads", 0, "CPU inference threads; 0: the backend's default", minimum=0, maximum=256),
    ParameterSpec(
        "image_transport",
        "raw",
        "raw: sensor_msgs/Image on 'image'; compressed: sensor_msgs/CompressedImage on 'image/compressed'",
        choices=("raw", "compressed"),
    ),
    ParameterSpec(
        "input_qos",
        "auto",
        "QoS of the inputs; auto: each input (image, camera_info, odometry) reliable when all its publishers are "
        "(large images are resent, not lost; camera_info transient local when they all latch), else best effort; "
        "sensor_data: all best effort; reliable: all reliable",
        INPUT_QOS_CHOICES,
    ),
    ParameterSpec(
        "output_qos", "reliable", "QoS of the outputs (reliable serves both kinds of subscriber)", QOS_CHOICES
    ),
    ParameterSpec("publish_points", True, "publish depth/points (computed only while someone subscribes)"),
    ParameterSpec("points_rgb", False, "add the image's colour to depth/points (packed rgb, point_step 32)"),
    ParameterSpec("points_decimation", 1, "keep every n-th row and column in depth/points", minimum=1, maximum=64),
    ParameterSpec(
        "colored_max_depth",
        20.0,
        "metres at the far (blue) end of depth/colored's colour map",
        minimum=0.1,
        maximum=1e4,
    ),
    ParameterSpec(
        "max_input_pixels",
        4096 * 4096,
        "larger images are refused (a misconfigured camera must not exhaust memory)",
        minimum=1,
    ),
    ParameterSpec("diagnostics_period", 1.0, "seconds between /diagnostics reports", minimum=0.05, maximum=3600.0),
    ParameterSpec(
        "autostart",
        True,
        "configure and activate at start; false: wait for the lifecycle transitions (ros2 lifecycle set ...)",
    ),
)


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when PyTorch sees a GPU, else ``cpu``; other values unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class DepthNode(LifecycleNode):
    """Base of the depth nodes; a subclass sets :attr:`architecture` and implements :meth:`estimate`.

    A managed (lifecycle) node: *configure* opens the engine and creates the pipeline, its extra inputs and
    the outputs; *activate* subscribes to the camera and starts the inference (and publishing) threads;
    *deactivate* stops them once the frames they hold are published (the engine stays loaded: activating
    again is instant); *cleanup* releases the engine and the
    entities of configure. With ``autostart`` (the default) the node configures and activates itself at
    start, so ``ros2 run`` and ``depth-ros run`` need no lifecycle manager; a configure failure then stops
    it with the error (``depth-ros run`` prints it and exits with status 2). With ``autostart:=false`` it
    waits, unconfigured, for ``ros2 lifecycle set <node> configure`` (or a lifecycle manager); a failed
    configure is logged and leaves it unconfigured. Parameters are read-only: fixed when the node starts.

    Args:
        node_name: the node's default name.
        specs: the subclass's parameters, declared after :data:`COMMON_PARAMETERS`.
        node_kwargs: passed to ``rclpy.node.Node`` (e.g. ``parameter_overrides``, ``context``).

    Attributes:
        engine: the inference engine (from configure until cleanup).
        configure_error: why the last configure failed, or None.
    """

    architecture = ""
    engine: DepthEngine

    def __init__(self, node_name: str, specs: tuple[ParameterSpec, ...], **node_kwargs: Any):
        super().__init__(node_name, **node_kwargs)
        self._camera_group = TakenByOwnThread()  # the camera's subscriptions: taken by the inference thread
        self._inbox: CameraInbox | None = None  # made by activate
        self._stopping = threading.Event()  # of the current activation's inference thread
        self._threads: list[threading.Thread] = []  # the inference and publishing threads of the last activation
        self._configured: list[Any] = []  # what configure created, destroyed by cleanup
        self._activated: list[Any] = []  # what activate created, destroyed by deactivate
        self._image_input: InputSubscription | None = None  # made by activate
        self._camera_info_input: InputSubscription | None = None
        self.params = declare_parameters(self, COMMON_PARAMETERS + specs)
        self.stats = NodeStatistics()
        self.log = ThrottledLog(self.get_logger())
        self._camera: PinholeCamera | DepthRosError | None = None
        self._calibration: tuple[Any, ...] | None = None  # of the camera_info that gave self._camera
        self._published = _Published()  # the last outputs published: the next frame's are written over them
        self.configure_error: Exception | None = None
        self._reported = Snapshot()
        self._autostarting = bool(self.params["autostart"])
        if self._autostarting:
            configured = self.trigger_configure()
            self._autostarting = False
            if configured != TransitionCallbackReturn.SUCCESS:
                raise self.configure_error or DepthRosError(f"{self.get_name()} could not be configured")
            if self.trigger_activate() != TransitionCallbackReturn.SUCCESS:
                raise DepthRosError(f"{self.get_name()} could not be activated (the log above says why)")

    # -------------------------------------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        before = {*self.subscriptions, *self.publishers, *self.timers}
        try:
            self.engine = self._open_engine()
            self.setup()
        except Exception as error:  # rclpy would swallow it silently: say why, and fail the transition
            self.configure_error = error
            if not (isinstance(error, DepthRosError) and self._autostarting):  # else __init__ raises it
                detail = "" if isinstance(error, DepthRosError) else f"\n{traceback.format_exc()}"
                self.get_logger().error(f"configure failed: {error}{detail}")
            self._destroy([e for e in [*self.subscriptions, *self.publishers, *self.timers] if e not in before])
            self._release()
            return TransitionCallbackReturn.FAILURE
        output_qos = qos_profile(str(self.params["output_qos"]), depth=2)
        self._depth_pub = self.create_publisher(Image, "depth/image", output_qos)
        self._info_pub = self.create_publisher(CameraInfo, "depth/camera_info", output_qos)
        self._points_pub = self.create_publisher(PointCloud2, "depth/points", output_qos)
        self._colored_pub = self.create_publisher(Image, "depth/colored", output_qos)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._configured = [e for e in [*self.subscriptions, *self.publishers, *self.timers] if e not in before]
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._last_frame_finished("activate"):
            return TransitionCallbackReturn.FAILURE
        input_qos = str(self.params["input_qos"])
        message = CompressedImage if self.params["image_transport"] == "compressed" else Image
        camera = {"callback_group": self._camera_group, "qos_events": False, "on_resubscribe": self._wake_inference}
        image_topic = self._image_topic()
        self._image_input = InputSubscription(self, message, image_topic, self._taken_by_executor, input_qos, **camera)
        self._camera_info_input = InputSubscription(
            self, CameraInfo, "camera_info", self._taken_by_executor, input_qos, latched=True, **camera
        )
        self._inbox = CameraInbox(self, self._image_input, self._camera_info_input, self._camera_group)
        self._activated = [self.create_timer(float(self.params["diagnostics_period"]), self._report)]
        if self._image_input.subscription is None:
            self.get_logger().info(f"waiting for a publisher on {self._image_input.topic} (input_qos auto)")
        self._activated.append(self.create_timer(0.5, self._follow_publishers))
        self._stopping = threading.Event()
        results: queue.Queue[_Estimated | None] | None = queue.Queue(maxsize=1) if self.publish_apart() else None
        name = self.get_name()
        work = [(f"{name} inference", self._work, (self._inbox, results, self._stopping))]
        if results is not None:
            work.append((f"{name} publishing", self._publish_results, (results,)))
        self._threads = [threading.Thread(target=run, args=args, name=role, daemon=True) for role, run, args in work]
        for thread in self._threads:
            thread.start()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        if not self._last_frame_finished("cleanup"):  # it would publish on destroyed publishers
            return TransitionCallbackReturn.FAILURE
        self._unconfigure()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop()
        self._unconfigure()  # from any state: the odometry input and the engine go too
        return TransitionCallbackReturn.SUCCESS

    def _last_frame_finished(self, transition: str) -> bool:
        """Wait up to 10 s for a frame the last deactivate left in inference or publishing; False (logged) if it
        still runs."""
        if not self._join_threads():
            still = "a frame from before the last deactivate is still running"
            self.get_logger().error(f"{transition} failed: {still}")
            return False
        return True

    def _join_threads(self, timeout_s: float = 10.0) -> bool:
        """Wait (together at most ``timeout_s``) for the last activation's threads to end; True once they have
        (those still running are kept: the next activate or cleanup waits for them)."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:  # inference first: it hands its last frame to the publishing thread
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        return not self._threads

    def _unconfigure(self) -> None:
        """Undo configure: destroy what it created and release the engine."""
        self._destroy(self._configured)
        self._configured = []
        self._release()

    def _stop(self) -> None:
        """Stop taking images (the frame being inferred is still published) and the diagnostics."""
        self._stopping.set()
        self._wake_inference()
        self._join_threads()
        self._destroy(self._activated)
        for input_ in (self._image_input, self._camera_info_input):
            if input_ is not None:
                input_.destroy()
        if self._inbox is not None:
            self._inbox.destroy()
        self._activated, self._image_input, self._camera_info_input, self._inbox = [], None, None, None

    def _wake_inference(self) -> None:
        """End the inference thread's wait for an image now (to stop, or to wait on a new subscription)."""
        inbox = self._inbox
        if inbox is not None:
            inbox.wake()

    def _release(self) -> None:
        """Drop the engine and what :meth:`setup` built on it (``pipeline``, ``odometry``), so that the engine's
        memory is freed once no frame uses it."""
        odometry = self.__dict__.pop("odometry", None)
        if odometry is not None:
            odometry.destroy()
        for name in ("pipeline", "engine"):
            self.__dict__.pop(name, None)
        self._published = _Published()

    def _destroy(self, entities: Any) -> None:
        for entity in entities:
            if entity in self.subscriptions:
                self.destroy_subscription(entity)
            elif entity in self.publishers:
                self.destroy_publisher(entity)
            elif entity in self.timers:
                self.destroy_timer(entity)

    # -------------------------------------------------------------------------------------------- subclass
    def setup(self) -> None:
        """Build the pipeline (``self.pipeline``) and any extra inputs (``self.odometry``); ``self.params``,
        ``self.engine`` are set; called by configure. Cleanup drops both attributes and
        destroys the subscriptions, publishers and timers created here."""
        raise NotImplementedError

    def estimate(self, rgb: np.ndarray, camera: PinholeCamera, stamp: int, frame_id: str) -> DepthResult:
        """Depth of one (H, W, 3) uint8 RGB image with its camera, stamp (ns) and frame; raises
        :class:`FrameSkipped` when there is none for this frame."""
        raise NotImplementedError

    # -------------------------------------------------------------------------------------------- setup
    def _open_engine(self) -> DepthEngine:
        from depth_ros.resources import shipped_weights

        model = str(self.params["model"]) or str(shipped_weights(self.architecture))
        threads = int(self.params["threads"]) or None
        device = resolve_device(str(self.params["device"]))
        engine = open_engine(
            model,
            str(self.params["backend"]),
            device,
            str(self.params["precision"]),
            threads=threads,  # type: ignore[arg-type]
        )
        if engine.metadata.architecture != self.architecture:
            raise DepthRosError(
                f"{model} is a {engine.metadata.architecture} model; {self.get_name()} runs {self.architecture} models"
            )
        engine.warmup(2)
        size = f"{engine.metadata.width}x{engine.metadata.height}"
        self.get_logger().info(f"{engine.describe()} from {model}: depth/image at {size}, {engine.metadata.scale_type}")
        return engine

    def output_subscribers(self) -> int:
        """Subscriptions matched to ``depth/image`` (0 until DDS discovery connects a subscriber)."""
        return self._depth_pub.get_subscription_count()

    def input_publishers(self) -> int:
        """Publishers matched to the least connected input (image, camera_info and the subclass's
        :meth:`extra_inputs`): 0 until DDS discovery has connected a publisher to each, and while inactive.
        Discovery is not symmetric: a publisher can see this node's subscription before the subscription
        sees the publisher, and best-effort messages sent in between are lost."""
        inputs = [self._image_input, self._camera_info_input]  # the executor thread may replace them
        if None in inputs:
            return 0
        return min(input_.publisher_count() for input_ in [*inputs, *self.extra_inputs()])  # type: ignore[union-attr]

    def extra_inputs(self) -> list[InputSubscription]:
        """Inputs besides the camera's that the node needs (e.g. odometry)."""
        return []

    def destroy_node(self) -> None:
        self._stop()
        super().destroy_node()

    # -------------------------------------------------------------------------------------------- image input
    def _image_topic(self) -> str:
        """The name the image subscription takes: ``image`` (resolved and remapped when subscribing), or with
        ``image_transport: compressed`` image_transport's ``<image topic, after remapping>/compressed``."""
        if self.params["image_transport"] == "compressed":
            return self.resolve_topic_name("image") + "/compressed"
        return "image"

    def _follow_publishers(self) -> None:
        """Subscribe again where the camera's publishers changed the reliability it follows (input_qos auto), and
        count those a reliable subscription cannot hear (input_qos reliable); odometry follows its own on a
        timer of its own, from configure on."""
        for input_ in (self._image_input, self._camera_info_input):
            if input_ is not None:
                input_.follow()

    # -------------------------------------------------------------------------------------------- callbacks
    def _taken_by_executor(self, msg: Any) -> None:
        """The callback of the camera's subscriptions, which rclpy's executors never call (their callback group is
        :class:`~depth_ros.ros.camera_inbox.TakenByOwnThread`); an executor that ignores callback groups would
        take the images from the inference thread."""
        self.log(
            "error",
            "camera taken by the executor",
            f"the executor spinning {self.get_name()} took a {type(msg).__name__} of the camera, which this node's "
            "inference thread takes itself: spin it with rclpy's SingleThreadedExecutor or MultiThreadedExecutor",
        )

    def _update_camera(self, msg: CameraInfo) -> None:
        """Use the camera of ``msg`` from now on (one comes with nearly every image, and it rarely changes: an
        unchanged calibration keeps the camera in use without reading it again)."""
        calibration = camera_info_calibration(msg)
        if calibration == self._calibration:  # set only while self._camera is the camera it gave
            return
        self._calibration = None
        try:
            self._camera = camera_from_info(msg)
        except DepthRosError as error:
            self._camera = error
            self.log("error", "camera_info", f"camera_info refused: {error}")
            return
        self._calibration = calibration

    def _report(self) -> None:
        """Each ``diagnostics_period``: publish /diagnostics, and log the throttled problems that did not recur."""
        self.log.flush()
        snapshot = self.stats.snapshot()
        status = depth_status(
            f"{self.get_fully_qualified_name()}: depth",
            self.get_fully_qualified_name(),
            self.engine.describe(),
            self._image_input.describe() if self._image_input else "not subscribed: inactive",
            snapshot,
            self._reported,
        )
        self._reported = snapshot
        self._diagnostics_pub.publish(DiagnosticArray(header=_header_now(self), status=[status]))

    # -------------------------------------------------------------------------------------------- inference thread
    def publish_apart(self) -> bool:
        """Whether a frame's outputs are published on a thread of their own while the next frame infers: when
        the engine runs on a GPU, which leaves the CPU to the publishing. On the CPU the two threads contend
        for the cores, and publishing apart lowered throughput on 2 cores (0.57-0.65x against 0.63-0.69x of
        the engine in benchmarks/node_overhead.py, lower in three of five A/B pairs, equal in one), so there the
        inference thread publishes too."""
        return self.engine.device != "cpu"

    def _work(
        self, inbox: CameraInbox, results: queue.Queue[_Estimated | None] | None, stopping: threading.Event
    ) -> None:
        """The inference thread of one activation (its own ``inbox``, ``results`` and ``stopping``): until
        ``stopping`` is set, take the newest image, estimate its depth and publish it, or with ``results``
        hand it to the publishing thread; then tell that thread to end, once it has published what it has."""
        try:
            while not stopping.is_set():
                try:
                    taken = inbox.wait(timeout_s=0.2)
                    if taken is not None and not stopping.is_set():
                        self._take(taken, results)
                except Exception as error:  # rclpy's errors once the context shuts down (Ctrl-C), or a bug
                    if not self.context.ok() or stopping.is_set():
                        return
                    detail = f"{error}\n{traceback.format_exc()}"
                    self.log("error", "internal error", f"internal error taking images (please report): {detail}")
                    stopping.wait(0.2)
        finally:
            if results is not None:
                results.put(None)

    def _take(self, taken: Taken, results: queue.Queue[_Estimated | None] | None) -> None:
        if taken.camera_info is not None:
            self._update_camera(taken.camera_info)
        self.stats.received(taken.missed, taken.missed_unknown)
        estimated = self._estimate(taken.image)
        if estimated is None:
            return
        if results is None:
            self._publish_estimated(estimated)
        else:
            results.put(estimated)  # waits while an earlier estimate still waits for the publishing thread

    def _publish_results(self, results: queue.Queue[_Estimated | None]) -> None:
        """The publishing thread of one activation: publish each estimate until the inference thread ends."""
        while (estimated := results.get()) is not None:
            self._publish_estimated(estimated)

    def _publish_estimated(self, estimated: _Estimated) -> None:
        """Publish a frame's outputs and count it; an error is counted and logged (this must not end a thread:
        the inference thread would wait for the publishing thread for good)."""
        header, started = estimated.msg.header, time.monotonic()
        try:
            self._publish(estimated.result, header)
            latency = (self.get_clock().now().nanoseconds - stamp_ns(header.stamp)) * 1e-9
            processing = estimated.processing_s + time.monotonic() - started
            self.stats.published(latency, processing, estimated.result.timings.get("inference", float("nan")))
        except Exception as error:  # a bug must not stop the node: report it and go on with the next frame
            if self.context.ok():  # else shutting down (Ctrl-C): publishing fails, and that is no error
                self.stats.failed("internal error")
                detail = f"{error}\n{traceback.format_exc()}"
                self.log("error", "internal error", f"internal error publishing (please report): {detail}")

    def _estimate(self, msg: Image | CompressedImage) -> _Estimated | None:
        """The depth of one image; None (counted and logged) when the frame is skipped or fails."""
        started = time.monotonic()
        try:
            result = self.estimate(
                self._rgb(msg), self._current_camera(), stamp_ns(msg.header.stamp), msg.header.frame_id
            )
        except FrameSkipped as skip:
            self.stats.skipped(skip.reason)
            self.log("warning", skip.reason, f"no depth for this image: {skip}")
            return None
        except DepthRosError as error:
            reason = type(error).__name__
            self.stats.failed(reason)
            self.log("error", reason, f"image refused: {error}")
            return None
        except Exception as error:  # a bug must not stop the node: report it and go on with the next frame
            self.stats.failed("internal error")
            self.log("error", "internal error", f"internal error (please report): {error}\n{traceback.format_exc()}")
            return None
        return _Estimated(msg, result, time.monotonic() - started)

    def _current_camera(self) -> PinholeCamera:
        camera = self._camera
        if camera is None:
            raise FrameSkipped("no camera_info yet", f"nothing received on {self.resolve_topic_name('camera_info')}")
        if isinstance(camera, DepthRosError):
            raise FrameSkipped("invalid camera_info", str(camera))
        return camera

    def _rgb(self, msg: Image | CompressedImage) -> np.ndarray:
        """(H, W, 3) uint8 RGB of an image message within ``max_input_pixels`` (a JPEG or PNG is measured from
        its header, before it is decoded; other payloads once decoded)."""
        if isinstance(msg, Image):
            self._check_size(int(msg.width), int(msg.height))
            return rgb_from_image(msg)
        size = compressed_image_size(msg.data)
        if size is not None:
            self._check_size(*size)
        rgb = rgb_from_compressed(msg)
        if size is None:
            self._check_size(rgb.shape[1], rgb.shape[0])
        return rgb

    def _check_size(self, width: int, height: int) -> None:
        pixels, limit = width * height, int(self.params["max_input_pixels"])
        if pixels > limit:
            raise ImageEncodingError(
                f"image of {width}x{height} ({pixels} pixels) exceeds max_input_pixels = {limit}: "
                "lower the camera's resolution or raise max_input_pixels"
            )

    def _publish(self, result: DepthResult, header: Any) -> None:
        """Publish one frame's outputs, each written over the same output's message of the frame before (rclpy's
        ``publish`` has serialised that one)."""
        last = self._published
        last.depth = depth_image_message(result.depth, header, reuse=last.depth)
        self._depth_pub.publish(last.depth)
        last.info = camera_info_message(result.camera, header, reuse=last.info)
        self._info_pub.publish(last.info)
        if self.params["publish_points"] and self._points_pub.get_subscription_count():
            step = int(self.params["points_decimation"])
            rgb = result.rgb if self.params["points_rgb"] else None
            last.cloud = point_cloud_from_depth(result.depth, result.camera, header, step, rgb, reuse=last.cloud)
            self._points_pub.publish(last.cloud)
        if self._colored_pub.get_subscription_count():
            colours = colour_depth(result.depth, float(self.params["colored_max_depth"]))
            self._colored_pub.publish(rgb_image_message(colours, header))


@dataclass
class _Published:
    """The messages a node published last, one per output, for the next frame to write over (one thread
    publishes: the inference thread, or the publishing thread when there is one)."""

    depth: Image | None = None
    info: CameraInfo | None = None
    cloud: PointCloud2 | None = None


@dataclass
class _Estimated:
    """A frame's depth on its way from the inference thread to the publishing thread."""

    msg: Image | CompressedImage  # the input (its header goes on every output)
    result: DepthResult
    processing_s: float  # the inference thread's time on it: conversion and the pipeline


def _header_now(node: Node) -> Any:
    from std_msgs.msg import Header

    return Header(stamp=node.get_clock().now().to_msg())
