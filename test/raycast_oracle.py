"""A brute-force ray caster, independent of depth_ros.data.render: every pixel against every box.

Used as the reference in the renderer's tests and in the generator benchmark. It shares nothing with
the renderer but the scene description: slab intersection in float64, no culling, no face tables.
"""

from __future__ import annotations

import numpy as np

from depth_ros.data.scene import Scene
from depth_ros.geometry import PinholeCamera


def oracle_depth(scene: Scene, camera: PinholeCamera, T_world_cam: np.ndarray, time_s: float):
    """(H, W) depth along the optical axis (+inf for no hit) and (H, W) index of the box hit (-1 none)."""
    u, v = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    rays_cam = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones_like(u, float)], -1)
    d = rays_cam.reshape(-1, 3) @ T_world_cam[:3, :3].T  # z of the camera ray is 1, so t is depth
    o = T_world_cam[:3, 3]
    depth = np.full(len(d), np.inf)
    index = np.full(len(d), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, box in enumerate(scene.boxes):
            lo, hi = box.lo + box.offset_at(time_s), box.hi + box.offset_at(time_s)
            t1, t2 = (lo - o) / d, (hi - o) / d
            t_enter = np.nanmax(np.minimum(t1, t2), axis=1)
            t_exit = np.nanmin(np.maximum(t1, t2), axis=1)
            t = t_exit if box.inward else t_enter
            hit = (t_enter <= t_exit) & (t > 1e-3) & (t < depth)
            depth[hit] = t[hit]
            index[hit] = i
    return depth.reshape(camera.height, camera.width), index.reshape(camera.height, camera.width)
