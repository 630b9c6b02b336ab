"""`python -m vhdcore blob ...` (placeholder until the page-blob writer lands)."""

from __future__ import annotations

import argparse
from typing import Any


def add_blob_commands(commands: Any) -> None:
    commands.add_parser("blob", help="blank VHDs in Azure page blobs")
