"""Our command lines (``python -m training``, ``python -m batch``) keep one set of rules.

Every subcommand is listed with a one-line summary; every flag has help that
shows its default; ``prog`` is what the user typed; a wrong value exits 2
with a usage line naming that flag, before anything runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator

import pytest

from batch import cli as batch_cli
from training import cli as training_cli
from training.clikit import HelpFormatter

pytestmark = pytest.mark.unit

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "python -m training": training_cli.build_parser,
    "python -m batch": batch_cli.build_parser,
}
COMMANDS = {
    "python -m training": ["data", "eda", "train", "tune"],
    "python -m batch": ["score", "bench"],
}


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    """The parser's subcommands (argparse has no public way to list them)."""
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return action


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return dict(_subparsers(parser).choices)


def _options(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    for sub in _subcommands(parser).values():
        for action in sub._actions:
            if action.option_strings and action.default is not argparse.SUPPRESS:
                yield sub.prog, action


def _help(prog: str, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """What ``PROG ARGV --help`` prints."""
    with pytest.raises(SystemExit) as exit_info:
        PARSERS[prog]().parse_args([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_help_lists_every_command_with_its_summary(
    prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(prog, capsys)
    assert text.startswith(f"usage: {prog} [-h] COMMAND ...")
    subcommands = _subcommands(PARSERS[prog]())
    assert sorted(subcommands) == sorted(COMMANDS[prog])
    helps = {a.dest: a.help for a in _subparsers(PARSERS[prog]())._choices_actions}
    for name in COMMANDS[prog]:
        summary = helps[name]
        assert summary and "\n" not in summary and len(summary) <= 55, (name, summary)
        assert f"    {name:<10}{summary}\n" in text, name


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_each_command_is_named_as_typed(prog: str, capsys: pytest.CaptureFixture[str]) -> None:
    for name, sub in _subcommands(PARSERS[prog]()).items():
        assert sub.prog == f"{prog} {name}"
        assert sub.get_default("func") is not None, f"{name} has no handler"
    usage = _help(prog, capsys, COMMANDS[prog][0]).splitlines()[0]
    assert usage.startswith(f"usage: {prog} {COMMANDS[prog][0]} [-h]")


@pytest.mark.parametrize("prog", sorted(PARSERS))
def test_every_flag_has_help_and_shows_its_default(prog: str) -> None:
    checked = 0
    for where, action in _options(PARSERS[prog]()):
        flag = f"{where} {action.option_strings[0]}"
        assert action.help, f"{flag}: no help"
        assert action.option_strings[0].replace("--", "").islower(), flag
        assert "_" not in action.option_strings[0], f"{flag}: use dashes"
        shown = HelpFormatter(where)._get_help_string(action) or ""
        assert "default" in shown or "(required)" in shown, f"{flag}: {shown}"
        assert "default: None" not in shown, f"{flag}: say what no value means"
        checked += 1
    assert checked > 15  # the walk found the subcommands' flags


def test_defaults_are_shown_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    parser = _subcommands(training_cli.build_parser())["tune"]
    shown = {a.dest: HelpFormatter("tune")._get_help_string(a) or "" for a in parser._actions}
    assert shown["families"].endswith(
        "(default: random_forest,logistic_regression,gradient_boosting)"
    )
    assert shown["resume"].endswith("(default: off)")
    assert shown["tracking_uri"].endswith("(env MLFLOW_TRACKING_URI; default: sqlite:///mlflow.db)")
    assert shown["ray_address"].endswith("(env RAY_ADDRESS; default: auto)")  # the value in force


@pytest.mark.parametrize(
    ("prog", "argv", "flag"),
    [
        ("python -m batch", ["score", "--batch-size", "0"], "--batch-size"),
        ("python -m batch", ["score", "--engine", "tensorrt"], "--engine"),
        ("python -m batch", ["score", "--backend", "spark"], "--backend"),
        ("python -m batch", ["score", "--num-cpus", "0"], "--num-cpus"),
        ("python -m batch", ["bench", "--rows", "ten"], "--rows"),
        ("python -m batch", ["bench", "--max-ratio", "-1"], "--max-ratio"),
        ("python -m training", ["train", "--folds", "1"], "--folds"),
        ("python -m training", ["train", "--repeats", "0"], "--repeats"),
        ("python -m training", ["train", "--jobs", "0"], "--jobs"),
        ("python -m training", ["tune", "--num-samples", "0"], "--num-samples"),
        ("python -m training", ["tune", "--time-budget-s", "-5"], "--time-budget-s"),
        ("python -m training", ["tune", "--time-budget-s", "nan"], "--time-budget-s"),
        ("python -m training", ["tune", "--max-concurrent", "0"], "--max-concurrent"),
        ("python -m training", ["tune", "--families", ""], "--families"),
        ("python -m training", ["tune", "--external-sites", "ohio"], "--external-sites"),
    ],
)
def test_a_wrong_value_exits_2_naming_its_flag(
    prog: str, argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    required = ["--input", "in.csv", "--output", "out.csv"] if argv[0] == "score" else []
    with pytest.raises(SystemExit) as exit_info:
        PARSERS[prog]().parse_args([*argv, *required])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith(f"usage: {prog} {argv[0]} ")
    assert err[-1].startswith(f"{prog} {argv[0]}: error: argument {flag}"), err[-1]
