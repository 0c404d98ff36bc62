"""Settings of depth refinement: frozen dataclasses with documented defaults.

Lengths are millimetres where a name ends in ``_mm``, angles degrees where it ends in
``_deg``. The defaults are tuned on noisy synthetic TrueDepth frames (640x480, faces at
0.3-0.7 m) and checked on a real TrueDepth portrait; ``tests/unit/test_refine_parts.py``
pins them. Plain values only, so ``app.config`` can load and save them as JSON or YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IdentityConfig:
    """How identity settles over a take (:class:`inference.refine.IdentityAccumulator`).

    forgetting: each new frame multiplies the information held so far by this factor
        (0.97: the estimate remembers roughly the last 1 / (1 - 0.97) ~ 33 observations).
    prior_weight: information of the zero-mean prior on each identity coefficient,
        counted once (not forgotten); coefficients are ~N(0, 1), so this is a weak pull toward
        the mean face, in the refiner's energy units (as ``RefineConfig.identity_zero_weight``).
        Each frame's own evidence includes its pull toward the network's identity.
    information_scale: multiplies the accumulated information when it is handed to the
        refiner as a prior (1: trust the accumulated frames at face value).
    observe_every: the take refiner solves identity (and feeds the accumulator) on every
        n-th frame only; the frames between fit pose and expression with identity fixed.
    observe_all_first: ... except the first frames of a take, which all solve identity, so
        that it settles fast (measured on held-out synthetic takes: the first second's error
        1.51 -> 1.23 mm on the hardest, for ~2 ms more per frame while it lasts).
    converge_frames: at least this many observations before identity may count as settled.
    converge_tolerance: ... and the estimate moved less than this (RMS vertex motion over the
        fitting subset, mm) over each of the last ``converge_window`` observations.
    converge_window: see ``converge_tolerance``.
    freeze_when_converged: once settled, stop solving identity until :meth:`reset`.
    """

    forgetting: float = 0.97
    prior_weight: float = 0.002
    information_scale: float = 1.0
    observe_every: int = 3
    observe_all_first: int = 30
    converge_frames: int = 10
    converge_tolerance: float = 0.05
    converge_window: int = 3
    freeze_when_converged: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1], got {self.forgetting}")
        if self.prior_weight <= 0 or self.information_scale <= 0:
            raise ValueError("prior_weight and information_scale must be positive")
        if self.observe_every < 1 or self.converge_frames < 1 or self.converge_window < 1:
            raise ValueError("observe_every, converge_frames and converge_window must be >= 1")


@dataclass(frozen=True)
class SteadyConfig:
    """Fewer solves while tracking is steady (:class:`inference.refine.TakeRefiner`).

    A frame is steady when its warm start is the previous frame's fit and the last two fits
    differ by less than ``max_motion_mm``, ``max_rotation_deg`` and ``max_expression`` (the
    largest change of one expression weight): the face is where it was, so a few solves
    finish what six do from farther away. Fast motion, a new detection or a failed frame
    gets every ``RefineConfig.iterations`` again.

    iterations: solves of a steady frame (0: no steady mode); rigid_iterations: of which
        pose only (must leave at least one full solve, where identity is observed). Measured
        with ``benchmarks.pipeline --compare-steady`` (held-out seeds 1001 and 1003, 300
        frames, both pipelines interleaved on shared cores): 4 (1 rigid) on 97 % of the
        frames, refinement 15.8 -> 13.3 and 15.0 -> 12.3 ms median, ground-truth error
        0.97 -> 0.96 and 0.96 -> 0.97 mm; 3 solves cost 2-3 % of accuracy.
    """

    iterations: int = 4
    rigid_iterations: int = 1
    max_motion_mm: float = 4.0
    max_rotation_deg: float = 2.0
    max_expression: float = 0.15

    def __post_init__(self) -> None:
        if self.iterations < 0 or self.rigid_iterations < 0:
            raise ValueError("steady iterations must be >= 0")
        if self.iterations and self.rigid_iterations >= self.iterations:
            raise ValueError(f"steady rigid_iterations ({self.rigid_iterations}) must leave a full solve "
                             f"of {self.iterations}")


@dataclass(frozen=True)
class RefineConfig:
    """Gauss-Newton / Levenberg-Marquardt fitting of pose, expression and identity to depth.

    Fitting vertices:
        num_points: narrow-face vertices in the fitting subset, spread by farthest-point
            sampling over the template. 2500 with 6 iterations against 1500 with 5, on the
            pipeline benchmark (held-out seeds 1001 and 1003, 300 frames): ground-truth error
            0.94 / 1.03 -> 0.90 / 0.96 mm, refinement 5.4 -> 6.9 ms a frame.
        eye_margin_mm, mouth_margin_mm: vertices nearer than this (on the template) to the
            eye openings or the mouth opening (inner lip line) are left out: eyelashes,
            eyeballs, teeth and the lip edges give unreliable depth.
        border_margin_mm: likewise for the narrow face's outer border.

    Iterations and damping:
        iterations: linear solves per frame (each one re-associates the points). Five
            (two rigid, three full) bring a 3 mm / 9 mm-off warm start under a millimetre;
            the sixth helps expression follow fast motion.
        rigid_iterations: the first solves update the pose only (6 unknowns, cheap); the
            coefficients join once the rigid misalignment is gone, so they do not absorb it.
            Under a take's identity prior, identity joins the last solve only.
        damping: initial Levenberg-Marquardt factor on the Hessian's diagonal; divided by
            3 after an accepted step, multiplied by 10 after a rejected one.

    Data term (point-to-plane, projective association):
        normal_window_px: box filter (pixels) applied to the depth before normals and
            target points are taken from it (valid pixels only).
        normal_step_px: half-span of the central differences giving the depth gradient.
        roi_margin_px: least margin of the window around the projected warm-start face
            (it grows to 15 % of the face's size).
        max_distance_mm: a vertex farther than this from its associated point is rejected.
        max_grazing_deg: a depth normal more oblique than this to the viewing ray is rejected.
        max_normal_angle_deg: a depth normal differing more than this from the model's
            (rotated) vertex normal is rejected.
        max_backface_deg: a model vertex whose normal turns further than this from the
            camera is not fitted (it is on the far side of the head).
        edge_jump_mm: a pixel whose raw depth differs more than this from the smoothed
            depth is a discontinuity and is rejected.
        robust_loss: ``tukey`` or ``huber`` on the point-to-plane residual.
        robust_k: the loss's scale in robust standard deviations (4.685 Tukey, 1.345 Huber).
        min_sigma_mm: floor on the robust standard deviation (1.4826 * MAD) of residuals.

    Regularisers (the data term is the mean squared residual over the subset in units of
    the residuals' robust standard deviation; each weight ``w`` adds ``w |x - x0|^2 / 2``):
        expression_prior_weight: pull toward the network's expression.
        expression_zero_weight: pull toward the neutral face.
        identity_prior_weight: pull toward the network's identity (in frames without a take
            prior; also part of each frame's identity evidence for the accumulator).
        identity_zero_weight: pull toward the mean face (frames without a take prior).
        solve_identity: False holds identity at the given value in every frame.

    Failure (the result is flagged ``success=False`` and carries the warm start unchanged):
        min_valid_points: fewer associated vertices than this.
        min_inlier_fraction: fewer robust inliers than this fraction of the subset.
        max_residual_mm: mean absolute inlier residual above this after fitting.
        max_translation_change_mm, max_rotation_change_deg: a larger jump from the warm start.

    identity: how identity settles over a take.
    steady: fewer solves while tracking is steady (over a take).
    """

    num_points: int = 2500
    eye_margin_mm: float = 5.0
    mouth_margin_mm: float = 6.0
    border_margin_mm: float = 3.0

    iterations: int = 6
    rigid_iterations: int = 2
    damping: float = 1e-4

    normal_window_px: int = 5
    normal_step_px: int = 2
    roi_margin_px: int = 24
    max_distance_mm: float = 25.0
    max_grazing_deg: float = 78.0
    max_normal_angle_deg: float = 50.0
    max_backface_deg: float = 80.0
    edge_jump_mm: float = 8.0
    robust_loss: str = "tukey"
    robust_k: float = 4.685
    min_sigma_mm: float = 0.3

    expression_prior_weight: float = 0.05
    expression_zero_weight: float = 0.001
    identity_prior_weight: float = 0.002
    identity_zero_weight: float = 0.002
    solve_identity: bool = True

    min_valid_points: int = 200
    min_inlier_fraction: float = 0.25
    max_residual_mm: float = 4.0
    max_translation_change_mm: float = 60.0
    max_rotation_change_deg: float = 35.0

    identity: IdentityConfig = field(default_factory=IdentityConfig)
    steady: SteadyConfig = field(default_factory=SteadyConfig)

    def __post_init__(self) -> None:
        if self.num_points < 50:
            raise ValueError(f"num_points must be at least 50, got {self.num_points}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")
        if self.robust_loss not in ("tukey", "huber"):
            raise ValueError(f"robust_loss must be 'tukey' or 'huber', got {self.robust_loss!r}")
        if self.normal_window_px < 1 or self.normal_window_px % 2 == 0:
            raise ValueError(f"normal_window_px must be odd and >= 1, got {self.normal_window_px}")
        if self.normal_step_px < 1:
            raise ValueError(f"normal_step_px must be >= 1, got {self.normal_step_px}")
        for name in ("max_grazing_deg", "max_normal_angle_deg", "max_backface_deg"):
            if not 0 < getattr(self, name) <= 90:
                raise ValueError(f"{name} must be in (0, 90], got {getattr(self, name)}")
        if min(self.expression_prior_weight, self.expression_zero_weight, self.identity_prior_weight,
               self.identity_zero_weight) < 0:
            raise ValueError("regulariser weights must be >= 0")
