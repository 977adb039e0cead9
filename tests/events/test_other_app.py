"""A subscriber registered from another app's ``ready()`` hears the domain events, and ``entitlements`` never imports
that app (the layers contract in ``pyproject.toml`` forbids it; ``tests/test_architecture.py`` runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_other_app__subscribes_in_ready__receives_committed_override_events_only(tmp_path: Path) -> None:
    # Given an app that subscribes to override events in its ready(), in a process of its own on an empty database
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL"}}
    env |= {
        "DJANGO_SETTINGS_MODULE": "tests.events.event_app.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'events.sqlite3'}",
        "PERIODIC_JOBS_IN_SERVER": "false",
    }
    # When an override is granted and revoked through the API, and another grant rolls back
    result = subprocess.run(
        [sys.executable, "-m", "tests.events.event_app.scenario"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Then it received one delivery per committed transaction, and nothing of the rolled-back one
    received = json.loads(result.stdout.strip().splitlines()[-1])
    assert received == [["OverrideGranted"], ["OverrideRevoked"]]
