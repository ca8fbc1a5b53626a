"""ament_python package definition.

Runtime Python dependencies are not listed in ``install_requires``: on a ROS 2 machine they come from
rosdep (``package.xml``), elsewhere from ``requirements/*.txt`` (installed by ``make``).
"""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "depth_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*launch.[pxy][yma]*")),
        (f"share/{PACKAGE}/config", glob("config/*")),
        (f"share/{PACKAGE}/weights", glob("weights/*")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="depth_ros maintainers",
    maintainer_email="maintainers@depth-ros.dev",
    description="Dense metric depth for ROS 2 robots from a camera: Monodepth2 and MVDepthNet.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "depth-ros = depth_ros.cli:main",
            "mono_depth_node = depth_ros.ros.mono_node:main",
            "multiview_depth_node = depth_ros.ros.multiview_node:main",
        ],
    },
)
