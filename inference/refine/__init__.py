"""Depth refinement: Gauss-Newton fitting of pose, expression and identity to a depth map.

- :class:`DepthRefiner` fits one frame (point-to-plane, projective association, robust
  weights, Levenberg-Marquardt damping), warm-started from the network's estimate.
- :class:`IdentityAccumulator` fuses the frames' identity evidence (information form with a
  forgetting factor) so that identity settles over a take.
- :class:`TakeRefiner` runs both frame after frame.

Modules: ``config`` (settings), ``vertex_subset`` (which vertices are fitted),
``subset_model`` (the face model laid out for fitting), ``depth_target`` (the depth map's
points and normals), ``robust`` (losses), ``solver`` (damped, bounded solves and
marginalisation), ``rotation``, ``refiner``, ``identity``, ``take``, ``result``.
"""

from inference.refine.config import IdentityConfig, RefineConfig
from inference.refine.identity import IdentityAccumulator
from inference.refine.refiner import DepthRefiner
from inference.refine.result import IdentityObservation, IdentityPrior, RefineResult
from inference.refine.take import TakeRefiner

__all__ = [
    "DepthRefiner",
    "IdentityAccumulator",
    "IdentityConfig",
    "IdentityObservation",
    "IdentityPrior",
    "RefineConfig",
    "RefineResult",
    "TakeRefiner",
]
