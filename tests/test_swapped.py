"""A swapped Application model and a custom APPLICATION_ADMIN_CLASS, in a process of their own.

The swappable model must be chosen before Django starts, so these tests run in a
separate pytest process with tests.swapped.settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_swapped_application_model_and_custom_admin_class():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.swapped.settings"}
    env.pop("COVERAGE_PROCESS_START", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-cov",
            "--ds=tests.swapped.settings",
            "--nomigrations",
            "tests/swapped/swapped_suite.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
