"""The training loop: alternating phases, AdamW with warm-up and cosine decay, gradient
clipping, TensorBoard, progress bar, atomic checkpoints and resume, DDP under torchrun.

A run lives in one folder::

    RUN_DIR/config.yaml        the resolved configuration (and config_hash.txt)
    RUN_DIR/checkpoints/       step_XXXXXXXX.pt, the newest few
    RUN_DIR/tb/                TensorBoard event files
    RUN_DIR/train.log          the log

Starting ``train`` on a folder that holds checkpoints resumes from the newest one (the
configuration must train the same thing: only run bookkeeping, data-loader workers, export and
evaluation settings may differ, see :func:`training.config.resume_differences`; the run keeps
the configuration hash it started with). A checkpoint is written every
``run.checkpoint_every`` steps, at the end, and when the process is asked to stop
(SIGINT / SIGTERM): the loop finishes the current step, saves, and returns.
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from models.face_model import load_face_model
from training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from training.config import TrainConfig, config_hash, resume_differences, save_config, to_dict
from training.data.sample import collate
from training.data.sources import build_dataset
from training.distributed import DistInfo, cleanup, setup
from training.schedule import DECODER, AlternatingSchedule, Phase, apply_phase, learning_rate_factor, snapshot
from training.system import TrainSystem, build_system

__all__ = ["ConfigMismatchError", "Trainer", "train"]

log = logging.getLogger(__name__)


# The decoder's large constant bases are buffers: never re-broadcast them every step.
_NO_BUFFER_SYNC = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
                   else {"broadcast_buffers": False})


class ConfigMismatchError(RuntimeError):
    """A run folder's checkpoints were made with another configuration."""


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it between steps."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum: int, frame: object) -> None:
        log.warning("signal %d: stopping after this step", signum)
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


# parts of the network a run may add to an init_from checkpoint that lacks them
INIT_FRESH_PREFIXES = ("aligned.",)


def _add_file_log(run_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    return handler


class Trainer:
    """Owns one run (see the module doc). ``device``: None (CUDA when present), cpu or cuda."""

    def __init__(self, config: TrainConfig, run_dir: Path, device: str | None = None, max_steps: int | None = None):
        self.config = config
        self.run_dir = Path(run_dir)
        self.dist: DistInfo = setup(device)
        if not self.dist.is_main:
            logging.getLogger("training").setLevel(logging.WARNING)  # one rank reports
        self.max_steps = max_steps
        torch.set_num_threads(config.run.torch_threads)
        torch.manual_seed(config.run.seed + self.dist.rank)
        self.schedule = AlternatingSchedule(config.schedule)
        self.system: TrainSystem = build_system(config, load_face_model()).to(self.dist.device)
        self.optimizer = torch.optim.AdamW([
            {"params": list(self.system.net.parameters()), "lr": config.optim.lr, "name": "encoder"},
            {"params": [p for n, p in self.system.decoder.named_parameters()], "lr": config.optim.decoder_lr,
             "name": "decoder"},
        ], weight_decay=config.optim.weight_decay)
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.step = 0
        self.run_hash = config_hash(config)
        self.reference_decoder: torch.nn.Module | None = None
        self._phase: Phase | None = None
        self._wrapped: torch.nn.Module = self.system
        self._writer = None

    # -- state --------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": to_dict(self.config),
            "config_hash": self.run_hash,
            "net": self.system.net.state_dict(),
            "decoder": self.system.decoder.state_dict(),
            "reference_decoder": None if self.reference_decoder is None else self.reference_decoder.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        problems = resume_differences(state["config"], self.config)
        if problems:
            raise ConfigMismatchError(
                f"the run in {self.run_dir} was trained with another configuration ({'; '.join(problems[:4])}); "
                "use another run folder")
        self.run_hash = state["config_hash"]  # the run keeps the identity it started with
        self.system.net.load_state_dict(state["net"])
        self.system.decoder.load_state_dict(state["decoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        if state.get("reference_decoder") is not None:
            self.reference_decoder = snapshot(self.system.decoder)
            self.reference_decoder.load_state_dict(state["reference_decoder"])

    def initialise_from(self, checkpoint: Path) -> None:
        """Start from the network and decoder weights of another run's ``checkpoint`` (its
        architecture must match this config's); the optimizer and the step stay fresh."""
        if not checkpoint.is_file():
            raise FileNotFoundError(f"run.init_from: no checkpoint at {checkpoint}")
        state = load_checkpoint(checkpoint, self.dist.device)
        try:
            missing, unexpected = self.system.net.load_state_dict(state["net"], strict=False)
            self.system.decoder.load_state_dict(state["decoder"])
        except RuntimeError as error:
            raise ConfigMismatchError(f"run.init_from: {checkpoint} holds another architecture ({error})") from error
        # a checkpoint from before the mesh-aligned steps: they start as initialised (zero
        # corrections, so the run starts from exactly the checkpoint's function)
        fresh = [k for k in missing if k.startswith(INIT_FRESH_PREFIXES)]
        if unexpected or len(fresh) != len(missing):
            raise ConfigMismatchError(f"run.init_from: {checkpoint} holds another architecture (missing "
                                      f"{sorted(set(missing) - set(fresh))[:5]}, unexpected {sorted(unexpected)[:5]})")
        log.info("initialised from %s (its step %d)%s", checkpoint, int(state["step"]),
                 f"; {len(fresh)} tensors of the mesh-aligned steps start fresh" if fresh else "")

    def save(self) -> Path | None:
        if not self.dist.is_main:
            return None
        return save_checkpoint(self.run_dir, self.step, self.state(), keep=self.config.run.keep_checkpoints)

    # -- phases -------------------------------------------------------------------------------

    def _enter_phase(self, phase: Phase) -> None:
        apply_phase(phase.kind, self.system.net, self.system.decoder, self.config.network.frozen_batchnorm,
                    self.config.network.trainable)
        if phase.kind == DECODER:
            if self.reference_decoder is None or (self._phase is not None and self._phase != phase):
                self.reference_decoder = snapshot(self.system.decoder)  # correspondences fixed from here
        else:
            self.reference_decoder = None
        if self.dist.distributed:
            # requires_grad changed: DDP must see the new set of trainable parameters
            ids = [self.dist.local_rank] if self.dist.device.type == "cuda" else None
            self._wrapped = DistributedDataParallel(self.system, device_ids=ids, **_NO_BUFFER_SYNC,
                                                    find_unused_parameters=self.config.run.ddp_find_unused)
        log.info("phase: %s, round %d, steps %d-%d", phase.kind, phase.round + 1, phase.start, phase.end)
        self._phase = phase

    def _set_lr(self) -> float:
        factor = learning_rate_factor(self.step, self.schedule.total_steps, self.config.optim)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = base * factor
        return factor

    # -- loop ---------------------------------------------------------------------------------

    def _loader(self) -> DataLoader:
        data = self.config.data
        # Data workers are single-threaded (numpy's BLAS, OpenMP, llvmpipe's rasteriser): they are
        # spawned processes, so they read these at start-up; the trainer's own threads are set.
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LP_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        dataset = build_dataset(data, self.config.crop, seed=self.config.run.seed, rank=self.dist.rank,
                                start_step=self.step)
        workers = data.num_workers
        return DataLoader(
            dataset, batch_size=data.batch_size, collate_fn=collate, num_workers=workers,
            multiprocessing_context="spawn" if workers > 0 else None, persistent_workers=workers > 0,
            prefetch_factor=data.prefetch_factor if workers > 0 else None,
            pin_memory=self.dist.device.type == "cuda",
        )

    def _log(self, logs: dict[str, float], lr_factor: float, rate: float) -> None:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter  # imported late: slow import

            self._writer = SummaryWriter(str(self.run_dir / "tb"))
        for name, value in logs.items():
            self._writer.add_scalar(name, value, self.step)
        self._writer.add_scalar("lr_factor", lr_factor, self.step)
        self._writer.add_scalar("steps_per_s", rate, self.step)
        self._writer.add_scalar("samples_per_s", rate * self.config.data.batch_size * self.dist.world_size, self.step)
        vertex = " ".join(f"{b}={logs[f'{b}/vertex_mm']:.1f}" for b in ("rgb", "depth", "rgbd")
                          if f"{b}/vertex_mm" in logs)
        log.info("step %d (%s): loss %.4f, vertex mm %s, %.3f steps/s", self.step, self._phase.kind if self._phase
                 else "?", logs["total"], vertex, rate)

    def run(self) -> Path | None:
        """Train to the end of the schedule (or ``max_steps``); returns the last checkpoint."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handler = _add_file_log(self.run_dir) if self.dist.is_main else None
        try:
            return self._run()
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
                handler.close()
            if self._writer is not None:
                self._writer.close()
            cleanup()

    def _run(self) -> Path | None:
        config = self.config
        latest = latest_checkpoint(self.run_dir)
        if latest is not None:
            self.restore(load_checkpoint(latest, self.dist.device))
            log.info("resumed from %s at step %d", latest, self.step)
        else:
            if config.run.init_from:
                self.initialise_from(Path(config.run.init_from))
            if self.dist.is_main:
                save_config(config, self.run_dir / "config.yaml")
                (self.run_dir / "config_hash.txt").write_text(config_hash(config) + "\n")
        end = self.schedule.total_steps if self.max_steps is None else min(self.schedule.total_steps, self.max_steps)
        if self.step >= end:
            log.info("nothing to do: the run is at step %d of %d", self.step, end)
            return latest
        batches = iter(self._loader())
        last_saved = latest
        progress = tqdm(total=end, initial=self.step, disable=not (self.dist.is_main and config.run.progress),
                        dynamic_ncols=True, desc=config.name)
        window_start, window_steps = time.perf_counter(), 0
        with _StopFlag() as stop:
            while self.step < end and not stop.requested:
                phase = self.schedule.phase_at(self.step)
                if phase != self._phase:
                    self._enter_phase(phase)
                batch = next(batches).to(self.dist.device)
                lr_factor = self._set_lr()
                with_colour = self.step % max(1, config.loss.colour_every) == 0
                loss, logs = self._wrapped(batch, phase.kind, self.reference_decoder, with_colour)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                trainable = [p for p in self.system.parameters() if p.requires_grad]
                grad_norm = torch.nn.utils.clip_grad_norm_(trainable, config.optim.grad_clip)
                self.optimizer.step()
                self.step += 1
                window_steps += 1
                progress.update(1)
                progress.set_postfix(loss=f"{logs['total']:.3f}", phase=phase.kind[:3])
                if self.dist.is_main and (self.step % config.run.log_every == 0 or self.step == end):
                    rate = window_steps / max(1e-9, time.perf_counter() - window_start)
                    logs["grad_norm"] = float(grad_norm)
                    self._log(logs, lr_factor, rate)
                    window_start, window_steps = time.perf_counter(), 0
                if self.step % config.run.checkpoint_every == 0:
                    last_saved = self.save() or last_saved
        progress.close()
        if last_saved is None or not str(last_saved).endswith(f"step_{self.step:08d}.pt"):
            last_saved = self.save() or last_saved
        log.info("stopped at step %d of %d", self.step, end)
        return last_saved


def train(config: TrainConfig, run_dir: Path, device: str | None = None, max_steps: int | None = None) -> Path | None:
    """Train (or resume) the run in ``run_dir``; returns the last checkpoint written."""
    return Trainer(config, run_dir, device=device, max_steps=max_steps).run()
