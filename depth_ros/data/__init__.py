"""Data sources in one sample format (:class:`Frame`), all of them :class:`FrameSequence`: the synthetic
generator, ROS 2 bags, KITTI raw, TUM RGB-D and image folders; training samples in ``training_samples``."""

from depth_ros.data.sample import Frame, OdometrySample
from depth_ros.data.sequence import FrameSequence

__all__ = ["Frame", "FrameSequence", "OdometrySample"]
