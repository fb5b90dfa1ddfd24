"""Dependencies: pinned, and at or above the releases that fixed their known security problems."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The security floors of issue 9 (reportlab 3.6.13, for example, fixed code execution through color strings,
# CVE-2023-33733). requirements.txt states them in its first line too.
SECURITY_FLOORS = {"flask": (3, 1, 1), "xhtml2pdf": (0, 2, 19), "reportlab": (3, 6, 13)}


def pins(path: Path) -> dict[str, tuple[int, ...]]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([0-9][0-9.]*)", line)
        if match:
            found[match.group(1).lower()] = tuple(int(part) for part in match.group(3).split("."))
    return found


def test_every_runtime_dependency_is_pinned():
    """Is every line of requirements.txt an exact pin (so that pip-audit checks what is installed)?"""
    lines = [line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    lines = [line for line in lines if line]
    assert lines and len(pins(ROOT / "requirements.txt")) == len(lines), lines


def test_security_fixes_are_never_downgraded():
    """Are Flask, xhtml2pdf and reportlab pinned at or above the releases that fixed their known vulnerabilities,
    and is the installed version the pinned one?"""
    from importlib.metadata import version
    pinned = pins(ROOT / "requirements.txt")
    for name, floor in SECURITY_FLOORS.items():
        assert name in pinned, f"{name} is not pinned in requirements.txt"
        assert pinned[name] >= floor, f"{name} {pinned[name]} is below its security floor {floor}"
        assert tuple(int(p) for p in version(name).split(".")[:3]) == pinned[name][:3], name


def test_the_audit_tools_are_pinned_too():
    """Are hypothesis (tests) and pip-audit (the audit step) pinned, and pip-audit kept out of the test install?"""
    assert "hypothesis" in pins(ROOT / "requirements-dev.txt")
    assert "pip-audit" in pins(ROOT / "requirements-audit.txt")
    assert "pip-audit" not in pins(ROOT / "requirements-dev.txt")


def test_reportlab_runs_with_its_c_accelerator():
    """Does reportlab use its C accelerator (rl_accel: number formatting, string widths, escaping, checksums)
    rather than the pure-Python fallback, which made every PDF about a fifth slower?"""
    from reportlab.lib import rl_accel
    assert "rl-accel" in pins(ROOT / "requirements.txt")
    assert not rl_accel._py_funcs, sorted(rl_accel._py_funcs)  # the functions that fell back to Python
