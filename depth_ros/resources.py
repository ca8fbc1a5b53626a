"""Files that ship with the package (weights, parameter files, rviz configs), wherever it is installed.

A source checkout (``pip install -e .``, ``make``) finds them in the repository; a colcon/ament install finds
them in ``share/depth_ros`` through the ament index.
"""

from __future__ import annotations

from pathlib import Path

from depth_ros.errors import DepthRosError

PACKAGE = "depth_ros"
SHIPPED_WEIGHTS = {
    "monodepth2": "weights/monodepth2_lite.pt",
    "monodepth2_pose": "weights/monodepth2_lite_pose.pt",  # its pose network, for scale_mode odometry
    "mvdepthnet": "weights/mvdepthnet_lite.pt",
}


def package_file(relative: str) -> Path:
    """Path of a shipped file given relative to the repository root / ``share/depth_ros`` (``config/mono.yaml``).

    Raises:
        DepthRosError: the file is in neither place.
    """
    source_tree = Path(__file__).resolve().parents[1] / relative
    if source_tree.exists():
        return source_tree
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        installed = None
    else:
        try:
            installed = Path(get_package_share_directory(PACKAGE)) / relative
        except PackageNotFoundError:
            installed = None
    if installed is not None and installed.exists():
        return installed
    looked = [str(source_tree)] + ([str(installed)] if installed is not None else [])
    raise DepthRosError(f"shipped file {relative} not found (looked in {', '.join(looked)}): reinstall depth_ros")


def shipped_weights(architecture: str) -> Path:
    """The weights depth_ros ships for ``monodepth2``, ``monodepth2_pose`` or ``mvdepthnet`` (``weights/README.md``)."""
    if architecture not in SHIPPED_WEIGHTS:
        raise DepthRosError(f"no shipped weights for {architecture!r}: expected one of {', '.join(SHIPPED_WEIGHTS)}")
    return package_file(SHIPPED_WEIGHTS[architecture])
