"""The refiner's regularisers: Tikhonov pulls on expression and identity, or the take's prior."""

from __future__ import annotations

import numpy as np

from inference.refine.config import RefineConfig
from inference.refine.result import IdentityPrior


class Priors:
    """Energy, gradient and Hessian of the regularisers of one frame.

    Expression: ``l_e |e - e_net|^2 / 2 + l_e0 |e|^2 / 2``. Identity (when it is solved):
    ``l_a |a - a_net|^2 / 2 + l_a0 |a|^2 / 2`` without a take prior, else
    ``(a - mean)^T Lambda (a - mean) / 2``. Unknowns are laid out as
    ``[pose (first) | expression | identity]``; identity occupies the system's last columns.
    """

    def __init__(self, config: RefineConfig, expression_net: np.ndarray, identity_net: np.ndarray,
                 identity_prior: IdentityPrior | None, solve_identity: bool, first: int):
        self.expression_net = expression_net
        self.identity_net = identity_net
        self.le, self.le0 = config.expression_prior_weight, config.expression_zero_weight
        self.la, self.la0 = config.identity_prior_weight, config.identity_zero_weight
        self.prior = identity_prior
        self.prior_mean = None if identity_prior is None else np.asarray(identity_prior.mean, np.float64)
        self.solve_identity = solve_identity
        self.first = first

    def energy(self, expression: np.ndarray, identity: np.ndarray) -> float:
        e = expression
        energy = 0.5 * (self.le * np.sum((e - self.expression_net) ** 2) + self.le0 * np.sum(e * e))
        if self.solve_identity:
            if self.prior is None:
                a = identity
                energy += 0.5 * (self.la * np.sum((a - self.identity_net) ** 2) + self.la0 * np.sum(a * a))
            else:
                d = identity - self.prior_mean
                energy += 0.5 * float(d @ self.prior.information @ d)
        return float(energy)

    def add_expression(self, hessian: np.ndarray, gradient: np.ndarray, expression: np.ndarray) -> None:
        n = len(expression)
        block = slice(self.first, self.first + n)
        hessian[block, block] += (self.le + self.le0) * np.eye(n)
        gradient[block] += self.le * (expression - self.expression_net) + self.le0 * expression

    def add_identity(self, hessian: np.ndarray, gradient: np.ndarray, identity: np.ndarray) -> None:
        n = len(identity)
        block = slice(len(gradient) - n, len(gradient))
        if self.prior is None:
            hessian[block, block] += (self.la + self.la0) * np.eye(n)
            gradient[block] += self.la * (identity - self.identity_net) + self.la0 * identity
        else:
            hessian[block, block] += self.prior.information
            gradient[block] += self.prior.information @ (identity - self.prior_mean)
