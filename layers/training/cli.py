"""``gradcheck train MODEL …`` (or ``python -m layers.training``): train a model, write curves and metrics."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gradcheck.usage import ArgumentParser, UsageError, usage_error
from layers.training.config import MODELS, TORCH_MODELS, TrainConfig, default_config
from layers.training.data import DATASETS, DatasetNotFoundError

__all__ = ["UsageError", "build_parser", "main"]

PROG = "gradcheck train"


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths such as 100,100, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"widths must be >= 1, got {text!r}")
    return values


def _betas(text: str) -> tuple[float, float]:
    try:
        b1, b2 = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two floats such as 0.9,0.999, got {text!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise argparse.ArgumentTypeError(f"betas must lie in [0, 1), got {text!r}")
    return b1, b2


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a float >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a float >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; unset options take the model's defaults for the data set (docs/training.md)."""
    p = ArgumentParser(prog=PROG, description="Train a verified model and draw its loss and accuracy curves.")
    p.add_argument("model", metavar="MODEL", choices=MODELS, help=f"one of {', '.join(MODELS)}")
    p.add_argument("--dataset", choices=DATASETS, default="digits", help="digits (default, offline) or cifar10")
    p.add_argument("--data-dir", default="data", help="folder holding cifar-10-batches-py/ (default: data)")
    p.add_argument("--out-dir", help="where curves.png and metrics.json go (default: out/train/MODEL)")
    p.add_argument("--seed", type=int, default=42, help="seeds the split, the batches and the initialisation")
    p.add_argument("--steps", type=_positive(int), help="optimiser steps")
    p.add_argument("--batch-size", type=_positive(int), help="examples per step")
    p.add_argument("--lr", type=_positive(float), help="learning rate")
    p.add_argument("--eval-every", type=_positive(int), help="evaluate on the test set every N steps")
    p.add_argument("--hidden", type=_ints, help="MLP hidden widths, e.g. 100,100")
    p.add_argument("--weight-decay", type=_non_negative_float, help="Adam weight decay (torch models)")
    p.add_argument("--betas", type=_betas, help="Adam betas, e.g. 0.9,0.999 (torch models)")
    p.add_argument("--custom", action="store_true", help="use the project's own Functions (torch models)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--threads", type=_positive(int), help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--subset", type=_positive(int), help="keep only the first N training and N test examples")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The model's defaults for the data set, overridden by the options given.

    Raises:
        UsageError: an option does not apply to the model.
    """
    torch_only = {
        "weight_decay": "--weight-decay",
        "betas": "--betas",
        "custom": "--custom",
        "threads": "--threads",
    }
    if args.model not in TORCH_MODELS:
        for key, flag in torch_only.items():
            if getattr(args, key) not in (None, False):
                raise UsageError(f"{flag} applies to the torch models (mlp-torch, convnet), not {args.model}")
    if args.model == "convnet" and args.hidden is not None:
        raise UsageError("--hidden applies to the MLPs (mlp-numpy, mlp-torch), not convnet")
    overrides = {
        key: getattr(args, key)
        for key in ("steps", "batch_size", "lr", "eval_every", "hidden", "weight_decay", "betas", "subset", "threads")
        if getattr(args, key) is not None
    }
    return replace(
        default_config(args.model, args.dataset),
        seed=args.seed,
        custom=args.custom,
        device=args.device,
        **overrides,
    )


def _check_device(device: str) -> None:
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"--device: unknown torch device {device!r}; pass cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: CUDA is not available here; pass --device cpu")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, train, write ``curves.png`` and ``metrics.json``; 0 on success, 2 on a usage error."""
    from layers.training.run import prepare_data, run

    try:
        args = build_parser().parse_args(argv)
        config = config_from_args(args)
        if config.model in TORCH_MODELS:
            _check_device(config.device)
        data = prepare_data(config, args.data_dir)
        if config.batch_size > data.x_train.shape[0]:
            raise UsageError(
                f"--batch-size {config.batch_size} exceeds the {data.x_train.shape[0]} training examples; "
                "pass a smaller batch size"
            )
    except (UsageError, DatasetNotFoundError) as exc:
        return usage_error(PROG, exc)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0

    out_dir = Path(args.out_dir) if args.out_dir else Path("out", "train", config.model)
    result = run(config, out_dir=out_dir, data=data, progress=not args.no_progress)
    m = result.metrics
    print(
        f"{config.model} on {config.dataset}: final test accuracy {m['final_test_accuracy']:.4f} "
        f"(best {m['best_test_accuracy']:.4f} at step {m['best_step']}), final test loss "
        f"{m['final_test_loss']:.4f}, {m['seconds']:.1f} s; "
        f"wrote {result.curves_path} and {result.metrics_path}"
    )
    return 0
