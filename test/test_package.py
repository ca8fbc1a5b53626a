"""The ament_python packaging: what colcon, rosdep and `ros2 launch` rely on, checked without ROS tooling.

`colcon build` and `ros2 launch` are not available on this machine (environment.md), so these tests
read the files those tools read and check the facts they depend on.
"""

from __future__ import annotations

import ast
import configparser
import xml.etree.ElementTree as ET
from glob import glob
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def setup_call() -> dict[str, ast.expr]:
    """Keyword arguments of the setup() call in setup.py, as AST nodes."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    return {k.arg: k.value for k in call.keywords}


def test_package_xml_is_format_3_with_the_runtime_dependencies():
    root = ET.parse(ROOT / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == "depth_ros"
    assert root.findtext("license") == "Apache-2.0"
    assert root.find("export/build_type").text == "ament_python"
    depends = {e.text for e in root if e.tag in ("depend", "exec_depend")}
    for needed in ("rclpy", "sensor_msgs", "nav_msgs", "geometry_msgs", "std_msgs", "diagnostic_msgs",
                   "launch", "launch_ros", "python3-numpy", "python3-opencv"):  # fmt: skip
        assert needed in depends, needed


def test_setup_py_matches_package_xml_and_installs_launch_and_config_files():
    root = ET.parse(ROOT / "package.xml").getroot()
    kwargs = setup_call()
    assert ast.literal_eval(kwargs["version"]) == root.findtext("version")
    assert ast.literal_eval(kwargs["license"]) == root.findtext("license")
    source = (ROOT / "setup.py").read_text()
    for destination in ("share/ament_index/resource_index/packages", "share/{PACKAGE}", "share/{PACKAGE}/launch",
                        "share/{PACKAGE}/config"):  # fmt: skip
        assert f'f"{destination}"' in source or f'"{destination}"' in source, destination
    assert (ROOT / "resource" / "depth_ros").is_file()
    assert glob(str(ROOT / "launch" / "*launch.[pxy][yma]*")), "no launch file matches the install glob"
    assert glob(str(ROOT / "config" / "*")), "no config file to install"


def test_setup_cfg_puts_executables_where_ros2_run_finds_them():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["develop"]["script_dir"] == "$base/lib/depth_ros"
    assert config["install"]["install_scripts"] == "$base/lib/depth_ros"


def test_console_script_depth_ros_points_at_the_cli():
    kwargs = setup_call()
    scripts = ast.literal_eval(kwargs["entry_points"])["console_scripts"]
    assert "depth-ros = depth_ros.cli:main" in scripts
    from depth_ros import cli

    assert callable(cli.main)


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0" in text


def test_launch_files_use_the_launch_api_and_define_generate_launch_description():
    for path in glob(str(ROOT / "launch" / "*.launch.py")):
        tree = ast.parse(Path(path).read_text())
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "generate_launch_description" in functions, path
        modules = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert modules <= {"launch", "launch_ros", "os", "pathlib", "depth_ros"}, (path, modules)


def test_rviz_configs_are_yaml_with_a_fixed_frame_and_known_display_classes():
    for path in glob(str(ROOT / "config" / "*.rviz")):
        config = yaml.safe_load(Path(path).read_text())
        manager = config["Visualization Manager"]
        assert manager["Global Options"]["Fixed Frame"] == "odom"
        for display in manager["Displays"]:
            assert display["Class"].startswith("rviz_default_plugins/"), display["Class"]


def test_sample_playback_rviz_config_shows_topics_the_sample_bag_has(sample_bag):
    from rosbags.highlevel import AnyReader

    config = yaml.safe_load((ROOT / "config" / "sample_playback.rviz").read_text())
    shown = set()
    for display in config["Visualization Manager"]["Displays"]:
        shown.update(display[key] for key in ("Depth Map Topic", "Color Image Topic") if key in display)
        if "Topic" in display:
            shown.add(display["Topic"]["Value"])
    with AnyReader([sample_bag]) as reader:
        recorded = {c.topic for c in reader.connections}
    assert shown and shown <= recorded, shown - recorded


def test_every_package_folder_is_found_by_find_packages():
    """A folder without __init__.py imports here (namespace package) but is left out of a colcon install."""
    from setuptools import find_packages

    found = set(find_packages(str(ROOT), exclude=["test", "test.*"]))
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "depth_ros").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders <= found, folders - found


def test_every_ros_package_the_code_imports_is_a_package_xml_dependency():
    ros_tools = {"rclpy", "rcl_interfaces", "ament_index_python", "tf2_ros", "launch", "launch_ros"}
    imported = set()
    for path in [*(ROOT / "depth_ros").rglob("*.py"), *(ROOT / "launch").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top, _, rest = name.partition(".")
                if top in ros_tools or rest.startswith("msg"):
                    imported.add(top)
    depends = {e.text for e in ET.parse(ROOT / "package.xml").getroot() if e.tag in ("depend", "exec_depend")}
    assert {"rclpy", "sensor_msgs", "diagnostic_msgs", "rcl_interfaces"} <= imported  # the scan finds them
    assert imported <= depends, imported - depends
