"""Photometric check of ground truth shared by the generator tests: warp one frame into another with depth and poses."""

from __future__ import annotations

import cv2
import numpy as np

from depth_ros.geometry import backproject, invert_transform, project, transform_points


def warp_into(frame_a, frame_b):
    """Frame b's image seen from frame a (using a's depth and the relative pose), and the pixels of a that b sees
    unoccluded (depth agrees within 2%), off moving objects (where the frame knows them)."""
    height, width = frame_a.depth.shape
    has_depth = np.isfinite(frame_a.depth)
    points_a = backproject(np.where(has_depth, frame_a.depth, 1.0), frame_a.camera.K).reshape(-1, 3)
    T_b_a = invert_transform(frame_b.T_world_cam) @ frame_a.T_world_cam
    uv, z = project(transform_points(T_b_a, points_a), frame_b.camera.K)
    uv = uv.reshape(height, width, 2).astype(np.float32)
    z = z.reshape(height, width)
    warped = cv2.remap(frame_b.rgb, uv[..., 0], uv[..., 1], cv2.INTER_LINEAR).astype(np.float64)
    depth_b = np.nan_to_num(frame_b.depth, posinf=1e9).astype(np.float32)
    depth_b_at = cv2.remap(depth_b, uv[..., 0], uv[..., 1], cv2.INTER_NEAREST)
    inside = (uv[..., 0] >= 0) & (uv[..., 0] <= width - 1) & (uv[..., 1] >= 0) & (uv[..., 1] <= height - 1) & (z > 0)
    visible = has_depth & inside & (np.abs(depth_b_at - z) < 0.02 * z)
    if frame_a.moving_mask is not None:
        visible &= ~frame_a.moving_mask
    return warped, visible
