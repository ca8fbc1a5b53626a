#!/usr/bin/env bash
# Create (or update) the project's virtual environment with everything the demo and the tests need.
#   ROS 2: the system's rclpy when `import rclpy` works with $PYTHON (a sourced ROS 2 install),
#          otherwise the ROS 2 wheels from PyPI: $ROS_WHEELS (default requirements/ros-wheels.txt, Kilted;
#          requirements/ros-jazzy-wheels.txt for Jazzy).
#   PyTorch: $TORCH_SPEC (default torch==2.13.0, a CPU build where this machine provides one);
#          $PIP_TORCH_ARGS passes extra pip arguments for it (e.g. an index of CPU wheels).
set -euo pipefail

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PIP_TORCH_ARGS=${PIP_TORCH_ARGS:-}
ROS_WHEELS=${ROS_WHEELS:-requirements/ros-wheels.txt}

if ! "$PYTHON" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))'; then
  echo "error: depth_ros needs Python 3.10 to 3.12; $PYTHON is $("$PYTHON" --version 2>&1). Run: make PYTHON=python3.11" >&2
  exit 2
fi

if "$PYTHON" -c 'import rclpy' >/dev/null 2>&1; then
  ros_source=system
  venv_flags=--system-site-packages
else
  ros_source=wheels
  venv_flags=
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV (ROS 2 from: $ros_source)"
  "$PYTHON" -m venv $venv_flags "$VENV"
fi

pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
requirements=(-r requirements/base.txt -r requirements/test.txt)
if [ "$ros_source" = wheels ]; then
  requirements+=(-r "$ROS_WHEELS")
fi
ros_from=$ros_source
if [ "$ros_source" = wheels ]; then
  ros_from="wheels ($ROS_WHEELS)"
fi
echo "installing dependencies into $VENV ($TORCH_SPEC, ROS 2 from $ros_from)"
# shellcheck disable=SC2086 # PIP_TORCH_ARGS is a list of words on purpose
"${pip[@]}" "$TORCH_SPEC" $PIP_TORCH_ARGS
"${pip[@]}" "${requirements[@]}"
"${pip[@]}" --no-deps -r requirements/typecheck.txt
"${pip[@]}" --no-deps --editable .
"$VENV/bin/python" -c 'import rclpy, torch, depth_ros; print(f"ready: torch {torch.__version__}, rclpy from {rclpy.__file__}")'
