"""Settings of the landmark fit (plain values; lengths in mm where a name ends in ``_mm``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LandmarkFitConfig:
    """Gauss-Newton / Levenberg-Marquardt fit of pose, expression (and identity) to 2D points.

    Residuals are image-plane distances scaled to millimetres at the face's depth
    (pixels x z / f), so the weights below do not depend on the face's size in the image.

    iterations: linear solves per frame; rigid_iterations: the first ones move the pose only.
    damping: initial Levenberg-Marquardt factor (x3 smaller after an accepted step, x10 larger
        after a rejected one).
    sigma_mm: the landmarks' expected noise; the data term is ``sum rho(r) / sigma^2``.
    loss: ``huber`` or ``tukey``; robust_scale: the loss's parameter in units of sigma.
    expression_prior_weight / expression_zero_weight: pulls of the expression toward the
        prior (the RGB branch's output) and toward 0 (per unit weight squared).
    identity_prior_weight / identity_zero_weight: the same for identity (coefficients ~N(0, 1))
        when no take prior is given.
    depth_prior_weight: pull of the head's distance toward the start's (per mm squared); a
        single view ties distance to size only weakly.
    """

    iterations: int = 4
    rigid_iterations: int = 1
    damping: float = 1e-3
    sigma_mm: float = 1.0
    loss: str = "huber"
    robust_scale: float = 2.0
    expression_prior_weight: float = 0.5
    expression_zero_weight: float = 0.05
    identity_prior_weight: float = 0.5
    identity_zero_weight: float = 0.5
    depth_prior_weight: float = 1e-4

    def __post_init__(self) -> None:
        if self.loss not in ("huber", "tukey"):
            raise ValueError(f"loss must be 'huber' or 'tukey', got {self.loss!r}")
        if self.iterations < 1 or not 0 <= self.rigid_iterations <= self.iterations:
            raise ValueError("need iterations >= 1 and 0 <= rigid_iterations <= iterations")
        if self.sigma_mm <= 0 or self.robust_scale <= 0:
            raise ValueError("sigma_mm and robust_scale must be positive")
