#!/usr/bin/env bash
# Add the real ROS 2 launch system, ros2cli and colcon to a venv that holds the ROS 2 wheels from PyPI, so that
# the launch tests (test/test_launch.py) run `colcon build`, `ros2 launch`, `ros2 param` and `ros2 lifecycle`.
#   usage: bash tools/add_ros2_tools.sh VENV
# The tools are upstream wheels (Apache-2.0) in a `shared/ros2-tools` folder beside this checkout or above it
# (or $ROS2_TOOLS); see its README. With a sourced ROS 2 install the real tools are there already.
# The ROS 2 packages they need are installed for the venv's distribution (Kilted: ros-*, Jazzy: ros-jazzy-*), so
# that no message package of another distribution is mixed in. Exit status 3: no tools folder found.
set -euo pipefail
VENV=${1:?usage: add_ros2_tools.sh VENV}
py="$VENV/bin/python"

tools=${ROS2_TOOLS:-}
if [ -z "$tools" ]; then
  dir=$(cd "$(dirname "$0")/.." && pwd)
  while [ "$dir" != / ]; do
    if [ -d "$dir/shared/ros2-tools/wheels" ]; then tools="$dir/shared/ros2-tools"; break; fi
    dir=$(dirname "$dir")
  done
fi
if [ -z "$tools" ] || [ ! -d "$tools/wheels" ]; then
  echo "no shared/ros2-tools folder found (set ROS2_TOOLS): the launch tests will skip" >&2
  exit 3
fi

"$py" -c 'import rclpy' 2>/dev/null || { echo "error: $VENV has no rclpy (run make first)" >&2; exit 2; }
if "$py" -m pip show --quiet ros-jazzy-rclpy >/dev/null 2>&1; then prefix=ros-jazzy-; else prefix=ros-; fi
pip=("$py" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" osrf-pycommon argcomplete psutil packaging lark catkin-pkg empy pyyaml colcon-common-extensions \
  "${prefix}ament-package" "${prefix}ament-index-python" "${prefix}lifecycle-msgs" "${prefix}rosidl-parser"
"${pip[@]}" --no-deps "$tools"/wheels/*.whl
"$py" -c 'import launch, launch_ros, ros2cli, sensor_msgs_py, rosidl_runtime_py'
echo "ROS 2 launch tools from $tools added to $VENV (${prefix}* packages)"
