"""`lmio train` and `lmio eval` (filled in by the foundation work)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    del subparsers
