"""The Makefile's targets for servers: they install only what the portal needs at run time."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _planned_commands(target: str) -> str:
    """What `make TARGET` would run from scratch (-B: as if nothing were installed; -n: run nothing)."""
    return subprocess.run(["make", "-n", "-B", target], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("target", ["install", "serve"])
def test_server_targets_install_the_runtime_requirements_only(target):
    """Do `make install` and `make serve` install requirements.txt into the venv and none of the test tools
    (requirements-dev.txt: pytest, playwright, ruff...)?"""
    commands = _planned_commands(target)
    assert "pip install -r requirements.txt" in commands
    assert "requirements-dev.txt" not in commands and "playwright" not in commands


def test_development_venv_still_installs_the_test_tools():
    """Does `make venv` (development) still install requirements-dev.txt?"""
    assert "pip install -r requirements-dev.txt" in _planned_commands("venv")
