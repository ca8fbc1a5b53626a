"""Cameras, rigid transforms, projection and plane-sweep warps: the conventions every module relies on.

See each module's docstring for its conventions; in short: pixel centres at integer coordinates,
optical frames per REP 103 (x right, y down, z forward), depth along z in metres, ``T_b_a`` maps
frame ``a`` to frame ``b``, quaternions ``(x, y, z, w)``.
"""

from depth_ros.geometry.camera import PinholeCamera, PixelTransform, camera_info_intrinsics
from depth_ros.geometry.plane_sweep import (
    grid_sample_coordinates,
    plane_sweep_pixels,
    plane_sweep_projection,
    plane_sweep_rays,
)
from depth_ros.geometry.projection import backproject, pixel_grid, project, transform_points
from depth_ros.geometry.se3 import (
    axis_angle_to_matrix,
    check_rigid,
    interpolate_pose,
    interpolate_transform,
    invert_transform,
    make_transform,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    quaternion_to_matrix,
    rotation_angle_deg,
    slerp,
    unit_quaternion_to_matrix,
)

__all__ = [
    "PinholeCamera",
    "PixelTransform",
    "axis_angle_to_matrix",
    "backproject",
    "camera_info_intrinsics",
    "check_rigid",
    "grid_sample_coordinates",
    "interpolate_pose",
    "interpolate_transform",
    "invert_transform",
    "make_transform",
    "matrix_to_axis_angle",
    "matrix_to_quaternion",
    "pixel_grid",
    "plane_sweep_pixels",
    "plane_sweep_projection",
    "plane_sweep_rays",
    "project",
    "quaternion_to_matrix",
    "rotation_angle_deg",
    "slerp",
    "transform_points",
    "unit_quaternion_to_matrix",
]
