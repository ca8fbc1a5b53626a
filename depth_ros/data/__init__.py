"""Data sources in one sample format (:class:`Frame`): the synthetic generator and ROS 2 bags."""

from depth_ros.data.sample import Frame, OdometrySample

__all__ = ["Frame", "OdometrySample"]
