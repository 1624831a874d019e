"""Where the histories with known verdicts live: tests/data (vendored), or
$SPLITBRAIN_SHARED_DATA."""
from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("SPLITBRAIN_SHARED_DATA",
                                  Path(__file__).resolve().parent / "data"))
PORCUPINE = SHARED_DATA / "porcupine"
