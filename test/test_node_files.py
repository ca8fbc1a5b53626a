"""The files around the depth nodes agree with the nodes: parameter files, launch files and the rviz config.

Pinned down here:

* ``config/mono.yaml`` and ``config/multiview.yaml`` list exactly the parameters each node declares, each with
  its default (same value, same YAML type, so ROS 2 accepts it), and every default is described and allowed;
  the comment of a parameter with a fixed set of values lists those values.
* ``launch/mono.launch.py`` and ``launch/multiview.launch.py`` (read with ``ast``, so that it holds without
  ``launch``/``launch_ros`` too): the parameter file and rviz config they name existing and installed where
  ``FindPackageShare`` looks, and the launch arguments (including those used in the launch files' docstrings).
  What the launch files start, with which remaps, namespace and topic defaults, is run for real by
  ``test_launch.py`` (``colcon build`` and ``ros2 launch``).
* ``config/depth_ros.rviz`` shows topics that exist (node outputs in their default namespaces, or sample bag
  topics) with a display of their message type, both nodes' colored depth and points, subscribes best effort
  (matches any publisher) and uses the odometry frame as fixed frame.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import asdict
from glob import glob
from pathlib import Path
from typing import Any

import pytest
import yaml

from depth_ros.data.bag_layout import BagTopics, FrameNames

ROOT = Path(__file__).resolve().parents[1]
ROS = ROOT / "depth_ros" / "ros"
LAUNCH_DESCRIPTION = ROS / "launch_description.py"
RVIZ_CONFIG = ROOT / "config" / "depth_ros.rviz"
KINDS = ("mono", "multiview")
REQUIRED_ARGUMENTS = {"namespace", "image", "camera_info", "odom", "params_file", "model", "backend", "rviz"}
NODE_OUTPUTS = {"depth/image", "depth/camera_info", "depth/points", "depth/colored"}
# Message type of each sample bag topic (BagTopics' docstring).
BAG_TOPIC_TYPES = {
    "image": "Image",
    "camera_info": "CameraInfo",
    "depth": "Image",
    "depth_camera_info": "CameraInfo",
    "odometry": "Odometry",
    "tf_static": "TFMessage",
    "tf": "TFMessage",
}
TOPIC_DISPLAYS = ("rviz_default_plugins/Image", "rviz_default_plugins/PointCloud2")
RCLPY_SKIP = "rclpy is not installed (no ROS 2 and no ROS 2 wheels)"


# ------------------------------------------------------------------------------------------------ source reading
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Calls of ``name(...)`` or ``something.name(...)`` in ``tree``."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and name in (getattr(node.func, "id", None), getattr(node.func, "attr", None))
    ]


def module_constant(path: Path, name: str) -> Any:
    """The literal value of the module-level assignment ``name = ...`` in ``path``."""
    for node in parse(path).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} assigns no {name}")


def evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    """A path expression of setup.py or the launch description: literals, f-strings, ``names``, glob() calls."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.JoinedStr):
        return "".join(str(evaluate(part, names)) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return evaluate(node.value, names)
    if isinstance(node, ast.List | ast.Tuple):
        return [evaluate(element, names) for element in node.elts]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "glob":
        return sorted(glob(evaluate(node.args[0], names), root_dir=ROOT))
    raise AssertionError(f"cannot evaluate {ast.unparse(node)}")


def topic_names(path: Path, method: str, message_at: int = 0) -> dict[str, str]:
    """``{topic: message type}`` of the calls of ``method`` with a literal topic, whose message type is argument
    ``message_at`` and topic the next one: ``create_publisher(Image, "depth/image", ...)`` (0),
    ``InputSubscription(node, CameraInfo, "camera_info", ...)`` (1)."""
    return {
        call.args[message_at + 1].value: getattr(call.args[message_at], "id", "?")
        for call in calls(parse(path), method)
        if len(call.args) > message_at + 1 and isinstance(call.args[message_at + 1], ast.Constant)
    }


# ------------------------------------------------------------------------------------------------ setup.py
def setup_keywords() -> dict[str, ast.expr]:
    call = calls(parse(ROOT / "setup.py"), "setup")[0]
    return {keyword.arg: keyword.value for keyword in call.keywords}


def package_name() -> str:
    """setup.py's ``name`` (the ``PACKAGE`` constant)."""
    assert getattr(setup_keywords()["name"], "id", None) == "PACKAGE"
    return module_constant(ROOT / "setup.py", "PACKAGE")


def installed_files() -> set[str]:
    """Install paths (``share/depth_ros/config/mono.yaml``, ...) of setup.py's data_files, globs evaluated here."""
    names = {"PACKAGE": package_name()}
    return {
        f"{destination}/{Path(source).name}"
        for destination, sources in evaluate(setup_keywords()["data_files"], names)
        for source in sources
    }


# ------------------------------------------------------------------------------------------------ launch files
def launch_file(kind: str) -> Path:
    return ROOT / "launch" / f"{kind}.launch.py"


def launch_constants() -> dict[str, Any]:
    return {name: module_constant(LAUNCH_DESCRIPTION, name) for name in ("EXECUTABLES", "TOPICS", "OVERRIDES")}


def declared_arguments(kind: str) -> dict[str, ast.Call]:
    """``{name: DeclareLaunchArgument call}`` of ``depth_launch_description(kind)``, read from its source (the
    names of those declared in a comprehension are its iterable's, evaluated for ``kind``)."""
    tree = parse(LAUNCH_DESCRIPTION)
    scope = {**launch_constants(), "kind": kind}
    declared: dict[str, ast.Call] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.GeneratorExp | ast.ListComp) and calls(node.elt, "DeclareLaunchArgument"):
            items = eval(compile(ast.Expression(node.generators[0].iter), "iterable", "eval"), scope)
            declared |= {item[0] if isinstance(item, tuple) else item: node.elt for item in items}
    for call in calls(tree, "DeclareLaunchArgument"):
        if isinstance(call.args[0], ast.Constant):
            declared[call.args[0].value] = call
    return declared


def named_share_paths(kind: str) -> list[str]:
    """The ``PathJoinSubstitution([share, ...])`` paths of ``depth_launch_description(kind)``, relative to share."""
    lists = [call.args[0] for call in calls(parse(LAUNCH_DESCRIPTION), "PathJoinSubstitution")]
    return ["/".join(evaluate(element, {"kind": kind}) for element in path.elts[1:]) for path in lists]


# ------------------------------------------------------------------------------------------------ parameters
def declared_specs(kind: str) -> tuple:
    """The ParameterSpecs the ``kind`` node declares, in order (common ones first)."""
    pytest.importorskip("rclpy", reason=RCLPY_SKIP)
    from depth_ros.ros.depth_node import COMMON_PARAMETERS

    module = importlib.import_module(f"depth_ros.ros.{kind}_node")
    return COMMON_PARAMETERS + getattr(module, f"{kind.upper()}_PARAMETERS")


def flatten(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def parameter_file(kind: str) -> dict[str, Any]:
    """``{dotted name: value}`` of ``config/<kind>.yaml`` (which applies to any node name: ``/**``)."""
    document = yaml.safe_load((ROOT / "config" / f"{kind}.yaml").read_text())
    assert list(document) == ["/**"] and list(document["/**"]) == ["ros__parameters"], list(document)
    return dict(flatten(document["/**"]["ros__parameters"]))


def choice_comments(kind: str) -> dict[str, set[str]]:
    """``{key: values}`` from parameter file lines like ``backend: auto  # auto | pytorch | tensorrt``."""
    lines = (ROOT / "config" / f"{kind}.yaml").read_text().splitlines()
    matches = (re.match(r"\s*(\w+):[^#]*#(.*\|.*)", line) for line in lines)
    return {m[1]: {choice.split()[0] for choice in m[2].split("|")} for m in matches if m}


def same_value(value: Any, default: Any) -> bool:
    """Equal and of the same YAML type (ROS 2 refuses an int for a double parameter, and mixed arrays)."""
    if isinstance(default, list):
        return isinstance(value, list) and all(type(v) is float for v in value) and value == default
    return type(value) is type(default) and value == default


# ------------------------------------------------------------------------------------------------ rviz
def rviz_displays(displays: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every display, those inside display groups included."""
    for display in displays:
        yield display
        yield from rviz_displays(display.get("Displays", []))


def rviz_config() -> dict[str, Any]:
    return yaml.safe_load(RVIZ_CONFIG.read_text())["Visualization Manager"]


def shown_topics() -> list[tuple[str, str]]:
    """``(topic, display class name)`` of each Image and PointCloud2 display."""
    displays = rviz_displays(rviz_config()["Displays"])
    return [(d["Topic"]["Value"], d["Class"].split("/")[-1]) for d in displays if d["Class"] in TOPIC_DISPLAYS]


def node_outputs() -> dict[str, str]:
    """``{relative topic: message type}`` the depth nodes publish (``/diagnostics`` aside)."""
    return {t: m for t, m in topic_names(ROS / "depth_node.py", "create_publisher").items() if not t.startswith("/")}


def known_topics() -> dict[str, str]:
    """``{topic: message type}`` of the node outputs in their default namespaces and the sample bag's topics."""
    outputs = {f"/{kind}/{topic}": message for kind in KINDS for topic, message in node_outputs().items()}
    bag = {topic: BAG_TOPIC_TYPES[field] for field, topic in asdict(BagTopics()).items() if topic}
    return outputs | bag


# ================================================================================================ parameter files
@pytest.mark.parametrize("kind", KINDS)
def test_parameter_file_lists_exactly_the_declared_parameters(kind: str) -> None:
    names = [spec.name for spec in declared_specs(kind)]
    assert len(names) == len(set(names)), f"declared twice: {sorted(n for n in names if names.count(n) > 1)}"
    assert sorted(parameter_file(kind)) == sorted(names)


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_file_values_are_the_defaults_with_their_types(kind: str) -> None:
    values = parameter_file(kind)
    for spec in declared_specs(kind):
        assert same_value(values.get(spec.name), spec.default), (spec.name, values.get(spec.name), spec.default)


@pytest.mark.parametrize("kind", KINDS)
def test_parameter_defaults_are_described_and_allowed(kind: str) -> None:
    comments = choice_comments(kind)
    for spec in declared_specs(kind):
        assert spec.description.strip(), spec.name
        assert spec.check(spec.default) == spec.default, spec.name
        if spec.choices:
            assert spec.default in spec.choices, spec.name
            assert comments.get(spec.name) == set(spec.choices), f"{kind}.yaml comment of {spec.name}"


def test_parameter_values_are_checked_against_the_defaults_type() -> None:
    pytest.importorskip("rclpy", reason=RCLPY_SKIP)
    from array import array

    from depth_ros.ros.parameters import ParameterSpec, ParameterValueError

    gap, translation = ParameterSpec("gap", 0.2, "s", minimum=0.0), ParameterSpec("t", [0.0, 0.0, 0.0], "m", length=3)
    assert gap.check(1) == 1.0 and isinstance(gap.check(1), float)  # -p gap:=1 means 1.0
    assert translation.check([0, 0, 1]) == [0.0, 0.0, 1.0] == translation.check(array("d", [0, 0, 1]))
    flag, count, name = ParameterSpec("f", True, ""), ParameterSpec("n", 1, ""), ParameterSpec("s", "a", "")
    for spec, value, expected in [
        (count, "abc", "parameter n = 'abc' has the wrong type: expected an integer like its default 1"),
        (count, 1.5, "expected an integer"),
        (count, True, "n = true has the wrong type"),
        (flag, 1, "expected a boolean (true, false) like its default true"),
        (gap, "0.5", "expected a double (a number) like its default 0.2"),
        (name, 3, "expected a string like its default 'a'"),
        (translation, "1 2 3", "expected a double array (numbers in brackets) like its default [0.0, 0.0, 0.0]"),
        (translation, [True, 0, 1], "t = [true, 0, 1] has the wrong type"),
        (translation, None, "t = [] (empty, of no type) has the wrong type"),
        (gap, float("inf"), "gap = inf is not allowed: expected finite numbers"),
        (translation, [0.0, float("nan"), 1.0], "t = [0.0, nan, 1.0] is not allowed: expected finite numbers"),
    ]:
        with pytest.raises(ParameterValueError, match=re.escape(expected)):
            spec.check(value)


def test_overrides_that_rcl_dropped_are_found() -> None:
    pytest.importorskip("rclpy", reason=RCLPY_SKIP)
    from depth_ros.ros.parameters import overrides_not_taken

    values = {"points_rgb": False, "gap": 1000.0, "n": 1, "model": "3", "t": [0.0, 0.0, 1.0]}
    taken = ["gap:=1e3", "n:=1", "model:='3'", "t:=[0, 0.0, 1]", "points_rgb:=no", "node:points_rgb:=false"]
    assert overrides_not_taken([x for rule in taken for x in ("-p", rule)], "node", values) == []
    dropped = ["points_rgb:=1", "node:n:=2.5", "t:=[0.5, 0.0, 1.0]"]
    others = ["other:points_rgb:=1", "unknown:=1"]  # another node's rule; not a parameter of this node
    found = overrides_not_taken(
        ["--ros-args", *(x for rule in dropped + others for x in ("--param", rule))], "node", values
    )
    assert [line.split(" did not take")[0] for line in found] == [f"-p {rule}" for rule in dropped]
    assert found[0].endswith(
        "points_rgb is false, most likely from the params file (rcl keeps a file's value over "
        "an override of another type): write it as a boolean (true, false)"
    )


def test_parameters_the_node_does_not_have_are_named_with_the_nearest_one(tmp_path: Path) -> None:
    """rcl drops values for undeclared parameters without a word: -p rules and params-file keys for this node
    (by name, ``/**`` or a pattern) are reported; other nodes' sections and rules are not."""
    pytest.importorskip("rclpy", reason=RCLPY_SKIP)
    from depth_ros.ros.parameters import parameters_not_declared

    params = tmp_path / "params.yaml"
    params.write_text(
        "/**:\n  ros__parameters:\n    points_decimation: 2\n    keyframes: {min_baselin: 0.2}\n"
        "/robot/mono_*:\n  ros__parameters:\n    scale_mod: fixed\n"
        "multiview_depth_node:\n  ros__parameters:\n    colour: 1\n"
    )
    declared = {"points_decimation", "keyframes.min_baseline", "scale_mode"}
    args = ["--ros-args", "-p", "point_decimation:=2", "-p", "other:typo:=1", "--params-file", str(params)]
    assert parameters_not_declared(args, "mono_depth_node", declared) == [
        "-p point_decimation:=2 sets point_decimation, which mono_depth_node does not have (ignored): did you mean "
        "points_decimation?",
        f"{params} (/**) sets keyframes.min_baselin, which mono_depth_node does not have (ignored): did you mean "
        "keyframes.min_baseline?",
        f"{params} (/robot/mono_*) sets scale_mod, which mono_depth_node does not have (ignored): did you mean "
        "scale_mode?",
    ]


def test_values_beyond_a_parameters_maximum_are_refused() -> None:
    """Absurd values that broke the node (a timer period past int64 ns, 100000 threads, an endless pose wait)."""
    pytest.importorskip("rclpy", reason=RCLPY_SKIP)
    from depth_ros.ros.depth_node import COMMON_PARAMETERS
    from depth_ros.ros.mono_node import MONO_PARAMETERS
    from depth_ros.ros.parameters import ParameterValueError

    specs = {spec.name: spec for spec in (*COMMON_PARAMETERS, *MONO_PARAMETERS)}
    for name, value, allowed in [
        ("diagnostics_period", 1e12, "0.05 to 3600.0"),
        ("threads", 100000, "0 to 256"),
        ("max_pose_gap", 1e300, "0.001 to 10.0"),
        ("pose_wait", 1e6, "0.0 to 5.0"),
        ("scale_factor", 1e40, "1e-06 to 1000000.0"),
        ("colored_max_depth", 1e308, "0.1 to 10000.0"),
    ]:
        with pytest.raises(
            ParameterValueError, match=re.escape(f"{name} = {value!r} is not allowed: expected {allowed}")
        ):
            specs[name].check(value)
        assert specs[name].check(specs[name].default) == specs[name].default


@pytest.mark.parametrize("kind", KINDS)
def test_launch_overrides_are_parameters_of_the_node(kind: str) -> None:
    names = {spec.name for spec in declared_specs(kind)}
    overrides = launch_constants()["OVERRIDES"][kind]
    assert set(overrides) <= names, set(overrides) - names


@pytest.mark.parametrize("kind", KINDS)
def test_launch_file_and_the_files_it_names_are_installed(kind: str) -> None:
    package = package_name()
    assert [ast.literal_eval(c.args[0]) for c in calls(parse(LAUNCH_DESCRIPTION), "FindPackageShare")] == [package]
    installed = installed_files()
    assert f"share/{package}/launch/{launch_file(kind).name}" in installed
    paths = named_share_paths(kind)
    assert {f"config/{kind}.yaml", "config/depth_ros.rviz"} <= set(paths), paths
    for path in paths:
        assert (ROOT / path).is_file(), path
        assert f"share/{package}/{path}" in installed, path


@pytest.mark.parametrize("kind", KINDS)
def test_launch_declares_the_arguments_its_docstring_uses(kind: str) -> None:
    arguments = set(declared_arguments(kind))
    assert arguments >= REQUIRED_ARGUMENTS, REQUIRED_ARGUMENTS - arguments
    used = set(re.findall(r"(\w+):=", ast.get_docstring(parse(launch_file(kind))) or ""))
    assert used and used <= arguments, used - arguments


# ================================================================================================ rviz config
def test_nodes_publish_the_outputs_the_rviz_config_relies_on() -> None:
    assert set(node_outputs()) == NODE_OUTPUTS


def test_rviz_displays_show_existing_topics_with_a_display_of_their_type() -> None:
    known = known_topics()
    shown = shown_topics()
    assert shown
    for topic, display in shown:
        assert topic in known, f"{topic} is neither a node output nor a sample bag topic"
        assert known[topic] == display, f"{display} display on {topic} ({known[topic]})"


def test_rviz_config_shows_both_nodes_colored_depth_and_points() -> None:
    expected = {f"/{kind}/depth/{output}" for kind in KINDS for output in ("colored", "points")}
    shown = {topic for topic, _ in shown_topics()}
    assert expected <= shown, expected - shown


def test_rviz_displays_subscribe_best_effort() -> None:
    subscribing = [d for d in rviz_displays(rviz_config()["Displays"]) if isinstance(d.get("Topic"), dict)]
    assert subscribing
    for display in subscribing:
        assert display["Topic"]["Reliability Policy"] == "Best Effort", display["Name"]


def test_rviz_fixed_frame_is_the_odometry_frame() -> None:
    assert rviz_config()["Global Options"]["Fixed Frame"] == FrameNames().odom
