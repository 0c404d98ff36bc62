"""Linear algebra of one Gauss-Newton step: damped, bounded solves and marginalisation."""

from __future__ import annotations

import numpy as np
import scipy.linalg


def active_bounds(gradient: np.ndarray, values: np.ndarray, lower: float = 0.0, upper: float = 1.0) -> np.ndarray:
    """(n,) bool: unknowns at a bound of [lower, upper] whose gradient pushes them outward."""
    at_lower = (values <= lower + 1e-6) & (gradient > 0)
    at_upper = (values >= upper - 1e-6) & (gradient < 0)
    return at_lower | at_upper


def damped_solve(hessian: np.ndarray, gradient: np.ndarray, damping: float,
                 bounded: slice | None = None, values: np.ndarray | None = None,
                 lower: float = 0.0, upper: float = 1.0) -> np.ndarray:
    """The Levenberg-Marquardt step ``-(H + damping * diag(H)) ^-1 g`` (float64).

    With ``bounded`` (a slice of the unknowns whose current ``values`` must stay in
    [lower, upper]), unknowns at a bound whose gradient pushes outward are held there
    (a projected step with an active set) and the step is clipped to the box.
    """
    n = len(gradient)
    diagonal = np.diag(hessian).copy()
    system = hessian + np.diag(damping * np.maximum(diagonal, 1e-9) + 1e-12)
    free = np.ones(n, dtype=bool)
    if bounded is not None:
        free[np.arange(n)[bounded][active_bounds(gradient[bounded], values, lower, upper)]] = False
    step = np.zeros(n)
    all_free = bool(free.all())
    sub = system if all_free else system[np.ix_(free, free)]
    rhs = gradient if all_free else gradient[free]
    try:
        solution = np.linalg.solve(sub, rhs)
    except np.linalg.LinAlgError:
        solution = np.linalg.lstsq(sub, rhs, rcond=None)[0]
    if all_free:
        step[:] = -solution
    else:
        step[free] = -solution
    if bounded is not None:
        step[bounded] = np.clip(values + step[bounded], lower, upper) - values
    return step


def marginal_information(hessian: np.ndarray, gradient: np.ndarray, keep: slice,
                         held: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Schur complement onto the unknowns ``keep``: (information, vector).

    For the quadratic model ``E(d) = g^T d + d^T H d / 2``, minimising over the other
    unknowns leaves ``g_k'^T d_k + d_k^T S d_k / 2`` with ``S = H_kk - H_ko H_oo^-1 H_ok``
    and ``g_k' = g_k - H_ko H_oo^-1 g_o``. Returns ``(S, -g_k')``: the information and the
    information vector of the kept unknowns' step. Unknowns flagged in ``held`` (n,) bool
    (at an active bound) are held at zero step instead of being minimised over.
    """
    n = len(gradient)
    kept = np.zeros(n, dtype=bool)
    kept[keep] = True
    other = ~kept
    if held is not None:
        other &= ~held
    h_oo = hessian[np.ix_(other, other)] + 1e-9 * np.eye(np.count_nonzero(other))
    h_ko = hessian[np.ix_(kept, other)]
    solved = scipy.linalg.solve(h_oo, np.column_stack([h_ko.T, gradient[other]]), assume_a="pos",
                                check_finite=False)
    information = hessian[np.ix_(kept, kept)] - h_ko @ solved[:, :-1]
    information = 0.5 * (information + information.T)
    vector = -(gradient[kept] - h_ko @ solved[:, -1])
    return information, vector
