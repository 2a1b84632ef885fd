"""The parser itself: help for every flag, and messages that name what is wrong."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest
from cli_support import commands

from delegation import InvalidInput
from delegation.cli import build_parser, main, parse_duration

_NO_VALUE = (argparse._HelpAction, argparse._VersionAction, argparse._StoreTrueAction)


def flags(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            yield action


def test_every_flag_has_help_stating_its_default() -> None:
    """Every flag and argument is explained; an optional one says what happens without it."""
    for path, parser in commands(build_parser()):
        for action in flags(parser):
            where = f"{' '.join(path)} {action.dest}"
            assert action.help, where
            optional = action.option_strings and not action.required
            if (
                optional
                and not isinstance(action, _NO_VALUE)
                and not _one_of_required(parser, action)
            ):
                assert "default" in action.help, where


def _one_of_required(parser: argparse.ArgumentParser, action: argparse.Action) -> bool:
    """A member of a required either/or group (revoke's --token | --jti | ...) has no default."""
    return any(g.required and action in g._group_actions for g in parser._mutually_exclusive_groups)


def test_baseline_repeats_like_cap() -> None:
    """--baseline and --cap take one value each, repeated."""
    parsers = dict(commands(build_parser()))
    for path, dest in ((("mint",), "cap"), (("registry", "add-agent"), "baseline")):
        (action,) = [a for a in parsers[path]._actions if a.dest == dest]
        assert isinstance(action, argparse._AppendAction), path
        assert action.nargs is None


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["task", "open", "--task", "T", "--deadline", "-5m"], "duration '-5m' must be positive"),
        (["revoke", "--jti", "J", "--ttl", "-5m"], "duration '-5m' must be positive"),
        (["task", "open", "--task", "T", "--deadline", "999999d"], "the maximum is 365d"),
        (
            ["verify", "--chain", "c", "--proof", "p", "--registry", "r", "--aud", "a",
             "--tool", "t", "--resource", "r", "--label", "oops"],
            "invalid_request: --label 'oops' must look like NAME=VALUE",
        ),
    ],
)  # fmt: skip
def test_messages_name_what_is_wrong(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert len(err.splitlines()) == 1


def test_durations_have_a_stated_maximum() -> None:
    assert parse_duration("365d") == 365 * 86400
    for text in ("366d", "9" * 40, "-0"):
        with pytest.raises(InvalidInput, match=r"maximum is 365d|must be positive"):
            parse_duration(text)
