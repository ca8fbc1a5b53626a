"""Image (+ intrinsics, + poses) in, metric depth and points out: the ROS-free core the nodes and the bag
evaluation share, so that what is measured offline is what runs on the robot.

* :mod:`~depth_ros.pipeline.frame`: the result and skip types, and resizing to the network size.
* :mod:`~depth_ros.pipeline.mono`: Monodepth2 with its scale modes (:mod:`~depth_ros.pipeline.scale`).
* :mod:`~depth_ros.pipeline.multiview`: MVDepthNet on keyframes (:mod:`~depth_ros.pipeline.keyframes`)
  picked by the poses of a :mod:`~depth_ros.pipeline.pose_buffer`.
* :mod:`~depth_ros.pipeline.points`: organised point clouds from depth.
"""
