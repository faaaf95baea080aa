"""`srdesk-cli train KIND`: every config field becomes a command-line option.

``--resume`` reloads the run folder's config.json and checkpoint; options
given on the command line override the saved ones (e.g. ``--steps`` to train
longer), so a run can be split over many short sittings. Without it, a run
folder that already holds a checkpoint is refused rather than overwritten.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

TRAINERS = ("sr", "pixel-recursive", "faces-regression")


def _config_class(kind: str) -> type:
    if kind == "sr":
        from srdesk.training.sr_trainer import SRConfig

        return SRConfig
    from srdesk.training.pr_trainer import PRConfig

    return PRConfig


def add_config_options(parser: argparse.ArgumentParser, config_class: type) -> None:
    for f in dataclasses.fields(config_class):
        if f.name == "extra":
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        if isinstance(default, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes", "on"), default=None,
                                metavar="BOOL", help=f"(default {default})")
        elif f.default_factory is not dataclasses.MISSING:  # lists
            parser.add_argument(flag, type=lambda s: [x for x in s.split(",") if x], default=None,
                                metavar="A,B", help="comma-separated")
        else:
            parser.add_argument(flag, type=type(default), default=None, help=f"(default {default})")


def build_config(kind: str, args: argparse.Namespace) -> Any:
    config_class = _config_class(kind)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_class)
             if f.name != "extra" and getattr(args, f.name, None) is not None}
    values: dict[str, Any] = {}
    run_dir = Path(given.get("run_dir", config_class().run_dir))
    if args.resume and (run_dir / "config.json").exists():
        values.update(json.loads((run_dir / "config.json").read_text()))
    values.update(given)
    return config_class(**values)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "export":
        from srdesk.training.export import main as export_main

        return export_main(argv[1:])
    if argv and argv[0] in ("pack", "recipe"):
        from srdesk.training.recipes import main as recipes_main

        return recipes_main(argv)
    parser = argparse.ArgumentParser(prog="srdesk-cli train", description="Train a model (resumable).")
    parser.add_argument("kind", choices=TRAINERS)
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    known, _ = parser.parse_known_args(argv)
    add_config_options(parser, _config_class(known.kind))
    args = parser.parse_args(argv)
    config = build_config(args.kind, args)
    from srdesk.training.trainer import Trainer

    # a fresh start in a run folder would overwrite its checkpoint at the first save
    if not args.resume and (Path(config.run_dir) / Trainer.checkpoint_name).exists():
        print(f"{config.run_dir} already holds a run (checkpoint.pt); pass --resume to continue it, or choose "
              "another --run-dir", file=sys.stderr)
        return 2
    if args.kind == "sr":
        from srdesk.training.sr_trainer import SRTrainer, apply_stage2_defaults

        trainer: Any = SRTrainer(apply_stage2_defaults(config) if not args.resume else config)
    elif args.kind == "pixel-recursive":
        from srdesk.training.pr_trainer import PRTrainer

        trainer = PRTrainer(config)
    else:  # the L2 baseline the Pixel Recursive evaluation compares against
        from srdesk.training.pr_trainer import RegressionTrainer

        trainer = RegressionTrainer(config)
    if args.resume:
        if trainer.resume():
            print(f"resumed {config.run_dir} at step {trainer.step}", file=sys.stderr)
        else:
            print(f"no checkpoint in {config.run_dir}; starting fresh", file=sys.stderr)

    def show(row: dict[str, Any]) -> None:
        text = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
        print(text, flush=True)

    trainer.fit(on_log=show)
    print(f"stopped at step {trainer.step}; checkpoint in {config.run_dir}", file=sys.stderr)
    return 0
