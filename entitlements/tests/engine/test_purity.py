"""The engine is standard-library Python: importing it pulls in neither Django nor DRF."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PROBE = (
    "import sys, entitlements.engine; "
    "bad=[m for m in sys.modules if m.split('.')[0] in ('django','rest_framework')]; assert not bad, bad"
)


def test_engine_import__fresh_interpreter__no_django_or_drf_loaded() -> None:
    completed = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=False)

    assert completed.returncode == 0, completed.stderr
