"""depth_ros: dense metric depth for ROS 2 robots from a camera (Monodepth2, MVDepthNet)."""

__version__ = "0.1.0"
