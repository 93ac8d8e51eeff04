"""JUnit XML for CI: one test case per WP (a stop is a failure with its reason)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from phase4gate.models import GateReport, StepStatus

__all__ = ["render_junit", "write_junit"]


def render_junit(report: GateReport) -> str:
    """Return the report as a JUnit XML document."""
    failures = sum(1 for s in report.steps if s.status is StepStatus.STOPPED)
    errors = sum(1 for s in report.steps if s.status is StepStatus.ERROR)
    skipped = sum(1 for s in report.steps if s.status is StepStatus.SKIPPED)
    suite = ET.Element(
        "testsuite",
        {
            "name": "phase4gate",
            "tests": str(len(report.steps)),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "timestamp": report.started_at.isoformat(),
        },
    )
    for s in report.steps:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": f"phase4gate.{report.run_id}",
                "name": s.wp,
                "time": f"{s.duration_seconds:.3f}",
            },
        )
        if s.status is StepStatus.STOPPED:
            kind = s.stop_kind.value if s.stop_kind else "stopped"
            node = ET.SubElement(case, "failure", {"type": kind, "message": f"[{kind}] {s.stop_condition}"})
            node.text = s.reason
        elif s.status is StepStatus.ERROR:
            ET.SubElement(case, "error", {"message": s.reason})
        elif s.status is StepStatus.SKIPPED:
            ET.SubElement(case, "skipped", {"message": s.reason})
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: GateReport, path: Path) -> None:
    """Write :func:`render_junit` to *path*."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_junit(report), encoding="utf-8")
