"""`make audit`'s verdict on pip-audit's JSON report: fail when a locked dependency has a
known vulnerability with a fixed version (upgrade it: `make lock`); list those without a
fix but pass (nothing to upgrade to yet)."""

from __future__ import annotations

import json
import sys


def main(path: str) -> int:
    with open(path) as handle:
        dependencies = json.load(handle)["dependencies"]
    fixable, unfixed = [], []
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            line = f"{dep['name']} {dep['version']}: {vuln['id']}"
            if vuln.get("fix_versions"):
                fixable.append(f"{line} (fixed in {', '.join(vuln['fix_versions'])})")
            else:
                unfixed.append(f"{line} (no fix yet)")
    for line in unfixed + fixable:
        print(line)
    if not fixable:
        print(f"pip-audit: {len(dependencies)} locked packages, no known vulnerability with a fix")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
