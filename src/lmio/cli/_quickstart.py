"""`lmio quickstart`: the main job on the embedded corpus (filled in by the foundation work)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("quickstart", help="run the whole pipeline on a small corpus")
    parser.set_defaults(handler=lambda args: 0)
