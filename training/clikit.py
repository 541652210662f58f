"""How our command lines are built: ``python -m training`` and ``python -m batch``.

* :func:`new_parser` and :func:`add_command` make parsers whose ``prog`` is
  the command the user typed (``python -m training train``) and whose help
  shows every flag's default (:class:`HelpFormatter`); each subcommand
  carries its handler (``set_defaults(func=...)``), which :func:`run` calls.
* Value types (:func:`at_least`, :func:`non_negative`, :func:`comma_separated`)
  reject a bad value while parsing: exit 2 with a usage line naming the
  flag, before anything runs.

Kept free of heavy imports: parsing flags and ``--help`` import no MLflow,
scikit-learn or Ray.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from typing import TypeAlias

from rich.console import Console

#: A subcommand's handler: parsed flags and the stderr console -> exit code.
Handler = Callable[[argparse.Namespace, Console], int]
#: What ``add_subparsers()`` returns: subcommands are added to it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; each flag's help ends with its default.

    A help text that already says ``default`` (an environment variable, or a
    default that is not a value) is left as written; required flags say so.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.required:
            return f"{text} (required)"
        if "default" in text:
            return text
        default = f"default: {shown(action.default)}".replace("%", "%%")
        if text.endswith(")") and "(env " in text:  # "... (env NAME; default: value)"
            return f"{text[:-1]}; {default})"
        return f"{text} ({default})"


def shown(value: object) -> str:
    """A default as the user would type it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=HelpFormatter
    )


def add_command(
    commands: Commands,
    name: str,
    summary: str,
    handler: Handler,
    description: str = "",
) -> argparse.ArgumentParser:
    """A subcommand listed in the parent's ``--help`` with ``summary``, running ``handler``."""
    parser = commands.add_parser(
        name, help=summary, description=description or summary, formatter_class=HelpFormatter
    )
    parser.set_defaults(func=handler)
    return parser


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand's handler."""
    args = parser.parse_args(argv)
    handler: Handler = args.func
    return handler(args, Console(stderr=True))


def at_least(minimum: int) -> Callable[[str], int]:
    """An integer type refusing values below ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def non_negative(text: str) -> float:
    """A float >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def comma_separated(
    choices: Iterable[str], what: str, *, allow_empty: bool = False
) -> Callable[[str], tuple[str, ...]]:
    """A type for ``a,b,c``: a tuple of ``choices``, empty (``""``) only if ``allow_empty``."""
    allowed = tuple(choices)

    def parse(text: str) -> tuple[str, ...]:
        chosen = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [c for c in chosen if c not in allowed]
        if unknown or not (chosen or allow_empty):
            got = f"unknown {what} {', '.join(map(repr, unknown))}" if unknown else f"no {what}"
            raise argparse.ArgumentTypeError(f"{got}: choose from {', '.join(allowed)}")
        return chosen

    return parse
