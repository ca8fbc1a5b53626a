"""Metric scale for depth known only up to scale: ``metric_depth = scale * relative_depth``.

Each estimator gives one ratio per frame (or None when the frame cannot tell); :class:`ScaleWindow` turns
the ratios into a robust running scale.

* :func:`odometry_scale_ratio`: the camera's motion between two frames from odometry (metres) over the
  motion the pose network predicts (the relative depth's units).
* :func:`ground_scale_ratio`: the known height of the camera above the ground over the height of the
  ground plane fitted to the relative depth.

Frames: points in the camera's optical frame (REP 103: x right, y down, z forward), so the ground below a
level camera has its normal along +y.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from depth_ros.geometry import PinholeCamera, backproject

NETWORK_TRANSLATION_EPS = 1e-6  # below it (relative units) the network's translation is treated as no motion


class ScaleWindow:
    """Median of the last ``size`` valid per-frame ratios: one bad frame in three cannot move it far.

    Ratios that are None, non-finite or non-positive are ignored; :attr:`value` is None until one is kept.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"the scale window must hold at least one ratio, got size {size}")
        self._ratios: deque[float] = deque(maxlen=size)

    def add(self, ratio: float | None) -> None:
        """Keep ``ratio`` if it is a finite positive number (the oldest kept ratio drops out when full)."""
        if ratio is not None and np.isfinite(ratio) and ratio > 0:
            self._ratios.append(float(ratio))

    @property
    def value(self) -> float | None:
        """The median of the kept ratios, or None before the first one."""
        return float(np.median(self._ratios)) if self._ratios else None

    def __len__(self) -> int:
        """How many ratios the window holds now."""
        return len(self._ratios)


def odometry_scale_ratio(t_odometry_m: np.ndarray, t_network: np.ndarray, min_translation_m: float) -> float | None:
    """``|t_odometry| / |t_network|``: the scale that makes the network's motion (and depth) metric.

    Args:
        t_odometry_m: (3,) the camera's translation between two frames from odometry, metres.
        t_network: (3,) the same translation as the pose network predicts it, in the relative depth's units.
        min_translation_m: smallest odometry translation that gives a ratio (odometry noise dominates below).

    Returns:
        The ratio, or None when the camera moved less than ``min_translation_m``, the network predicts no
        motion (below :data:`NETWORK_TRANSLATION_EPS`), or either translation is not finite.
    """
    t_odometry_m, t_network = np.asarray(t_odometry_m, np.float64), np.asarray(t_network, np.float64)
    if t_odometry_m.shape != (3,) or t_network.shape != (3,):
        raise ValueError(f"expected two (3,) translations, got {t_odometry_m.shape} and {t_network.shape}")
    odometry, network = np.linalg.norm(t_odometry_m), np.linalg.norm(t_network)
    if not (np.isfinite(odometry) and np.isfinite(network)):
        return None
    if odometry < min_translation_m or network < NETWORK_TRANSLATION_EPS:
        return None
    return float(odometry / network)


def ground_scale_ratio(
    depth_rel: np.ndarray,
    camera: PinholeCamera,
    camera_height_m: float,
    *,
    lower_fraction: float = 0.5,
    max_tilt_deg: float = 30.0,
    inlier_tolerance: float = 0.05,
    min_inlier_fraction: float = 0.2,
    iterations: int = 100,
    max_points: int = 2000,
    seed: int = 0,
) -> float | None:
    """``camera_height_m / h``, with ``h`` the distance from the camera centre to the ground plane that
    RANSAC fits to the back-projected lower part of ``depth_rel``, refined by least squares on its inliers.

    Everything is scale-free, so the fit works in the relative depth's units: a point is an inlier when its
    distance to a candidate plane is at most ``inlier_tolerance * h``. The result depends only on the inputs
    (the random draws are seeded).

    Args:
        depth_rel: (H, W) depth along the optical axis up to scale; NaN, inf and values <= 0 are ignored.
        camera: intrinsics of ``depth_rel`` (``camera.width x camera.height`` must be ``W x H``).
        camera_height_m: height of the camera's centre above the ground, metres.
        lower_fraction: part of the image, from the bottom, that is searched for the ground.
        max_tilt_deg: largest angle between the plane's normal and the optical frame's +y (down) axis; it
            keeps walls out and allows for the camera's pitch and roll.
        inlier_tolerance: inlier distance as a fraction of the plane's distance from the camera.
        min_inlier_fraction: smallest share of the searched valid points on the plane for it to count.
        iterations: RANSAC hypotheses (planes through three points).
        max_points: the searched points are subsampled to at most this many.
        seed: seed of the point subsampling and the hypotheses.

    Returns:
        The ratio, or None when there are too few valid points or no plane below the camera within
        ``max_tilt_deg`` of +y carries ``min_inlier_fraction`` of them.
    """
    depth_rel = np.asarray(depth_rel)
    if depth_rel.shape != (camera.height, camera.width):
        raise ValueError(f"depth is {depth_rel.shape} (H, W) but its camera is {camera.width}x{camera.height}")
    rng = np.random.default_rng(seed)
    points = _ground_candidates(depth_rel, camera, lower_fraction, max_points, rng)
    if len(points) < 3:
        return None
    min_cos = np.cos(np.deg2rad(max_tilt_deg))
    plane = _ransac_plane(points, rng, iterations, inlier_tolerance, min_cos)
    for _ in range(2):  # least-squares refinement on the inliers of the current plane
        if plane is None:
            return None
        inliers = _inliers(points, *plane, inlier_tolerance)
        if inliers.sum() < max(3, min_inlier_fraction * len(points)):
            return None
        plane = _plane_through(points[inliers], min_cos)
    if plane is None:
        return None
    return float(camera_height_m / plane[1])


def _ground_candidates(
    depth: np.ndarray, camera: PinholeCamera, lower_fraction: float, max_points: int, rng: np.random.Generator
) -> np.ndarray:
    """(N, 3) optical-frame points of the valid pixels in the lower ``lower_fraction`` of the image, at most
    ``max_points`` of them (a random subset)."""
    first_row = round(camera.height * (1.0 - lower_fraction))
    lower = np.asarray(depth, np.float64)[first_row:]
    K = camera.cropped(0, first_row, camera.width, camera.height - first_row).K
    points = backproject(np.where(np.isfinite(lower) & (lower > 0), lower, np.nan), K).reshape(-1, 3)
    points = points[np.isfinite(points[:, 2])]
    if len(points) > max_points:
        points = points[rng.choice(len(points), max_points, replace=False)]
    return points


def _ransac_plane(
    points: np.ndarray, rng: np.random.Generator, iterations: int, tolerance: float, min_cos: float
) -> tuple[np.ndarray, float] | None:
    """The plane ``n . p = h`` (unit ``n`` within the tilt limit of +y, ``h > 0``) through three of ``points``
    with the most inliers, or None when no hypothesis qualifies."""
    triples = points[rng.integers(0, len(points), (iterations, 3))]  # (I, 3 points, 3)
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    valid = lengths > 0
    normals = normals[valid] / lengths[valid, None]
    normals *= np.where(normals[:, 1] < 0, -1.0, 1.0)[:, None]  # point down (+y), towards the ground
    heights = np.einsum("ij,ij->i", normals, triples[valid, 0])
    keep = (normals[:, 1] >= min_cos) & (heights > 0)
    if not keep.any():
        return None
    normals, heights = normals[keep], heights[keep]
    distances = np.abs(points @ normals.T - heights)  # (N, I)
    counts = (distances <= tolerance * heights).sum(axis=0)
    best = int(np.argmax(counts))
    return normals[best], float(heights[best])


def _inliers(points: np.ndarray, normal: np.ndarray, height: float, tolerance: float) -> np.ndarray:
    """(N,) bool: points within ``tolerance * height`` of the plane ``normal . p = height``."""
    return np.abs(points @ normal - height) <= tolerance * height


def _plane_through(points: np.ndarray, min_cos: float) -> tuple[np.ndarray, float] | None:
    """Least-squares plane ``n . p = h`` of ``points`` (normal towards +y), or None if it is not a ground plane
    (tilted beyond the limit, or not below the camera)."""
    centroid = points.mean(axis=0)
    normal = np.linalg.svd(points - centroid, full_matrices=False)[2][-1]
    normal = -normal if normal[1] < 0 else normal
    height = float(normal @ centroid)
    return (normal, height) if normal[1] >= min_cos and height > 0 else None
