"""The alternating schedule: phase boundaries, what each phase freezes, the LR curve."""

from __future__ import annotations

import pytest
import torch

from training.config import OptimConfig, ScheduleConfig
from training.schedule import (
    DECODER,
    ENCODER,
    AlternatingSchedule,
    apply_phase,
    learning_rate_factor,
    snapshot,
)
from training.system import build_system, run_branches


def test_phases_alternate_for_the_configured_rounds() -> None:
    schedule = AlternatingSchedule(ScheduleConfig(rounds=3, encoder_steps=5, decoder_steps=2))
    assert schedule.total_steps == 21
    kinds = [(p.kind, p.round, p.start, p.steps) for p in schedule.phases]
    assert kinds == [(ENCODER, 0, 0, 5), (DECODER, 0, 5, 2), (ENCODER, 1, 7, 5), (DECODER, 1, 12, 2),
                     (ENCODER, 2, 14, 5), (DECODER, 2, 19, 2)]
    assert schedule.phase_at(4).kind == ENCODER and schedule.phase_at(5).kind == DECODER
    assert schedule.phase_at(7).round == 1 and schedule.phase_at(100) == schedule.phases[-1]
    no_decoder = AlternatingSchedule(ScheduleConfig(rounds=2, encoder_steps=3, decoder_steps=0))
    assert [p.kind for p in no_decoder.phases] == [ENCODER, ENCODER]


def test_learning_rate_warms_up_then_decays() -> None:
    config = OptimConfig(warmup_steps=10, min_lr_ratio=0.1)
    factors = [learning_rate_factor(s, 110, config) for s in range(111)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert factors[10] == pytest.approx(1.0) and factors[110] == pytest.approx(0.1)
    assert all(a >= b - 1e-12 for a, b in zip(factors[10:], factors[11:], strict=False))


def _params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> set[str]:
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


@pytest.mark.parametrize("phase", [ENCODER, DECODER])
def test_a_step_changes_exactly_what_the_phase_trains(phase, tiny_config, tiny_batch, face_model) -> None:
    torch.manual_seed(0)
    system = build_system(tiny_config, face_model)
    apply_phase(phase, system.net, system.decoder)
    if phase == DECODER:
        with torch.no_grad():  # a non-zero corrective, so the decoder's every parameter gets a gradient
            system.decoder.basis.normal_(0, 1e-4)
    trainable = {n for n, p in system.named_parameters() if p.requires_grad}
    if phase == ENCODER:
        assert trainable == {f"net.{n}" for n, _ in system.net.named_parameters()}
        assert system.net.training and not system.decoder.training
    else:
        assert trainable == {f"decoder.{n}" for n, _ in system.decoder.named_parameters()}
        assert not system.net.training and system.decoder.training
    reference = snapshot(system.decoder) if phase == DECODER else None
    optimizer = torch.optim.AdamW(system.parameters(), lr=1e-3)  # every parameter: freezing must do the work
    net_before, decoder_before = _params(system.net), _params(system.decoder)
    loss, logs = system(tiny_batch, phase, reference, with_colour=False)
    assert torch.isfinite(loss) and logs["total"] > 0
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    net_changed, decoder_changed = _changed(net_before, system.net), _changed(decoder_before, system.decoder)
    if phase == ENCODER:
        assert decoder_changed == set()
        weights = {n for n, p in system.net.named_parameters()}
        assert weights <= net_changed  # every network weight moved, BatchNorm statistics too
        assert any("running_mean" in n for n in net_changed)
    else:
        assert net_changed == set()  # weights and BatchNorm statistics untouched
        assert decoder_changed == {n for n, _ in system.decoder.named_parameters()}
        assert not any(p.requires_grad for p in reference.parameters())


def test_frozen_batchnorm_trains_weights_but_keeps_the_statistics(tiny_config, tiny_batch, face_model) -> None:
    """network.frozen_batchnorm: the encoder phase normalises with the running statistics
    (eval mode) and leaves them as they are; every weight, BatchNorm scale and shift included,
    still trains, and the network computes what the eval-mode network computes."""
    torch.manual_seed(0)
    system = build_system(tiny_config, face_model)
    apply_phase(ENCODER, system.net, system.decoder, frozen_batchnorm=True)
    norms = [m for m in system.net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms and system.net.training and not any(m.training for m in norms)
    others = [m for m in system.net.modules() if not isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert all(m.training for m in others)
    statistics = {k: v for k, v in _params(system.net).items() if "running_" in k or "num_batches" in k}
    optimizer = torch.optim.AdamW(system.parameters(), lr=1e-3)
    net_before = _params(system.net)
    with torch.no_grad():
        frozen = run_branches(system.net, tiny_batch)
        system.net.eval()
        evaluated = run_branches(system.net, tiny_batch)
        apply_phase(ENCODER, system.net, system.decoder, frozen_batchnorm=True)
    for branch, (params, _) in frozen.items():
        assert torch.allclose(params, evaluated[branch][0], atol=1e-6), branch
    loss, _ = system(tiny_batch, ENCODER, None, with_colour=False)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    changed = _changed(net_before, system.net)
    assert not (changed & set(statistics))
    assert {n for n, _ in system.net.named_parameters()} <= changed
