"""Global CLI options shared by every command (set by the app callback)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CliState:
    verbose: bool = False
    quiet: bool = False


cli_state = CliState()
