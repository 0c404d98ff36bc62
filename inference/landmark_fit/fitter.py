"""Gauss-Newton (Levenberg-Marquardt) fit of pose, expression and identity to 2D landmarks.

Energy (residuals in mm: image-plane pixels scaled by ``s = z_c / f``, the millimetres a pixel
spans at the face's depth ``z_c``, held for the frame):

    E = (1/K) sum_k w_k [rho(r_kx) + rho(r_ky)] / sigma^2        landmark term, robust
        + l_e |e - e_prior|^2 / 2 + l_e0 |e|^2 / 2                 expression (e in [0, 1])
        + l_a |a - a_prior|^2 / 2 + l_a0 |a|^2 / 2                 identity, or the take's prior
        + l_z (c_z - c_z0)^2 / 2                                   the face's distance

with ``r_k = s (pi(R P_k(a, e) + t) - u_k)``, ``P_k`` the head-frame surface point of landmark
``k`` (:class:`SurfaceBasis`), ``u_k`` its detected pixel, ``w_k`` its confidence and ``c`` the
points' camera-frame centroid. This is the paper's landmark term, used at inference. The pose
update turns about ``c``: ``R <- exp([w]) R``, ``t <- exp([w]) (t - c) + c + dt``. The first
solves move the pose only; a step is kept when it lowers the energy, else the damping grows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.landmark_fit.config import LandmarkFitConfig
from inference.landmark_fit.surface import MM_PER_M, SurfaceBasis
from inference.refine import robust
from inference.refine.result import IdentityObservation, IdentityPrior
from inference.refine.rotation import axis_angle_to_matrix, orthonormalize
from inference.refine.solver import active_bounds, damped_solve, marginal_information
from models.camera import Intrinsics

POSE = 6


@dataclass(frozen=True, eq=False)
class LandmarkFitResult:
    """The fitted face of one frame.

    rotation: (3, 3) float64 camera from head; translation: (3,) float64 metres;
    identity: (100,) float32; expression: (53,) float32 in [0, 1].
    residual_px: median landmark distance (pixels) after the fit, over points with weight > 0.
    iterations: linear solves performed; identity_observation: this frame's marginal identity
    evidence when it was asked for.
    """

    rotation: np.ndarray
    translation: np.ndarray
    identity: np.ndarray
    expression: np.ndarray
    residual_px: float
    iterations: int
    identity_observation: IdentityObservation | None = None


@dataclass
class _State:
    rotation: np.ndarray
    translation: np.ndarray  # mm
    expression: np.ndarray
    identity: np.ndarray


class LandmarkFitter:
    """Fits the face model to K detected points tied to its surface (see the module docstring)."""

    def __init__(self, basis: SurfaceBasis, config: LandmarkFitConfig | None = None):
        self.basis = basis
        self.config = config or LandmarkFitConfig()
        self._base: np.ndarray | None = None
        self._base_of: np.ndarray | None = None
        self._base_offset: np.ndarray | None = None

    # -- the model at the points ------------------------------------------------------------

    def _points(self, state: _State, offset: np.ndarray | None) -> np.ndarray:
        # the identity part (and the offset) is kept while identity and offset stay the same arrays
        if self._base_of is not state.identity or self._base_offset is not offset:
            self._base = self.basis.head_points(state.identity, np.zeros(self.basis.num_expression), offset)
            self._base_of, self._base_offset = state.identity, offset
        head = self._base + self.basis.expression_offsets(state.expression)
        return head @ state.rotation.T + state.translation

    @staticmethod
    def _project(points: np.ndarray, k: Intrinsics) -> np.ndarray:
        z = points[:, 2]
        return np.stack([k.fx * points[:, 0] / z + k.cx, k.fy * points[:, 1] / z + k.cy], axis=1)

    def _energy(self, state: _State, targets: np.ndarray, weights: np.ndarray, k: Intrinsics, scale: float,
                offset: np.ndarray | None, priors: _Priors) -> float:
        points = self._points(state, offset)
        if np.any(points[:, 2] <= 1.0):
            return np.inf
        residuals = scale * (self._project(points, k) - targets)
        c = self.config
        data = robust.loss_sum((residuals * np.sqrt(weights)[:, None]).ravel(), c.robust_scale * c.sigma_mm, c.loss)
        return data / (len(targets) * c.sigma_mm ** 2) + priors.energy(state, points.mean(axis=0)[2])

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, targets_px: np.ndarray, intrinsics: Intrinsics, rotation: np.ndarray, translation: np.ndarray,
            identity: np.ndarray, expression_prior: np.ndarray, *, weights: np.ndarray | None = None,
            expression_start: np.ndarray | None = None, identity_prior: IdentityPrior | None = None,
            solve_identity: bool = False, observe_identity: bool = False,
            offset_mm: np.ndarray | None = None, iterations: int | None = None,
            rigid_iterations: int | None = None) -> LandmarkFitResult:
        """Fit one frame.

        Args:
            targets_px: (K, 2) detected pixels of the K surface points (rows as the basis').
            intrinsics: the image's camera.
            rotation, translation: (3, 3) camera from head and (3,) metres: the start.
            identity: (100,) the identity to start from (and pull toward without a take prior).
            expression_prior: (53,) the expression pulled toward (the RGB branch's output).
            weights: (K,) confidences in [0, 1] (1 when omitted; 0 drops a point).
            expression_start: (53,) where the expression starts (the prior when omitted).
            identity_prior: the take's identity (pulled toward instead of ``identity``); when
                ``frozen``, identity is held at its mean.
            solve_identity: solve identity too (in the non-rigid solves).
            observe_identity: return this frame's marginal identity evidence.
            offset_mm: (K, 3) fixed head-frame offsets of the points (a corrective), mm.
            iterations, rigid_iterations: override the configured numbers of solves (e.g. more
                for a cold start far from the face).
        """
        c = self.config
        targets = np.asarray(targets_px, np.float64)
        w = np.ones(len(targets)) if weights is None else np.clip(np.asarray(weights, np.float64), 0.0, 1.0)
        frozen = identity_prior is not None and identity_prior.frozen
        start_identity = identity_prior.mean if frozen else identity
        state = _State(orthonormalize(rotation), np.asarray(translation, np.float64) * MM_PER_M,
                       np.clip(np.asarray(expression_prior if expression_start is None else expression_start,
                                          np.float64), 0.0, 1.0),
                       np.asarray(start_identity, np.float64).copy())
        solve_identity = (solve_identity or observe_identity) and not frozen
        points = self._points(state, offset_mm)
        depth = float(points[:, 2].mean())
        scale = depth / (0.5 * (intrinsics.fx + intrinsics.fy))  # mm per pixel at the face
        priors = _Priors(c, np.asarray(expression_prior, np.float64), np.asarray(identity, np.float64),
                         identity_prior, depth)
        energy = self._energy(state, targets, w, intrinsics, scale, offset_mm, priors)
        damping = c.damping
        total = c.iterations if iterations is None else iterations
        rigid_total = c.rigid_iterations if rigid_iterations is None else rigid_iterations
        observation = None
        solves = 0
        for it in range(total):
            rigid = it < min(rigid_total, total - 1)
            with_identity = solve_identity and not rigid
            last = it == total - 1
            hessian, gradient, centre = self._system(state, targets, w, intrinsics, scale, offset_mm, priors,
                                                     rigid, with_identity)
            if last and observe_identity and with_identity:
                observation = self._observation(hessian, gradient, state, priors)
            for _ in range(4):
                solves += 1
                step = self._step(hessian, gradient, state, damping, rigid, with_identity)
                candidate = self._apply(state, step, centre)
                new_energy = self._energy(candidate, targets, w, intrinsics, scale, offset_mm, priors)
                if new_energy <= energy:
                    state, energy = candidate, new_energy
                    damping = max(damping / 3.0, 1e-7)
                    break
                damping *= 10.0
        residual = np.linalg.norm(self._project(self._points(state, offset_mm), intrinsics) - targets, axis=1)
        return LandmarkFitResult(
            rotation=state.rotation, translation=state.translation / MM_PER_M,
            identity=state.identity.astype(np.float32), expression=state.expression.astype(np.float32),
            residual_px=float(np.median(residual[w > 0])) if np.any(w > 0) else float("nan"),
            iterations=solves, identity_observation=observation)

    def _system(self, state: _State, targets: np.ndarray, w: np.ndarray, k: Intrinsics, scale: float,
                offset: np.ndarray | None, priors: _Priors, rigid: bool, with_identity: bool):
        """Normal equations (H, g) over [pose | expression | identity] (identity when asked)."""
        c = self.config
        basis = self.basis
        points = self._points(state, offset)
        centre = points.mean(axis=0)
        x, y, z = points.T
        residuals = scale * (self._project(points, k) - targets)  # (K, 2)
        # d r / d q: (K, 2, 3)
        dq = np.zeros((len(points), 2, 3))
        dq[:, 0, 0] = scale * k.fx / z
        dq[:, 0, 2] = -scale * k.fx * x / (z * z)
        dq[:, 1, 1] = scale * k.fy / z
        dq[:, 1, 2] = -scale * k.fy * y / (z * z)
        n_expr = 0 if rigid else basis.num_expression
        n_id = basis.num_identity if with_identity else 0
        size = POSE + basis.num_expression + basis.num_identity
        jac = np.zeros((len(points), 2, POSE + n_expr + n_id))
        arm = points - centre
        # d q / d w = -[arm]_x  ->  d r / d w = dq @ -[arm]_x = cross(arm, dq rows)
        ax, ay, az = arm[:, None, 0], arm[:, None, 1], arm[:, None, 2]
        jac[:, :, 0] = ay * dq[:, :, 2] - az * dq[:, :, 1]
        jac[:, :, 1] = az * dq[:, :, 0] - ax * dq[:, :, 2]
        jac[:, :, 2] = ax * dq[:, :, 1] - ay * dq[:, :, 0]
        jac[:, :, 3:6] = dq
        head_dq = dq @ state.rotation  # d r / d P (head frame): (K, 2, 3)
        if n_expr:
            jac[:, :, POSE:POSE + n_expr] = np.matmul(head_dq, basis.expression)
        if n_id:
            jac[:, :, POSE + n_expr:] = np.matmul(head_dq, basis.identity)
        jac = jac.reshape(2 * len(points), -1)
        r = residuals.ravel()
        robust_w = robust.weights(r, c.robust_scale * c.sigma_mm, c.loss).astype(np.float64)
        root = np.sqrt(np.repeat(w, 2) * robust_w / (len(points) * c.sigma_mm ** 2))
        jac *= root[:, None]
        hessian = np.zeros((size, size))
        gradient = np.zeros(size)
        block = np.r_[0:POSE + n_expr, POSE + basis.num_expression:POSE + basis.num_expression + n_id]
        hessian[np.ix_(block, block)] = jac.T @ jac
        gradient[block] = jac.T @ (root * r)
        priors.add(hessian, gradient, state, centre[2], rigid, with_identity)
        return hessian, gradient, centre

    def _observation(self, hessian: np.ndarray, gradient: np.ndarray, state: _State,
                     priors: _Priors) -> IdentityObservation:
        """The frame's identity evidence: data plus the pull toward the start's identity, with
        pose and expression marginalised (the system already holds the identity prior: taken out)."""
        n_id = self.basis.num_identity
        size = len(gradient)
        ids = slice(size - n_id, size)
        h = hessian.copy()
        g = gradient.copy()
        own = priors.identity_hessian()
        h[ids, ids] -= own
        g[ids] -= own @ (state.identity - priors.identity_mean())
        held = np.zeros(size, dtype=bool)
        expression = slice(POSE, size - n_id)
        held[expression] = active_bounds(g[expression], state.expression)
        information, vector = marginal_information(h, g, ids, held)
        pull = self.config.identity_prior_weight
        vector = information @ state.identity + vector + pull * priors.identity_start
        return IdentityObservation(information + pull * np.eye(n_id), vector)

    def _step(self, hessian: np.ndarray, gradient: np.ndarray, state: _State, damping: float, rigid: bool,
              with_identity: bool) -> np.ndarray:
        n_expr = self.basis.num_expression
        step = np.zeros(len(gradient))
        if rigid:
            step[:POSE] = damped_solve(hessian[:POSE, :POSE], gradient[:POSE], damping)
            return step
        n = POSE + n_expr + (self.basis.num_identity if with_identity else 0)
        step[:n] = damped_solve(hessian[:n, :n], gradient[:n], damping, bounded=slice(POSE, POSE + n_expr),
                                values=state.expression)
        return step

    def _apply(self, state: _State, step: np.ndarray, centre: np.ndarray) -> _State:
        n_expr = self.basis.num_expression
        turn = axis_angle_to_matrix(step[:3])
        translation = turn @ (state.translation - centre) + centre + step[3:6]
        identity_step = step[POSE + n_expr:]
        identity = state.identity + identity_step if np.any(identity_step) else state.identity
        return _State(orthonormalize(turn @ state.rotation), translation,
                      np.clip(state.expression + step[POSE:POSE + n_expr], 0.0, 1.0), identity)


class _Priors:
    """The regularisers of one frame (see the module docstring), over [pose | e | a]."""

    def __init__(self, config: LandmarkFitConfig, expression_prior: np.ndarray, identity_start: np.ndarray,
                 identity_prior: IdentityPrior | None, depth_mm: float):
        self.c = config
        self.expression_prior = expression_prior
        self.identity_start = identity_start
        self.take = identity_prior
        self.depth = depth_mm

    def identity_mean(self) -> np.ndarray:
        return self.identity_start if self.take is None else np.asarray(self.take.mean, np.float64)

    def identity_hessian(self) -> np.ndarray:
        n = len(self.identity_start)
        if self.take is None:
            return (self.c.identity_prior_weight + self.c.identity_zero_weight) * np.eye(n)
        return self.take.information

    def energy(self, state: _State, depth_mm: float) -> float:
        c = self.c
        e = state.expression
        energy = 0.5 * (c.expression_prior_weight * np.sum((e - self.expression_prior) ** 2)
                        + c.expression_zero_weight * np.sum(e * e))
        energy += 0.5 * c.depth_prior_weight * (depth_mm - self.depth) ** 2
        a = state.identity
        if self.take is None:
            energy += 0.5 * (c.identity_prior_weight * np.sum((a - self.identity_start) ** 2)
                             + c.identity_zero_weight * np.sum(a * a))
        else:
            d = a - self.identity_mean()
            energy += 0.5 * float(d @ self.take.information @ d)
        return float(energy)

    def add(self, hessian: np.ndarray, gradient: np.ndarray, state: _State, depth_mm: float, rigid: bool,
            with_identity: bool) -> None:
        c = self.c
        # the centroid's depth moves one for one with dt_z
        hessian[5, 5] += c.depth_prior_weight
        gradient[5] += c.depth_prior_weight * (depth_mm - self.depth)
        if rigid:
            return
        n_e = len(state.expression)
        e = slice(POSE, POSE + n_e)
        hessian[e, e] += (c.expression_prior_weight + c.expression_zero_weight) * np.eye(n_e)
        gradient[e] += c.expression_prior_weight * (state.expression - self.expression_prior) \
            + c.expression_zero_weight * state.expression
        if with_identity:
            ids = slice(POSE + n_e, None)
            a = state.identity
            if self.take is None:
                hessian[ids, ids] += (c.identity_prior_weight + c.identity_zero_weight) * np.eye(len(a))
                gradient[ids] += c.identity_prior_weight * (a - self.identity_start) + c.identity_zero_weight * a
            else:
                hessian[ids, ids] += self.take.information
                gradient[ids] += self.take.information @ (a - self.identity_mean())
