"""The paper's alternating schedule, the learning-rate curve, and what each phase freezes.

Sec. III-C, Implementation: each round (the paper's "iteration") first updates the encoders of
the three branches with the shape decoder fixed, then builds dense correspondences from the
current reconstruction (closest input points for depth data, rasterised pixel-triangle
correspondences and barycentrics for colour data), fixes them *and* the encoders, and updates
the shape decoder. The paper trains 5 + 2 epochs per round for 3 rounds; here the phase
lengths are steps (the synthetic stream has no epochs).

* encoder phase: the network trains (BatchNorm in training mode); the decoder is frozen;
  correspondences are re-made from the current prediction at every step.
* decoder phase: the network is frozen and in eval mode (its BatchNorm statistics stay
  fixed); the decoder's corrective trains; correspondences come from a frozen copy of the
  decoder taken when the phase starts (:func:`snapshot`), so they stay those "obtained in the
  last step" for the whole phase, as in the paper.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from torch import nn

from training.config import OptimConfig, ScheduleConfig
from training.network.batchnorm import batchnorm_layers

__all__ = ["ENCODER", "DECODER", "AlternatingSchedule", "Phase", "apply_phase", "learning_rate_factor", "snapshot"]

ENCODER = "encoder"
DECODER = "decoder"


@dataclass(frozen=True)
class Phase:
    """A stretch of training: ``kind`` (encoder or decoder), its round (from 0), first global
    step and length in steps."""

    kind: str
    round: int
    start: int
    steps: int

    @property
    def end(self) -> int:
        return self.start + self.steps


class AlternatingSchedule:
    """``rounds`` x (encoder phase, decoder phase); phases of zero steps are skipped."""

    def __init__(self, config: ScheduleConfig):
        self.config = config
        phases, start = [], 0
        for r in range(config.rounds):
            for kind, steps in ((ENCODER, config.encoder_steps), (DECODER, config.decoder_steps)):
                if steps > 0:
                    phases.append(Phase(kind, r, start, steps))
                    start += steps
        self.phases = tuple(phases)
        self.total_steps = start

    def phase_at(self, step: int) -> Phase:
        """The phase that global ``step`` (from 0) belongs to (the last one past the end)."""
        for phase in self.phases:
            if step < phase.end:
                return phase
        return self.phases[-1]


def apply_phase(kind: str, network: nn.Module, decoder: nn.Module, frozen_batchnorm: bool = False,
                trainable: tuple[str, ...] = ()) -> None:
    """Freeze and unfreeze for a phase (see the module doc): ``requires_grad`` and train/eval.

    ``frozen_batchnorm``: in the encoder phase the network's BatchNorm layers stay in eval mode
    (they normalise with their running statistics and do not update them; their scale and
    shift still train), so training optimises the very function export ships.
    ``trainable``: parameter-name prefixes that train in the encoder phase (empty: all); every
    other part of the network is frozen and in eval mode."""
    if kind == ENCODER:
        network.requires_grad_(True).train()
        if trainable:
            _train_only(network, trainable)
        if frozen_batchnorm:
            for layer in batchnorm_layers(network):
                layer.eval()
        decoder.requires_grad_(False).eval()
    elif kind == DECODER:
        network.requires_grad_(False).eval()
        decoder.requires_grad_(True).train()
    else:
        raise ValueError(f"unknown phase {kind!r}")


def _train_only(network: nn.Module, prefixes: tuple[str, ...]) -> None:
    """Freeze every parameter of ``network`` whose name does not start with one of ``prefixes``,
    and put every module outside them in eval mode."""
    parameters = dict(network.named_parameters())
    if not any(name.startswith(prefixes) for name in parameters):
        raise ValueError(f"network.trainable {list(prefixes)} names no parameter of the network")
    for name, parameter in parameters.items():
        parameter.requires_grad_(name.startswith(prefixes))
    network.eval()
    for name, module in network.named_modules():
        if name and f"{name}.".startswith(prefixes):
            module.train()


def snapshot(decoder: nn.Module) -> nn.Module:
    """A frozen copy of the decoder, for the decoder phase's fixed correspondences."""
    frozen = copy.deepcopy(decoder)
    frozen.requires_grad_(False).eval()
    return frozen


def learning_rate_factor(step: int, total_steps: int, config: OptimConfig) -> float:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``min_lr_ratio`` at the end."""
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    span = max(1, total_steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
