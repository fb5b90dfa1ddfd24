"""pip-audit of the runtime pins in requirements.txt, for `make audit` and the pip_audit step of .ci/run.

Exit status: 0 when no known vulnerability is found, and also when the advisory data cannot be reached (no
network, or a package index without PyPI's JSON API): then it says so clearly, because a CI machine without the
internet must still be able to run the rest. 1 when a pinned package has a known vulnerability (upgrade the pin
to a fixed version) or pip-audit itself fails in another way.

Only the direct pins are audited (`--no-deps`: every line of requirements.txt is pinned with ==, so pip need not
resolve anything); `.venv/bin/pip-audit` with no arguments audits the whole development environment.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

BIN = os.path.dirname(sys.executable)
COMMAND = [os.path.join(BIN, "pip-audit"), "-r", "requirements.txt", "--disable-pip", "--no-deps",
           "--progress-spinner", "off", "--format", "json"]
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded", "Failed to resolve",
               "Temporary failure in name resolution", "Network is unreachable", "timed out", "SSLError")


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        report_path = os.path.join(work, "report.json")
        run = subprocess.run([*COMMAND, "--output", report_path], capture_output=True, text=True, timeout=600)
        report = None
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as handle:
                text = handle.read().strip()
            report = json.loads(text) if text else None
    if report is None:
        if any(sign in run.stderr for sign in UNREACHABLE):
            print("pip-audit: the advisory data could not be reached (network error); NOT audited this time.")
            print("           Run `make audit` where https://pypi.org is reachable.")
            return 0
        print(run.stderr[-4000:], file=sys.stderr)
        print(f"pip-audit failed (exit status {run.returncode}) without a report.", file=sys.stderr)
        return 1
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = len(dependencies) - len(skipped)
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dependency['name']}=={dependency['version']}: {vuln['id']} (fixed in: {fixes})")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} pinned package(s) with known vulnerabilities: upgrade the pins.")
        return 1
    if dependencies and audited == 0:
        print(f"pip-audit: the advisory data could not be reached for any of the {len(dependencies)} pins "
              f"(e.g. {skipped[0]['name']}: {skipped[0]['skip_reason']}); NOT audited this time.")
        print("           Run `make audit` where https://pypi.org's JSON API is reachable.")
        return 0
    for dependency in skipped:
        print(f"not audited: {dependency['name']}: {dependency['skip_reason']}")
    print(f"pip-audit: {audited} pinned package(s) audited, no known vulnerabilities.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
