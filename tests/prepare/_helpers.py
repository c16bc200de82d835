"""Helpers shared by the prepare tests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` by relative path, with its sha256."""
    return {
        str(Path(folder, name).relative_to(root)): hashlib.sha256(
            Path(folder, name).read_bytes()
        ).hexdigest()
        for folder, _, names in os.walk(root)
        for name in names
    }
