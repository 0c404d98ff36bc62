"""Random facial expressions: sparse, correlated, ARKit-like combinations.

:class:`ExpressionSampler` draws (53,) weights in [0, 1] (face-model order) from a mixture:

* **combos** (most draws): one to three named gestures, each a set of channels that move
  together (smiles with cheek and eye squints, blinks and winks, jaw opening with the lower
  lip, surprise, frowns, puckers, sneers, gaze directions shared by both eyes, ...), each at
  a random strength, left/right slightly unbalanced, plus a little activity elsewhere;
* **sparse**: a few random channels at random strengths;
* **performance**: a frame of a training :class:`models.synthetic.motion.Performance`
  (seeds below ``train_seed_limit``: the held-out evaluation seeds are never drawn);
* **neutral**: all zero but for a faint jitter.
"""

from __future__ import annotations

import numpy as np

from models.synthetic.motion import Performance

__all__ = ["COMBOS", "ExpressionSampler"]

# gesture -> channel -> relative weight ("_S" expands to both sides).
COMBOS: dict[str, dict[str, float]] = {
    "smile": {"mouthSmile_S": 1.0, "cheekSquint_S": 0.5, "eyeSquint_S": 0.3, "mouthDimple_S": 0.2},
    "grin": {"mouthSmile_S": 1.0, "mouthStretch_S": 0.5, "mouthUpperUp_S": 0.4, "cheekSquint_S": 0.6,
             "jawOpen": 0.2},
    "blink": {"eyeBlink_S": 1.0},
    "squint": {"eyeSquint_S": 1.0, "cheekSquint_S": 0.4, "browDown_S": 0.3},
    "jaw_open": {"jawOpen": 1.0, "mouthLowerDown_S": 0.3},
    "talk_o": {"jawOpen": 0.4, "mouthFunnel": 0.7, "mouthPucker": 0.3},
    "talk_e": {"jawOpen": 0.3, "mouthStretch_S": 0.6, "mouthUpperUp_S": 0.3},
    "talk_m": {"mouthClose": 0.3, "mouthPress_S": 0.8, "mouthRollLower": 0.3},
    "surprise": {"browInnerUp_S": 1.0, "browOuterUp_S": 0.9, "eyeWide_S": 0.8, "jawOpen": 0.4},
    "brows_up": {"browInnerUp_S": 1.0, "browOuterUp_S": 0.7},
    "frown": {"browDown_S": 1.0, "mouthFrown_S": 0.6, "mouthShrugLower": 0.3},
    "sad": {"browInnerUp_S": 0.8, "mouthFrown_S": 0.8, "mouthShrugLower": 0.4},
    "pucker": {"mouthPucker": 1.0, "mouthFunnel": 0.3},
    "kiss_side": {"mouthPucker": 0.8, "mouthLeft": 0.6},
    "mouth_right": {"mouthRight": 1.0, "jawRight": 0.3},
    "mouth_left": {"mouthLeft": 1.0, "jawLeft": 0.3},
    "sneer": {"noseSneer_S": 1.0, "mouthUpperUp_S": 0.5, "browDown_S": 0.3},
    "disgust": {"noseSneer_S": 0.8, "mouthUpperUp_S": 0.7, "mouthFrown_S": 0.4, "eyeSquint_S": 0.4},
    "puff": {"cheekPuff_S": 1.0, "mouthClose": 0.2},
    "lips_in": {"mouthRollLower": 1.0, "mouthRollUpper": 0.8, "mouthPress_S": 0.3},
    "jaw_forward": {"jawForward": 1.0, "jawOpen": 0.1},
    "jaw_side": {"jawLeft": 1.0},
    "jaw_side_r": {"jawRight": 1.0},
    "look_up": {"eyeLookUp_S": 1.0, "eyeWide_S": 0.2},
    "look_down": {"eyeLookDown_S": 1.0, "eyeBlink_S": 0.3},
    "look_left": {"eyeLookOut_L": 1.0, "eyeLookIn_R": 1.0},
    "look_right": {"eyeLookIn_L": 1.0, "eyeLookOut_R": 1.0},
    "scream": {"jawOpen": 1.0, "mouthStretch_S": 0.8, "browInnerUp_S": 0.6, "eyeWide_S": 0.5},
}
# one-sided gestures: the channel set of one side only
_WINKS = ("eyeBlink_L", "eyeBlink_R")
_HALF_SMILES = ("mouthSmile_L", "mouthSmile_R")


class ExpressionSampler:
    """Draws random expression vectors for the face model's expression names.

    Args:
        names: the 53 face-model expression names, in order.
        mix: probabilities of (combos, sparse, performance, neutral).
        train_seed_limit: Performance seeds are drawn in ``[0, train_seed_limit)``.
    """

    def __init__(self, names: tuple[str, ...], mix: tuple[float, float, float, float] = (0.55, 0.15, 0.25, 0.05),
                 train_seed_limit: int = 1000):
        self.names = names
        self.index = {name: i for i, name in enumerate(names)}
        self.mix = np.asarray(mix, np.float64) / np.sum(mix)
        self.train_seed_limit = train_seed_limit
        self.combos = {gesture: self._expand(channels) for gesture, channels in COMBOS.items()}
        self._performances: dict[int, Performance] = {}

    def _expand(self, channels: dict[str, float]) -> list[tuple[int, int | None, float]]:
        """[(left-or-only index, right index or None, weight)] for the channels present in the model."""
        out = []
        for name, weight in channels.items():
            if name.endswith("_S"):
                left, right = self.index.get(name[:-2] + "_L"), self.index.get(name[:-2] + "_R")
                if left is not None and right is not None:
                    out.append((left, right, weight))
            elif name in self.index:
                out.append((self.index[name], None, weight))
        return out

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """(53,) float32 weights in [0, 1]."""
        kind = rng.choice(4, p=self.mix)
        if kind == 0:
            weights = self._combos(rng)
        elif kind == 1:
            weights = self._sparse(rng)
        elif kind == 2:
            weights = self._performance(rng)
        else:
            weights = np.abs(rng.normal(0, 0.02, len(self.names)))
        return np.clip(weights, 0.0, 1.0).astype(np.float32)

    def _combos(self, rng: np.random.Generator) -> np.ndarray:
        weights = np.abs(rng.normal(0.0, 0.03, len(self.names)))  # faint background activity
        gestures = list(self.combos)
        for gesture in rng.choice(gestures, size=rng.integers(1, 4), replace=False):
            strength = rng.uniform(0.2, 1.0) ** 0.7
            balance = rng.normal(1.0, 0.12)
            for left, right, weight in self.combos[gesture]:
                jitter = rng.uniform(0.8, 1.2)
                weights[left] = max(weights[left], strength * weight * jitter * balance)
                if right is not None:
                    weights[right] = max(weights[right], strength * weight * jitter / balance)
        if rng.uniform() < 0.08:  # a wink or a half smile
            channel = self.index.get(str(rng.choice(_WINKS if rng.uniform() < 0.5 else _HALF_SMILES)))
            if channel is not None:
                weights[channel] = rng.uniform(0.6, 1.0)
        return weights

    def _sparse(self, rng: np.random.Generator) -> np.ndarray:
        weights = np.zeros(len(self.names))
        count = 1 + rng.poisson(2.0)
        channels = rng.choice(len(self.names), size=min(count, len(self.names)), replace=False)
        weights[channels] = rng.uniform(0.1, 1.0, channels.size)
        return weights

    def _performance(self, rng: np.random.Generator) -> np.ndarray:
        seed = int(rng.integers(0, self.train_seed_limit))
        performance = self._performances.get(seed)
        if performance is None:
            if len(self._performances) > 64:
                self._performances.clear()
            performance = self._performances[seed] = Performance(self.names, seed=seed)
        return performance.expression_at(float(rng.uniform(0.0, 600.0)))
