"""`triage --help` and every command's --help print their text (argparse formats help with %)."""

from __future__ import annotations

import pytest

from workers.cli import COMMANDS, main


def help_of(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal width


def test_top_level_help_lists_every_command_with_its_text(capsys):
    out = help_of(["--help"], capsys)
    for name in COMMANDS:
        assert name in out
    assert "%reproduction per stat key" in out
    assert "option_strings" not in out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_help_shows_its_description_and_options(command, capsys):
    out = help_of([command, "--help"], capsys)
    assert out.startswith(f"usage: triage {command}")
    assert COMMANDS[command] in out  # the description, with its % signs as written
    assert "option_strings" not in out
    assert "--help" in out.split("options:", 1)[1]
