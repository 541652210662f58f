"""python -m training: data, EDA, training and the Ray Tune search.

Every command is a make target (make data, make eda, make train, make tune);
python -m training COMMAND --help lists its flags and their defaults.
Flags win over the environment variables they default to (HEART_DATA_SOURCE,
MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME, RAY_ADDRESS).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from training import clikit, commands
from training.data import DataError
from training.tune import cli as tune_cli

PROG = "python -m training"


def build_parser() -> argparse.ArgumentParser:
    parser = clikit.new_parser(PROG, __doc__ or "")
    subcommands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    commands.add_commands(subcommands)
    tune_cli.add_command(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return clikit.run(build_parser(), argv)
    except DataError as exc:  # a bad or missing UCI file: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
