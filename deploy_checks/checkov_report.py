"""Judge a checkov JSON report: zero failed, something scanned, every skip with a reason.

    python -m deploy_checks.checkov_report REPORT.json LABEL

Prints "passed/skipped/resources" and writes the skipped check ids to REPORT.json.skips. checkov
prints bare zero counts when a runner did not run (e.g. helm missing from PATH), so "nothing
scanned" is a failure, not a pass.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ReportError(Exception):
    """The report shows a failure, or that nothing was checked."""


@dataclass
class Totals:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    resources: int = 0
    skipped_ids: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


def tally(data: Any, label: str) -> Totals:
    reports = data if isinstance(data, list) else [data]
    if not reports or all(not report for report in reports):
        raise ReportError(f"{label}: checkov produced no report: it scanned nothing")
    totals = Totals()
    listed_skips = 0
    for report in reports:
        summary = report.get("summary", report)
        if summary.get("parsing_errors"):
            raise ReportError(f"{label}: {summary['parsing_errors']} parsing errors")
        totals.passed += summary["passed"]
        totals.failed += summary["failed"]
        totals.skipped += summary["skipped"]
        totals.resources += summary.get("resource_count", 0)
        results = report.get("results", {})
        for check in results.get("failed_checks", []):
            totals.failures.append(
                f"{label}: FAILED {check['check_id']} {check['check_name']}"
                f" in {check.get('resource')} ({check.get('file_path')})"
            )
        for check in results.get("skipped_checks", []):
            listed_skips += 1
            reason = (check.get("check_result") or {}).get("suppress_comment") or ""
            if not reason.strip():
                raise ReportError(
                    f"{label}: {check['check_id']} skipped without a reason in {check.get('resource')}"
                )
            totals.skipped_ids.add(check["check_id"])
    if totals.passed == 0 or totals.resources == 0:
        raise ReportError(
            f"{label}: checkov scanned nothing (passed={totals.passed},"
            f" resources={totals.resources}): is helm on PATH?"
        )
    if totals.failed:
        raise ReportError(
            "\n".join(
                [
                    *totals.failures,
                    f"{label}: {totals.failed} failed checks"
                    f" (passed={totals.passed}, resources={totals.resources})",
                ]
            )
        )
    if totals.skipped != listed_skips:
        raise ReportError(
            f"{label}: the report lists fewer skipped checks than it counts (run without --quiet)"
        )
    return totals


def main(argv: list[str]) -> int:
    path, label = Path(argv[0]), argv[1]
    try:
        totals = tally(json.loads(path.read_text()), label)
    except ReportError as error:
        print(error, file=sys.stderr)
        return 1
    Path(f"{path}.skips").write_text("".join(f"{i}\n" for i in sorted(totals.skipped_ids)))
    print(f"{totals.passed}/{totals.skipped}/{totals.resources}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
