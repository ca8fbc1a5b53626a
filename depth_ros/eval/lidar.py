"""LiDAR points as ground-truth depth: the x, y, z of a ``sensor_msgs/PointCloud2`` and their projection into a
camera as a sparse depth image.

Conventions (those of :mod:`depth_ros.geometry`): points in metres; ``T_cam_lidar`` (4, 4) maps the LiDAR's frame
(the cloud's ``header.frame_id``) to the camera's optical frame (REP 103: x right, y down, z forward); a point
``(x, y, z)`` in the camera lands on pixel ``(u, v) = (fx x / z + cx, fy y / z + cy)`` with pixel centres at
integer coordinates, so it belongs to the pixel ``(floor(u + 0.5), floor(v + 0.5))``; its depth is ``z``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depth_ros.encodings import packed_rows
from depth_ros.errors import BagError
from depth_ros.geometry import PinholeCamera, project, transform_points

# sensor_msgs/PointField datatypes that x, y, z may have
_FLOAT_FIELDS = {7: "f4", 8: "f8"}  # FLOAT32, FLOAT64


def point_cloud_xyz(msg: Any) -> np.ndarray:
    """(N, 3) float32 x, y, z of a ``sensor_msgs/PointCloud2`` (any object with its fields), in its frame.

    Other fields, padding (``point_step``, ``row_step``) and big-endian data are handled; points with a
    non-finite coordinate (no return) are dropped.

    Raises:
        BagError: no float32/float64 ``x``, ``y`` and ``z`` fields, or less data than the layout says.
    """
    fields = {field.name: field for field in msg.fields}
    names = ", ".join(f"{f.name} (datatype {f.datatype})" for f in msg.fields) or "none"
    if any(axis not in fields or fields[axis].datatype not in _FLOAT_FIELDS for axis in "xyz"):
        raise BagError(f"expected a PointCloud2 with float32 x, y and z fields, got fields {names}")
    order = ">" if msg.is_bigendian else "<"
    try:
        dtype = np.dtype(
            {
                "names": ["x", "y", "z"],
                "formats": [order + _FLOAT_FIELDS[fields[axis].datatype] for axis in "xyz"],
                "offsets": [fields[axis].offset for axis in "xyz"],
                "itemsize": int(msg.point_step),
            }
        )
    except ValueError as error:  # fields overlapping or beyond point_step
        raise BagError(f"PointCloud2 fields {names} do not fit its point_step {msg.point_step}: {error}") from error
    height, width = int(msg.height), int(msg.width)
    row_step, row_bytes = int(msg.row_step), width * int(msg.point_step)
    rows = packed_rows(msg.data, height, row_step, row_bytes)
    if rows is None:
        raise BagError(
            f"PointCloud2 of {width}x{height} points of {msg.point_step} bytes needs row_step >= {row_bytes} and "
            f"{row_step * height} bytes, got row_step {row_step} and {len(msg.data)} bytes"
        )
    points = rows.view(dtype).reshape(-1)
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=-1).astype(np.float32)
    return xyz[np.isfinite(xyz).all(axis=1)]


def lidar_depth_image(points: np.ndarray, T_cam_lidar: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """Sparse depth image of LiDAR points seen by a camera (see the module conventions).

    Args:
        points: (N, 3) points in the LiDAR's frame, metres.
        T_cam_lidar: (4, 4) rigid transform from the LiDAR's frame to the camera's optical frame.
        camera: the camera's intrinsics and image size.

    Returns:
        (H, W) float32 depth in metres along the optical axis; NaN at pixels without a point. Points behind the
        camera (``z <= 0``) or outside the image are dropped; where several points land on one pixel, the
        nearest wins (a z-buffer).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    in_camera = transform_points(np.asarray(T_cam_lidar, dtype=np.float64), points)
    in_camera = in_camera[in_camera[:, 2] > 0]
    uv, z = project(in_camera, camera.K)
    column, row = np.floor(uv[:, 0] + 0.5), np.floor(uv[:, 1] + 0.5)
    inside = (column >= 0) & (column < camera.width) & (row >= 0) & (row < camera.height)
    pixel = (row[inside] * camera.width + column[inside]).astype(np.int64)
    z = z[inside]
    order = np.lexsort((z, pixel))  # by pixel, then nearest first
    pixel, z = pixel[order], z[order]
    first = np.ones(pixel.size, dtype=bool)
    first[1:] = pixel[1:] != pixel[:-1]
    depth = np.full(camera.height * camera.width, np.nan, dtype=np.float32)
    depth[pixel[first]] = z[first]
    return depth.reshape(camera.height, camera.width)
