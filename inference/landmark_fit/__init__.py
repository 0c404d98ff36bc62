"""Fitting the face model to 2D landmarks (pose, expression, identity over a take).

- :class:`SurfacePoints` ties each detected point to the model surface (triangle +
  barycentrics); :class:`SurfaceBasis` is the model at those points, laid out for fitting.
- :class:`LandmarkFitter` fits one frame by Gauss-Newton / Levenberg-Marquardt, robust, with
  priors from the RGB branch; :class:`LandmarkTake` lets identity settle over a take.
"""

from inference.landmark_fit.config import LandmarkFitConfig
from inference.landmark_fit.fitter import LandmarkFitResult, LandmarkFitter
from inference.landmark_fit.surface import SurfaceBasis, SurfacePoints
from inference.landmark_fit.take import LandmarkTake

__all__ = ["LandmarkFitConfig", "LandmarkFitResult", "LandmarkFitter", "LandmarkTake", "SurfaceBasis",
           "SurfacePoints"]
