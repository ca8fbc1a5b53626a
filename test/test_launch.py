"""The package as a ROS 2 user meets it: ``colcon build``, ``ros2 launch``, ``ros2 param``, ``ros2 lifecycle``
and Ctrl-C, with the real tools in their own processes over real DDS (an isolated, localhost-only domain).

The tools come from a sourced ROS 2 install, or from ``../shared/ros2-tools`` (its ``install.sh`` adds the
upstream launch system, ros2cli and colcon to the venv; ``.ci/run`` does that). Without them these tests skip,
unless ``DEPTH_ROS_REQUIRE_ROS2_TOOLS=1`` (set by ``.ci/run`` once it has installed them) makes that a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="rclpy is not installed (no ROS 2 and no ROS 2 wheels)")

from ros_graph import isolate_ros_environment, wait_for
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from depth_ros.data.bag_writer import write_sample_bag
from depth_ros.data.synthetic import SyntheticConfig, SyntheticSequence
from depth_ros.resources import package_file
from depth_ros.ros.messages import camera_info_message, rgb_image_message, stamp_ns

pytestmark = pytest.mark.ros

ROOT = Path(__file__).resolve().parents[1]
TOOLS_PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
TOOLS_SKIP = (
    "colcon, the ROS 2 launch system and ros2cli are not installed: source a ROS 2 install, or add them with "
    "bash ../shared/ros2-tools/install.sh .venv (.ci/run does)"
)
# What a clean stop must not print (a Python traceback, a C++ abort, launch reporting a dead process).
CRASH_SIGNS = ("Traceback", "terminate called", "process has died", "exit code -")


def tools_installed() -> bool:
    commands = all(shutil.which(tool, path=TOOLS_PATH) for tool in ("colcon", "ros2"))
    return commands and all(importlib.util.find_spec(name) for name in ("launch", "launch_ros", "ros2cli"))


@pytest.fixture(scope="module")
def sourced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a shell that built this package with ``colcon build`` in a new workspace and sourced
    its ``install/setup.bash``, in the tests' isolated ROS domain."""
    if not tools_installed():
        if os.environ.get("DEPTH_ROS_REQUIRE_ROS2_TOOLS") == "1":
            pytest.fail(f"DEPTH_ROS_REQUIRE_ROS2_TOOLS=1 but {TOOLS_SKIP}")
        pytest.skip(TOOLS_SKIP)
    isolate_ros_environment()
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "src").mkdir()
    (workspace / "src" / "depth_ros").symlink_to(ROOT)
    env = {"AMENT_PREFIX_PATH": sys.prefix, **os.environ, "PATH": TOOLS_PATH}
    build = ["colcon", "build", "--packages-select", "depth_ros"]
    built = subprocess.run(build, cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    print_environment = f"{sys.executable} -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    dump = f"source {workspace / 'install' / 'setup.bash'} && {print_environment}"
    shell = subprocess.run(["bash", "-c", dump], env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(shell.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def street() -> SyntheticSequence:
    """3 s down a street at 10 Hz."""
    config = SyntheticConfig(frames=30, width=160, height=120, seed=1002, trajectory="forward", moving_objects=0)
    return SyntheticSequence(config)


@pytest.fixture(scope="module")
def street_bag(street: SyntheticSequence, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The street in a bag with the sample bag's topics."""
    return write_sample_bag(tmp_path_factory.mktemp("launch") / "street", street)


class Launched:
    """``ros2 launch depth_ros KIND.launch.py ARGUMENTS`` in a process group of its own, as a terminal starts it."""

    def __init__(self, sourced: dict[str, str], kind: str, *arguments: str):
        command = ["ros2", "launch", "depth_ros", f"{kind}.launch.py", *arguments]
        self.process = subprocess.Popen(
            command, env=sourced, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )

    def ctrl_c(self, timeout_s: float = 60.0) -> str:
        """SIGINT to the whole process group (launch and the node), as a terminal's Ctrl-C; returns the output."""
        os.killpg(self.process.pid, signal.SIGINT)
        output, _ = self.process.communicate(timeout=timeout_s)
        return output

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.communicate()


def ros2(sourced: dict[str, str], *arguments: str, tries: int = 5) -> str:
    """The output of ``ros2 COMMAND VERB ARGUMENTS`` without the ROS 2 daemon (nothing keeps running after the
    test); asked again while it has not discovered the node yet (each try listens 2 s)."""
    command, verb, *rest = arguments
    for _ in range(tries):
        result = subprocess.run(
            ["ros2", command, verb, "--no-daemon", "--spin-time", "2", *rest],
            env=sourced,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = result.stdout + result.stderr
        if "not found" not in output.lower():
            break
    return output


def parameter_file(tmp_path: Path, kind: str, **changes: object) -> Path:
    """The shipped ``config/KIND.yaml`` with ``changes``, written to ``tmp_path``."""
    parameters = yaml.safe_load(package_file(f"config/{kind}.yaml").read_text())
    parameters["/**"]["ros__parameters"].update(changes)
    path = tmp_path / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(parameters))
    return path


def assert_stopped_cleanly(launched: Launched, output: str) -> None:
    ending = output[-4000:]  # how it ended
    assert launched.process.returncode == 0, ending
    assert "process has finished cleanly" in output and not any(sign in output for sign in CRASH_SIGNS), ending


def test_mono_launch_takes_every_argument_and_stops_on_ctrl_c(sourced, graph, tmp_path: Path) -> None:
    """namespace, remapped inputs, params_file, model, backend and scale_mode, each given once: the node is
    where the namespace says, hears the remapped topics, answers ``ros2 param get`` with the arguments' values
    over the file's, refuses ``ros2 param set`` with a reason, and publishes depth, camera_info and points
    with each input header; a terminal's Ctrl-C while images flow ends launch and node with status 0."""
    params = parameter_file(tmp_path, "mono", scale_factor=2.5, scale_mode="relative", backend="pytorch")
    model = package_file("weights/monodepth2_lite.pt")
    inputs = {"image": "/front/cam/image", "camera_info": "/front/cam/info"}
    arguments = [f"image:={inputs['image']}", f"camera_info:={inputs['camera_info']}", "namespace:=front"]
    arguments += [f"params_file:={params}", f"model:={model}", "backend:=onnxruntime", "scale_mode:=fixed"]
    depth = graph.listen(Image, "/front/depth/image")
    infos = graph.listen(CameraInfo, "/front/depth/camera_info")
    points = graph.listen(PointCloud2, "/front/depth/points")
    images = graph.publisher(Image, inputs["image"])
    camera_infos = graph.publisher(CameraInfo, inputs["camera_info"])
    frame = SyntheticSequence(SyntheticConfig(frames=1, width=160, height=120, seed=5)).frame(0)
    launched = Launched(sourced, "mono", *arguments)
    sent: set[int] = set()
    try:
        assert wait_for(lambda: graph.probe.count_subscribers(inputs["image"]) > 0, 120.0), "the node never subscribed"
        for _ in range(100):
            if len(depth) >= 3 and len(points) >= 3:
                break
            header = Header(stamp=graph.probe.get_clock().now().to_msg(), frame_id="front_optical")
            sent.add(stamp_ns(header.stamp))
            camera_infos.publish(camera_info_message(frame.camera, header))
            images.publish(rgb_image_message(frame.rgb, header))
            time.sleep(0.2)
        node = "/front/mono_depth_node"
        got = {name: ros2(sourced, "param", "get", node, name) for name in ("backend", "scale_mode", "scale_factor")}
        refused = ros2(sourced, "param", "set", node, "scale_factor", "3.0")
        after = ros2(sourced, "param", "get", node, "scale_factor")
    finally:
        output = launched.ctrl_c() if launched.process.poll() is None else launched.process.communicate()[0]
        launched.kill()
    assert len(depth) >= 3 and len(infos) >= 3 and len(points) >= 3, output[-4000:]
    for messages in (depth, infos, points):
        assert {stamp_ns(m.header.stamp) for m in messages} <= sent
        assert {m.header.frame_id for m in messages} == {"front_optical"}
    assert "onnxruntime" in got["backend"] and "fixed" in got["scale_mode"], got  # the arguments over the file
    assert "2.5" in got["scale_factor"] and "2.5" in after, (got, after)  # the file over the defaults
    assert "read-only" in refused and "3.0" not in after, refused
    assert f"{model}" in output and "onnxruntime" in output, output
    assert_stopped_cleanly(launched, output)


def test_multiview_launch_by_default_with_lifecycle_fed_by_depth_ros_play(
    sourced, graph, street, street_bag, tmp_path
) -> None:
    """The launch file's defaults (namespace ``multiview``, the sample bag's topics, shipped weights) with a
    parameter file that leaves the node unconfigured: ``ros2 lifecycle set`` configures and activates it,
    ``depth-ros play`` feeds it the bag, metric depth comes back with the bag's image stamps; a terminal's
    Ctrl-C while the bag still plays ends launch and node with status 0 and no traceback."""
    params = parameter_file(tmp_path, "multiview", autostart=False)
    recorded = {street.stamp_ns(street.frame_time(index)) for index in range(street.config.frames)}
    depth = graph.listen(Image, "/multiview/depth/image")
    points = graph.listen(PointCloud2, "/multiview/depth/points")
    launched = Launched(sourced, "multiview", f"params_file:={params}")
    node = "/multiview/multiview_depth_node"
    play = None
    try:
        states: list[str] = []

        def unconfigured() -> bool:
            states.append(ros2(sourced, "lifecycle", "get", node))
            return "unconfigured" in states[-1]

        assert wait_for(unconfigured, 120.0), states
        configured = ros2(sourced, "lifecycle", "set", node, "configure")
        activated = ros2(sourced, "lifecycle", "set", node, "activate")
        state = ros2(sourced, "lifecycle", "get", node)
        command = [sys.executable, "-m", "depth_ros.cli", "play", str(street_bag), "--loop"]
        play = subprocess.Popen(command, env=sourced, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(depth) >= 5, 120.0)
    finally:
        output = launched.ctrl_c() if launched.process.poll() is None else launched.process.communicate()[0]
        launched.kill()
        if play is not None:
            play.terminate()
            play.wait(timeout=30)
    assert "Transitioning successful" in configured and "Transitioning successful" in activated, (configured, activated)
    assert "active" in state and "inactive" not in state, state
    assert len(depth) >= 5 and len(points) >= 5, output[-4000:]
    assert {stamp_ns(m.header.stamp) for m in depth} <= recorded
    values = np.concatenate([np.frombuffer(m.data, np.float32) for m in depth])
    assert np.isfinite(values).mean() > 0.9 and 1.0 < np.nanmedian(values) < 30.0  # metres, a street's depths
    assert_stopped_cleanly(launched, output)
