"""``python -m training``: train, export, import exported weights, evaluate, diagnose (and benchmark backbones).

Results are written through ``logging`` to standard output; errors end the command with one
line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from models.errors import FaceFromXError

__all__ = ["main"]

log = logging.getLogger("training")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description=(
        "Train the three-branch face network on synthetic data, export it to ONNX with sidecars, "
        "and evaluate the exported files on held-out synthetic sequences."))
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train or resume a run (DDP when launched by torchrun)")
    train.add_argument("--config", default="lite",
                       help="a YAML file, or a name in training/configs (lite, resnet50, smoke); default lite")
    train.add_argument("--run-dir", "--run", dest="run", type=Path, default=None,
                       help="run folder (default runs/NAME); resumes from its newest checkpoint "
                            "(spell it --run-dir under torchrun, whose own --run-path swallows --run)")
    train.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when present")
    train.add_argument("--max-steps", type=int, default=None, help="stop (with a checkpoint) after this step")
    train.add_argument("--no-progress", action="store_true", help="no progress bar (for log files)")
    train.add_argument("--init-from", type=Path, default=None, metavar="CHECKPOINT",
                       help="start a new run from this checkpoint's weights (sets run.init_from)")

    export = sub.add_parser("export", help="write each branch and the decoder corrective as ONNX + JSON sidecar")
    export.add_argument("--run", type=Path, required=True, help="run folder")
    export.add_argument("--checkpoint", type=Path, default=None, help="a checkpoint file (default: the newest)")
    export.add_argument("--out", type=Path, default=Path("assets"), help="output folder (default assets/)")
    export.add_argument("--tolerance", type=float, default=None,
                        help="largest allowed ONNX vs PyTorch difference (default: the run's export.tolerance)")
    export.add_argument("--float32-weights", dest="half_weights", action="store_false",
                        help="keep the weights in float32 (default: stored as float16, half the bytes)")
    export.add_argument("--calibration-batches", type=int, default=None, metavar="N",
                        help="re-average the BatchNorm statistics over N fresh training batches first "
                             "(default: the run's export.calibration_batches; 0 keeps training's)")

    warm = sub.add_parser("import", help="rebuild a checkpoint from exported branches (to continue shipped weights)")
    warm.add_argument("--assets", type=Path, default=Path("assets"), help="folder with rgb/depth/rgbd.onnx")
    warm.add_argument("--config", default="lite", help="the configuration whose network the branches fit")
    warm.add_argument("--out", type=Path, required=True,
                      help="folder to write checkpoints/step_00000000.pt into (then train --init-from it)")
    warm.add_argument("--batches", type=int, default=4, help="batches the BatchNorm statistics are measured on")

    evaluate = sub.add_parser("evaluate", help="held-out synthetic evaluation through ONNX Runtime")
    evaluate.add_argument("--assets", type=Path, default=Path("assets"), help="folder with the .onnx and .json files")
    evaluate.add_argument("--config", default=None, help="take the evaluation section from this config")
    evaluate.add_argument("--seeds", type=int, nargs="+", default=None, help="Performance seeds (1000 and up)")
    evaluate.add_argument("--frames", type=int, default=None, help="frames per seed")
    evaluate.add_argument("--write", action="store_true", help="write the figures into the sidecars")

    diagnose = sub.add_parser("diagnose", help="face-centre bias and identity learned, on training-distribution samples")
    diagnose.add_argument("--assets", type=Path, default=Path("assets"), help="folder with the .onnx and .json files")
    diagnose.add_argument("--config", default=None, help="take the data section from this config (default: defaults)")
    diagnose.add_argument("--samples", type=int, default=320, help="fresh synthetic samples (default 320)")
    diagnose.add_argument("--modes", type=int, default=10, help="first identity modes reported (default 10)")

    bench = sub.add_parser("benchmark", help="time backbone candidates through ONNX Runtime")
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--runs", type=int, default=50)
    bench.add_argument("--train", action="store_true", help="also measure PyTorch training throughput")
    bench.add_argument("--only", nargs="+", default=None, metavar="BACKBONE@WIDTH@SIZE",
                       help="candidates like mobilenet_v3_large@0.75@128 (default: the built-in list)")
    return parser


def _train(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from training.config import load_config
    from training.loop import train

    config = load_config(args.config)
    if args.no_progress:
        config = replace(config, run=replace(config.run, progress=False))
    if args.init_from is not None:
        config = replace(config, run=replace(config.run, init_from=str(args.init_from)))
    run = args.run or Path("runs") / config.name
    last = train(config, run, device=args.device, max_steps=args.max_steps)
    log.info("last checkpoint: %s", last)


def _export(args: argparse.Namespace) -> None:
    from training.export import export_run

    export_run(args.run, args.out, checkpoint=args.checkpoint, tolerance=args.tolerance,
               half_weights=args.half_weights, calibration_batches=args.calibration_batches)


def _import(args: argparse.Namespace) -> None:
    from training.config import load_config
    from training.warm_start import checkpoint_from_assets

    path = checkpoint_from_assets(load_config(args.config), args.assets, args.out, batches=args.batches)
    log.info("checkpoint written: %s (train --init-from %s)", path, path)


def _evaluate(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from training.config import EvalConfig, load_config
    from training.evaluate import evaluate_assets, format_results

    config = load_config(args.config).evaluation if args.config else EvalConfig()
    if args.seeds:
        if min(args.seeds) < 1000:
            raise ValueError("evaluation seeds must be 1000 or more (seeds below are training's)")
        config = replace(config, seeds=tuple(args.seeds))
    if args.frames:
        config = replace(config, frames_per_seed=args.frames)
    results = evaluate_assets(args.assets, config, write=args.write)
    log.info("%s", format_results(results))


def _diagnose(args: argparse.Namespace) -> None:
    from training.config import load_config
    from training.diagnose import diagnose_assets, format_diagnosis

    data = load_config(args.config).data if args.config else None
    if args.samples < 8:
        raise ValueError("diagnose needs at least 8 samples")
    log.info("%s", format_diagnosis(diagnose_assets(args.assets, data, samples=args.samples, modes=args.modes)))


def _benchmark(args: argparse.Namespace) -> None:
    from training.network.benchmark import CANDIDATES, benchmark, format_table

    candidates = CANDIDATES
    if args.only:
        candidates = tuple((name, float(width), int(size)) for name, width, size in
                           (item.split("@") for item in args.only))
    rows = benchmark(candidates, threads=args.threads, runs=args.runs, train=args.train)
    log.info("%s", format_table(rows))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s",
                        stream=sys.stdout)
    commands = {"train": _train, "export": _export, "import": _import, "evaluate": _evaluate, "diagnose": _diagnose, "benchmark": _benchmark}
    try:
        commands[args.command](args)
    except (OSError, ValueError, RuntimeError, KeyError, FaceFromXError) as exc:
        sys.stderr.write(f"python -m training {args.command}: {exc}\n")
        return 2
    return 0
