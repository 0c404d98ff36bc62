"""Depth-sensor simulation: turn clean rendered depth into what a real sensor would return.

* :func:`simulate_truedepth` - a fast statistical noise model of a TrueDepth-class
  structured-light camera, for every synthetic frame and for training.
* :class:`SpeckleSimulator` - a physical simulation (project a dot pattern, render the IR
  image, block-match it) used to turn scans into realistic RGB-D for training.
* :mod:`models.sensor.analytic_scenes` - exact planes and spheres for tests and benchmarks.
"""

from models.sensor.analytic_scenes import plane_depth, sphere_depth, tilted_plane_depth
from models.sensor.fast_random import fast_standard_normal
from models.sensor.speckle import SpeckleConfig, SpeckleSimulator
from models.sensor.speckle_pattern import make_dot_pattern
from models.sensor.surface_angle import view_cosine
from models.sensor.truedepth_noise import TrueDepthNoiseConfig, simulate_truedepth

__all__ = [
    "SpeckleConfig",
    "SpeckleSimulator",
    "TrueDepthNoiseConfig",
    "fast_standard_normal",
    "make_dot_pattern",
    "plane_depth",
    "simulate_truedepth",
    "sphere_depth",
    "tilted_plane_depth",
    "view_cosine",
]
