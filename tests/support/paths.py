"""Where the tests find the project and the shared specification and examples.

The shared folder is ``PCS_SHARED_DIR`` when set, else ``../shared`` beside the project, else
``/work/shared`` (this workplace's copy, for clones made elsewhere); tests that need it skip
when none exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from pcs.settings import PROJECT_ROOT


def _shared() -> Path:
    if os.environ.get("PCS_SHARED_DIR"):
        return Path(os.environ["PCS_SHARED_DIR"])
    beside = PROJECT_ROOT.parent / "shared"
    workplace = Path("/work/shared")
    return beside if beside.is_dir() or not workplace.is_dir() else workplace


__all__ = ["EXAMPLE", "EXAMPLE_2026", "EXAMPLE_DATA", "PROJECT_ROOT", "SHARED", "SPEC"]

SHARED = _shared()
SPEC = SHARED / "spec"
EXAMPLE = SHARED / "examples" / "small"  # the example folder and its expected scorecards
EXAMPLE_DATA = EXAMPLE / "data"  # its input data (snapshots 2023-01..2024-12)
EXAMPLE_2026 = SHARED / "examples" / "small-2026"  # across the 2026 revision (snapshots 2025-08..2027-07)
