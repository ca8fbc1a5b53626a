"""Vectorised ray casting of box scenes: exact depth, texture, and which object each pixel sees.

For each camera pose, every pixel's ray ``o + t d`` (``d = R K^-1 [u, v, 1]``, so ``t`` is the depth
along the optical axis) is intersected with the face planes that can face the camera. Each face is
tested only on the pixels of its screen-space bounding rectangle (found by projecting its corners,
clipped at the near plane), so the cost grows with the area the faces cover rather than with
faces x pixels. A z-buffer keeps the nearest hit; one texture lookup per pixel follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from depth_ros.data.scene import _IN_PLANE_AXES, FaceTable, Scene
from depth_ros.data.textures import TextureAtlas
from depth_ros.geometry import PinholeCamera, backproject

_NEAR = 1e-3  # metres: hits closer than this to the camera are ignored


@dataclass
class RenderedView:
    """One rendered image.

    Attributes:
        rgb: (H, W, 3) uint8.
        depth: (H, W) float32 metres along the optical axis; +inf where the ray hits nothing (sky).
        box_index: (H, W) int32 index of the scene box each pixel sees, -1 for sky.
        moving_mask: (H, W) bool, pixels on independently moving boxes.
    """

    rgb: np.ndarray
    depth: np.ndarray
    box_index: np.ndarray
    moving_mask: np.ndarray


class Renderer:
    """Renders a :class:`Scene` through a :class:`PinholeCamera` at any pose and time."""

    def __init__(self, scene: Scene, camera: PinholeCamera, atlas: TextureAtlas):
        self.scene = scene
        self.camera = camera
        self.atlas = atlas
        self._rays = backproject(np.ones((camera.height, camera.width)), camera.K).reshape(-1, 3)
        self._faces = scene.faces()
        self._moving_boxes = [i for i, box in enumerate(scene.boxes) if box.moving]

    def render(self, T_world_cam: np.ndarray, time_s: float = 0.0) -> RenderedView:
        """Render the view of a camera with pose ``T_world_cam`` (4, 4) at scene time ``time_s`` seconds."""
        faces = self._faces_at(time_s)
        height, width = self.camera.height, self.camera.width
        R = T_world_cam[:3, :3]
        origin = T_world_cam[:3, 3]
        directions = (self._rays @ R.T).astype(np.float32)  # (HW, 3) world, scaled so that t = depth
        direction_planes = [directions[:, k].reshape(height, width) for k in range(3)]
        with np.errstate(divide="ignore"):
            inverse_planes = [1.0 / plane for plane in direction_planes]

        depth = np.full((height, width), np.inf, np.float32)
        face_id = np.full((height, width), -1, np.int32)
        with np.errstate(invalid="ignore", over="ignore"):
            for face, (v0, v1, u0, u1) in self._candidate_faces(faces, R, origin):
                self._intersect_face(
                    faces, face, origin, direction_planes, inverse_planes, (v0, v1, u0, u1), depth, face_id
                )
        return self._shade(faces, origin, direction_planes, depth, face_id)

    def _faces_at(self, time_s: float) -> FaceTable:
        """The scene's faces with the moving boxes where they are at ``time_s``."""
        if not self._moving_boxes:
            return self._faces
        offsets = np.zeros((len(self.scene.boxes), 3))
        for index in self._moving_boxes:
            offsets[index] = self.scene.boxes[index].offset_at(time_s)
        return self._faces.moved(offsets)

    def _candidate_faces(self, faces: FaceTable, R: np.ndarray, origin: np.ndarray):
        """Yield ``(face, (v0, v1, u0, u1))`` for faces turned towards the camera whose rectangle is on screen."""
        K = self.camera.K
        width, height = self.camera.width, self.camera.height
        towards = faces.facing * (origin[faces.axis] - faces.plane) > 0
        corners_cam = (faces.corners - origin) @ R  # (F, 4, 3) in the camera frame
        z = corners_cam[..., 2]
        in_front = z > _NEAR
        for face in np.flatnonzero(towards & in_front.any(axis=1)):
            points = corners_cam[face]
            if not in_front[face].all():
                points = _clip_polygon_at_near_plane(points)
            uv = points[:, :2] / points[:, 2:3] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
            u0 = max(int(np.floor(uv[:, 0].min())), 0)
            u1 = min(int(np.ceil(uv[:, 0].max())) + 1, width)
            v0 = max(int(np.floor(uv[:, 1].min())), 0)
            v1 = min(int(np.ceil(uv[:, 1].max())) + 1, height)
            if u0 < u1 and v0 < v1:
                yield face, (v0, v1, u0, u1)

    @staticmethod
    def _intersect_face(faces, face, origin, direction_planes, inverse_planes, window, depth, face_id) -> None:
        """Z-buffer the hits of one face's plane rectangle on the pixels of ``window``."""
        v0, v1, u0, u1 = window
        axis = faces.axis[face]
        a, b = _IN_PLANE_AXES[axis]
        (a_min, a_max), (b_min, b_max) = faces.bounds[face]
        t = np.float32(faces.plane[face] - origin[axis]) * inverse_planes[axis][v0:v1, u0:u1]
        pa = np.float32(origin[a]) + t * direction_planes[a][v0:v1, u0:u1]
        pb = np.float32(origin[b]) + t * direction_planes[b][v0:v1, u0:u1]
        depth_window = depth[v0:v1, u0:u1]
        hit = (t > _NEAR) & (t < depth_window) & (pa >= a_min) & (pa <= a_max) & (pb >= b_min) & (pb <= b_max)
        depth_window[hit] = t[hit]
        face_id[v0:v1, u0:u1][hit] = face

    def _shade(self, faces: FaceTable, origin, direction_planes, depth, face_id) -> RenderedView:
        """Texture, shade and sky colour for every pixel."""
        height, width = depth.shape
        flat_face = face_id.reshape(-1)
        hit = np.flatnonzero(flat_face >= 0)
        sky = np.flatnonzero(flat_face < 0)
        face = flat_face[hit]
        t = depth.reshape(-1)[hit]
        dx, dy, dz = (plane.reshape(-1)[hit] for plane in direction_planes)
        px, py, pz = (np.float32(origin[k]) + t * d for k, d in enumerate((dx, dy, dz)))
        axis = faces.axis[face]
        # In-plane coordinates: (y, z) on x faces, (x, z) on y faces, (x, y) on z faces.
        pa = np.where(axis == 0, py, px)
        pb = np.where(axis == 2, py, pz)
        inverse_texel = (1.0 / faces.texel_size).astype(np.float32)[face]
        s = (pa - faces.tex_origin[face, 0].astype(np.float32)) * inverse_texel
        tt = (pb - faces.tex_origin[face, 1].astype(np.float32)) * (faces.t_sign[face] * inverse_texel)
        # Texels under one pixel: range / focal length, stretched by the slant of the surface.
        d_normal = np.abs(np.where(axis == 0, dx, np.where(axis == 1, dy, dz)))
        focal = np.float32(0.5 * (self.camera.fx + self.camera.fy))
        footprint = t * (dx * dx + dy * dy + dz * dz) * inverse_texel / (focal * np.maximum(d_normal, 1e-6))
        colour = self.atlas.sample(faces.texture[face], s, tt, footprint)
        colour *= faces.shade.astype(np.float32)[face, None]

        rgb = np.empty((height * width, 3), np.float32)
        rgb[hit] = colour
        rgb[sky] = self._sky(*(plane.reshape(-1)[sky] for plane in direction_planes))
        box_index = np.where(face_id >= 0, faces.box_index[np.maximum(face_id, 0)], -1).astype(np.int32)
        moving = (face_id >= 0) & faces.moving[np.maximum(face_id, 0)]
        return RenderedView(
            np.clip(rgb + 0.5, 0, 255).astype(np.uint8).reshape(height, width, 3), depth, box_index, moving
        )

    def _sky(self, dx: np.ndarray, dy: np.ndarray, dz: np.ndarray) -> np.ndarray:
        """(N, 3) float32 sky colour by ray elevation (the same in every view: it is at infinity)."""
        elevation = dz / np.sqrt(dx * dx + dy * dy + dz * dz)
        blend = np.clip(elevation, 0.0, 1.0)[:, None] ** 0.6
        horizon = np.asarray(self.scene.sky_horizon, np.float32)
        zenith = np.asarray(self.scene.sky_zenith, np.float32)
        return horizon + blend * (zenith - horizon)


def _clip_polygon_at_near_plane(points: np.ndarray) -> np.ndarray:
    """Clip a convex polygon (N, 3) in the camera frame to ``z >= near`` (Sutherland-Hodgman, one plane)."""
    kept = []
    count = len(points)
    for i in range(count):
        current, following = points[i], points[(i + 1) % count]
        current_in, following_in = current[2] > _NEAR, following[2] > _NEAR
        if current_in:
            kept.append(current)
        if current_in != following_in:
            fraction = (_NEAR - current[2]) / (following[2] - current[2])
            crossing = current + fraction * (following - current)
            crossing[2] = _NEAR
            kept.append(crossing)
    return np.array(kept)
