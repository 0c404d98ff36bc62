"""Gauss-Newton (Levenberg-Marquardt) fitting of pose, expression and identity to a depth map.

Energy (points in mm, rotation in radians):

    E = (1/N) sum_i rho(n_i . (R p_i + t - d_i)) / sigma^2         point-to-plane, robust
        + l_e |e - e_net|^2 / 2 + l_e0 |e|^2 / 2                    expression (e in [0, 1])
        + l_a |a - a_net|^2 / 2 + l_a0 |a|^2 / 2                    identity, per frame, or
        + (a - a_take)^T Lambda (a - a_take) / 2                    identity from the take

over the N fitting vertices ``p_i`` (:mod:`inference.refine.vertex_subset`), with ``d_i`` and
``n_i`` the depth point and normal at the pixel ``p_i`` projects to (projective association,
re-done at every iteration) and rho Tukey's biweight (or Huber) with the robust residual
scale sigma (1.4826 MAD, floored): the data term is in units of the current residual
noise, so the regularisers count more on noisier (farther) faces and while the fit is still
far off (which keeps the coefficients from absorbing misalignment). Vertices without a
usable match (off the depth, too far, grazing, back-facing, or with a normal unlike the
model's) are left out.

The first ``rigid_iterations`` solves move the pose only; later ones move pose, expression
(kept in [0, 1] by an active-set projected step) and identity (under a take's prior, in the
last solve only, where its evidence is also read off for the accumulator). The pose update is
``R <- exp([w]) R`` about the matched points' centroid ``c``: ``t <- exp([w]) (t - c) + c + dt``.
A step is kept when it lowers the energy over the vertices matched both before and after
it (at a fixed sigma); otherwise the damping grows and the step is solved again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from inference.refine import robust
from inference.refine.config import RefineConfig
from inference.refine.depth_target import DepthTarget, face_window
from inference.refine.priors import Priors
from inference.refine.result import IdentityObservation, IdentityPrior, RefineResult
from inference.refine.rotation import axis_angle_to_matrix, orthonormalize, rotation_angle_deg
from inference.refine.solver import active_bounds, damped_solve, marginal_information
from inference.refine.subset_model import MM_PER_M, SubsetModel
from models.camera import Intrinsics
from models.face_model import FaceModel

log = logging.getLogger(__name__)

POSE = 6  # rotation vector (3), translation (3, mm)


@dataclass
class _State:
    rotation: np.ndarray  # (3, 3) float64
    translation: np.ndarray  # (3,) float64 mm
    expression: np.ndarray  # (53,) float64
    identity: np.ndarray  # (100,) float64
    base: np.ndarray  # (3, N) float32 mm: template + identity offset (+ the decoder's corrective)
    head: np.ndarray  # (3, N) float32 mm: head-frame vertices (base + expression offset)
    corrective: np.ndarray | None  # (3, N) float32 mm: the decoder's corrective, held fixed


@dataclass
class _Evaluation:
    points: np.ndarray  # (3, N) float32 mm camera-frame vertices
    normals: np.ndarray  # (3, N) float32 matched depth normals (zero where not ok)
    residuals: np.ndarray  # (N,) float32 mm point-to-plane (zero where not ok)
    ok: np.ndarray  # (N,) bool usable match

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.ok))


@dataclass
class _System:
    hessian: np.ndarray
    gradient: np.ndarray
    centroid: np.ndarray
    observation: IdentityObservation | None
    rigid: bool
    identity: bool  # the system has identity columns


@dataclass(frozen=True)
class _Start:
    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray

    def failed(self, reason: str, iterations: int = 0, valid: int = 0) -> RefineResult:
        log.debug("refinement failed: %s", reason)
        return RefineResult(self.rotation.copy(), self.translation.copy(), self.identity.astype(np.float32),
                            self.expression.astype(np.float32), float("nan"), iterations, valid,
                            success=False, reason=reason)


class DepthRefiner:
    """Fits the face model to one depth map, warm-started from the network's estimate.

    Per-model matrices (the fitting subset, its bases in two layouts, its normals) are
    built once here; :meth:`refine` is then cheap enough to run on every frame.
    """

    def __init__(self, model: FaceModel, config: RefineConfig | None = None):
        self.config = config or RefineConfig()
        c = self.config
        self.model = model
        self.subset = SubsetModel.build(model, c.num_points, c.eye_margin_mm, c.mouth_margin_mm, c.border_margin_mm)
        self.num_expression = self.subset.num_expression
        self.num_identity = self.subset.num_identity
        self._cos_grazing = np.float32(np.cos(np.radians(c.max_grazing_deg)))
        self._cos_normal = np.float32(np.cos(np.radians(c.max_normal_angle_deg)))
        self._cos_backface = np.float32(np.cos(np.radians(c.max_backface_deg)))

    def refine(self, depth: np.ndarray | None, intrinsics: Intrinsics, rotation: np.ndarray,
               translation: np.ndarray, identity: np.ndarray, expression: np.ndarray,
               identity_prior: IdentityPrior | None = None, *, observe_identity: bool = False,
               expression_start: np.ndarray | None = None, corrective: np.ndarray | None = None) -> RefineResult:
        """Refine one frame.

        Args:
            depth: (H, W) float32 metres, 0 or NaN invalid, on the grid of ``intrinsics``.
            rotation: (3, 3) camera from head; translation: (3,) metres (warm start).
            identity: (100,) network identity; expression: (53,) network expression weights.
            identity_prior: the take's settled identity (:meth:`IdentityAccumulator.prior`):
                identity starts at its mean and is pulled toward it with its information (or
                held there when it is frozen). None: identity is fitted to this frame alone,
                pulled toward ``identity`` and zero (unless ``config.solve_identity`` is off).
            observe_identity: also return this frame's identity evidence (pose and expression
                marginalised out, at the last full linearisation; none when every iteration
                is rigid).
            expression_start: (53,) where the expression starts (default: ``expression``,
                which stays the prior's mean either way). While tracking, the previous frame's
                fit: a few Gauss-Newton steps cannot travel from a poor network guess to a
                wide-open jaw, but easily follow it from one frame to the next.
            corrective: (V, 3) metres, head frame, face-model order (V >= the narrow face):
                the shape decoder's learned corrective at the warm start, added to the linear
                model and held fixed while fitting, so that the surface fitted is the one the
                decoder outputs. None: the linear model alone.

        Returns:
            A :class:`RefineResult`; ``success`` False (warm start unchanged) when the depth
            does not support a fit or the warm start is not finite. Never raises on bad
            depth; raises ValueError only for arrays of the wrong shape (a caller's bug).
        """
        c = self.config
        start = _Start(np.asarray(rotation, dtype=np.float64), np.asarray(translation, dtype=np.float64),
                       np.asarray(identity, dtype=np.float64).reshape(-1),
                       np.clip(np.asarray(expression, dtype=np.float64).reshape(-1), 0.0, 1.0))
        if depth is None or np.ndim(depth) != 2 or depth.shape != (intrinsics.height, intrinsics.width):
            return start.failed("no depth map on the intrinsics' grid")
        if start.rotation.shape != (3, 3) or start.translation.shape != (3,):
            raise ValueError(f"rotation must be (3, 3) and translation (3,), got {start.rotation.shape} "
                             f"and {start.translation.shape}")
        if start.identity.shape != (self.num_identity,) or start.expression.shape != (self.num_expression,):
            raise ValueError(f"identity must have {self.num_identity} and expression {self.num_expression} "
                             f"coefficients, got {start.identity.shape} and {start.expression.shape}")
        if not all(np.all(np.isfinite(x)) for x in (start.rotation, start.translation, start.identity, start.expression)):
            return start.failed("non-finite warm start")

        first_identity = start.identity if identity_prior is None else np.asarray(identity_prior.mean, np.float64)
        first_expression = start.expression if expression_start is None else np.clip(
            np.asarray(expression_start, dtype=np.float64).reshape(-1), 0.0, 1.0)
        if first_expression.shape != start.expression.shape or not np.all(np.isfinite(first_expression)):
            first_expression = start.expression
        corrective_mm = None if corrective is None else np.ascontiguousarray(
            np.asarray(corrective, np.float32)[self.subset.indices].T * np.float32(MM_PER_M))
        state = self._state(start.rotation, start.translation * MM_PER_M, first_expression, first_identity,
                            corrective_mm)
        solve_identity = c.solve_identity and not (identity_prior is not None and identity_prior.frozen)
        priors = Priors(c, start.expression, start.identity, identity_prior, solve_identity, first=POSE)

        window = face_window(self._camera_points(state), intrinsics, c.roi_margin_px)
        if window is None:
            return start.failed("the warm-start face is outside the image")
        target = DepthTarget.build(depth, intrinsics, window, c.normal_window_px, c.normal_step_px, c.edge_jump_mm)
        if target is None:
            return start.failed("no valid depth around the face")

        evaluation = self._evaluate(state, target)
        if evaluation.count < c.min_valid_points:
            return start.failed(f"{evaluation.count} vertices on valid depth (< {c.min_valid_points})",
                                valid=evaluation.count)
        sigma = self._sigma(evaluation)
        damping = c.damping
        system: _System | None = None
        last_system: _System | None = None
        solves = 0
        for iteration in range(c.iterations):
            rigid = iteration < c.rigid_iterations
            last = iteration == c.iterations - 1
            # Under a take's prior identity hardly moves: it joins the last solve only.
            identity_now = solve_identity and not rigid and (identity_prior is None or last)
            observe = observe_identity and last and not rigid
            columns = identity_now or observe
            if (system is None or system.rigid != rigid or system.identity != columns
                    or (observe and system.observation is None)):
                system = self._system(evaluation, state, sigma, priors, rigid, columns, observe)
                if not rigid:
                    last_system = system
            step = self._step(system, state, damping, identity_now)
            candidate = self._apply(state, step, system.centroid, identity_now)
            candidate_evaluation = self._evaluate(candidate, target)
            solves += 1
            both = evaluation.ok & candidate_evaluation.ok
            better = (self._energy(candidate_evaluation, candidate, sigma, priors, both)
                      <= self._energy(evaluation, state, sigma, priors, both))
            if better and candidate_evaluation.count >= max(c.min_valid_points, 0.7 * evaluation.count):
                state, evaluation = candidate, candidate_evaluation
                sigma = self._sigma(evaluation)
                system = None
                damping = max(damping / 3.0, 1e-9)
            else:
                damping *= 10.0
        return self._result(state, evaluation, sigma, solves, start, last_system)

    # ------------------------------------------------------------------ pieces
    def _state(self, rotation, translation_mm, expression, identity, corrective) -> _State:
        base = self._base(identity, corrective)
        return _State(rotation.copy(), translation_mm.copy(), expression.copy(), identity.copy(), base,
                      self.subset.vertices(base, expression), corrective)

    def _base(self, identity: np.ndarray, corrective: np.ndarray | None) -> np.ndarray:
        base = self.subset.identity_offset(identity)
        return base if corrective is None else base + corrective

    def _camera_points(self, state: _State) -> np.ndarray:
        return state.rotation.astype(np.float32) @ state.head + state.translation.astype(np.float32)[:, None]

    def _evaluate(self, state: _State, target: DepthTarget) -> _Evaluation:
        points = self._camera_points(state)
        match = target.associate(points)
        ok = match.ok
        offset = points - match.points
        distance = _dot(offset, offset)
        ray = points * (np.float32(1.0) / np.sqrt(np.maximum(_dot(points, points), np.float32(1e-6))))
        model_normals = state.rotation.astype(np.float32) @ self.subset.normals
        ok &= distance < np.float32(self.config.max_distance_mm ** 2)
        ok &= _dot(match.normals, ray) < -self._cos_grazing
        ok &= _dot(model_normals, ray) < -self._cos_backface
        ok &= _dot(model_normals, match.normals) > self._cos_normal
        residuals = _dot(match.normals, offset)
        residuals[~ok] = 0
        return _Evaluation(points, match.normals, residuals, ok)

    def _sigma(self, evaluation: _Evaluation) -> float:
        """Robust standard deviation (mm) of the matched residuals."""
        return robust.robust_sigma(evaluation.residuals[evaluation.ok], self.config.min_sigma_mm)

    def _energy(self, evaluation: _Evaluation, state: _State, sigma: float, priors: Priors,
                mask: np.ndarray) -> float:
        """The energy over the vertices in ``mask`` at noise level ``sigma``."""
        c = self.config
        data = robust.loss_sum(evaluation.residuals[mask], c.robust_k * sigma, c.robust_loss)
        return data / (len(mask) * sigma * sigma) + priors.energy(state.expression, state.identity)

    def _system(self, evaluation: _Evaluation, state: _State, sigma: float, priors: Priors, rigid: bool,
                with_identity: bool, observe_identity: bool) -> _System:
        """The normal equations at ``state`` (undamped): pose only when ``rigid``, else pose,
        expression and (``with_identity``) identity, regularisers included."""
        c = self.config
        rows = np.flatnonzero(evaluation.ok)
        n_expr = self.num_expression
        size = POSE if rigid else POSE + n_expr + (self.num_identity if with_identity else 0)
        points = evaluation.points[:, rows]
        normals = evaluation.normals[:, rows]
        residuals = evaluation.residuals[rows]
        centroid = points.mean(axis=1)
        arm = points - centroid[:, None]
        jacobian = np.empty((len(rows), size), dtype=np.float32)
        jacobian[:, 0] = arm[1] * normals[2] - arm[2] * normals[1]  # (p - c) x n
        jacobian[:, 1] = arm[2] * normals[0] - arm[0] * normals[2]
        jacobian[:, 2] = arm[0] * normals[1] - arm[1] * normals[0]
        jacobian[:, 3:6] = normals.T
        if not rigid:
            head_normals = state.rotation.T.astype(np.float32) @ normals  # m_i = R^T n_i
            self.subset.expression_jacobian(head_normals, rows, jacobian[:, POSE:POSE + n_expr])
            if with_identity:
                self.subset.identity_jacobian(head_normals, rows, jacobian[:, POSE + n_expr:])
        weights = robust.weights(residuals, c.robust_k * sigma, c.robust_loss)
        root = np.sqrt(weights / np.float32(len(evaluation.ok) * sigma * sigma))
        jacobian *= root[:, None]
        hessian = (jacobian.T @ jacobian).astype(np.float64)
        gradient = (jacobian.T @ (root * residuals)).astype(np.float64)
        observation = None
        if not rigid:
            priors.add_expression(hessian, gradient, state.expression)
            if observe_identity:
                observation = self._observation(hessian, gradient, state.identity, priors.identity_net,
                                                state.expression)
            if with_identity:
                priors.add_identity(hessian, gradient, state.identity)
        return _System(hessian, gradient, centroid.astype(np.float64), observation, rigid, with_identity and not rigid)

    def _observation(self, hessian: np.ndarray, gradient: np.ndarray, identity: np.ndarray,
                     identity_net: np.ndarray, expression_values: np.ndarray) -> IdentityObservation:
        """This frame's identity evidence: the data (pose and expression marginalised out) plus
        the pull toward the network's identity, as information and information vector."""
        n_id = self.num_identity
        size = len(gradient)
        held = np.zeros(size, dtype=bool)
        expression = slice(POSE, POSE + self.num_expression)
        held[expression] = active_bounds(gradient[expression], expression_values)
        information, vector = marginal_information(hessian, gradient, slice(size - n_id, size), held)
        pull = self.config.identity_prior_weight
        vector = information @ identity + vector + pull * identity_net
        information = information + pull * np.eye(n_id)
        return IdentityObservation(information, vector)

    def _step(self, system: _System, state: _State, damping: float, solve_identity: bool) -> np.ndarray:
        """The Levenberg-Marquardt step over the unknowns being solved (zeros elsewhere)."""
        step = np.zeros(POSE + self.num_expression + self.num_identity)
        if system.rigid:
            step[:POSE] = damped_solve(system.hessian, system.gradient, damping)
            return step
        n_free = POSE + self.num_expression + (self.num_identity if solve_identity else 0)
        step[:n_free] = damped_solve(system.hessian[:n_free, :n_free], system.gradient[:n_free], damping,
                                     bounded=slice(POSE, POSE + self.num_expression), values=state.expression)
        return step

    def _apply(self, state: _State, step: np.ndarray, centroid: np.ndarray, solve_identity: bool) -> _State:
        turn = axis_angle_to_matrix(step[0:3])
        rotation = turn @ state.rotation
        translation = turn @ (state.translation - centroid) + centroid + step[3:6]
        n_expr = self.num_expression
        if not np.any(step[POSE:]):
            return _State(rotation, translation, state.expression, state.identity, state.base, state.head,
                          state.corrective)
        expression = np.clip(state.expression + step[POSE:POSE + n_expr], 0.0, 1.0)
        if solve_identity:
            identity = state.identity + step[POSE + n_expr:]
            base = self._base(identity, state.corrective)
        else:
            identity, base = state.identity, state.base
        return _State(rotation, translation, expression, identity, base, self.subset.vertices(base, expression),
                      state.corrective)

    def _result(self, state: _State, evaluation: _Evaluation, sigma: float, solves: int, start: _Start,
                last_system: _System | None) -> RefineResult:
        c = self.config
        ok = evaluation.ok
        valid = evaluation.count
        residuals = np.abs(evaluation.residuals[ok])
        inlier = residuals < c.robust_k * sigma if c.robust_loss == "tukey" else np.ones(valid, dtype=bool)
        inliers = int(np.count_nonzero(inlier))
        residual = float(np.mean(residuals[inlier])) if inliers else float("nan")
        if valid < c.min_valid_points:
            return start.failed(f"{valid} vertices on valid depth (< {c.min_valid_points})", solves, valid)
        if inliers < c.min_inlier_fraction * len(ok):
            return start.failed(f"only {inliers} of {len(ok)} vertices fit the depth", solves, valid)
        if not residual <= c.max_residual_mm:
            return start.failed(f"mean residual {residual:.2f} mm > {c.max_residual_mm} mm", solves, valid)
        jump_mm = float(np.linalg.norm(state.translation - start.translation * MM_PER_M))
        turn_deg = rotation_angle_deg(state.rotation, start.rotation)
        if jump_mm > c.max_translation_change_mm or turn_deg > c.max_rotation_change_deg:
            return start.failed(f"pose jumped {jump_mm:.0f} mm / {turn_deg:.0f} deg from the warm start",
                                solves, valid)
        return RefineResult(
            rotation=orthonormalize(state.rotation), translation=state.translation / MM_PER_M,
            identity=state.identity.astype(np.float32), expression=state.expression.astype(np.float32),
            residual_mm=residual, iterations=solves, valid_points=valid, inliers=inliers, success=True,
            identity_observation=last_system.observation if last_system is not None else None,
        )


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise dot products of two (3, N) arrays: (N,)."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
