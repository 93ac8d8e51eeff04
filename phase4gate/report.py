"""The report's projections of the journal: ``report.json``, ``report.md``, and JUnit XML for CI.

The report is a fold of the append-only journal (:func:`phase4gate.journal.report_from_journal`);
these are its views.  ``report.json``/``report.md`` are replaced atomically on each
invocation (they are projections, not write-once evidence) and the journal prefix they
project is sealed (``journal-heads/<N>.sha256``); ``phase4gate verify`` re-projects that
prefix and requires the files to equal it.  JUnit (``--junit FILE``) has one test case per
WP: a stop is a failure with its reason, an error an error, a skipped WP skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from phase4gate.models import GateReport, StepStatus

if TYPE_CHECKING:
    from phase4gate.journal import Journal

__all__ = ["project_run", "render_junit", "render_report_markdown", "write_junit", "write_report_files"]


def render_report_markdown(report: GateReport) -> str:
    """Render the report as Markdown: WP x status x stop kind x reason x duration."""
    lines = [
        f"# phase4gate report — run {report.run_id}",
        "",
        f"Verdict: **{report.verdict.value}**"
        + (" (DRY RUN: nothing was written or installed)" if report.dry_run else ""),
        "",
        "| WP | status | stop kind | reason | duration |",
        "|---|---|---|---|---|",
    ]
    for s in report.steps:
        reason = s.reason.replace("|", "\\|").replace("\n", " ")
        if s.stop_condition:
            reason = f"{s.stop_condition}: {reason}"
        kind = s.stop_kind.value if s.stop_kind else ""
        lines.append(f"| {s.wp} | {s.status.value} | {kind} | {reason} | {s.duration_seconds:.1f}s |")
    from phase4gate.checks.citations import report_citation_lines  # noqa: PLC0415

    lines += report_citation_lines(report.steps)  # executor runs (GitHub Actions); none for local runs
    return "\n".join(lines) + "\n"


def _write(run_dir: Path, report: GateReport, journal: Journal, *, projects: bool) -> None:
    from phase4gate import convert  # noqa: PLC0415
    from phase4gate.adapters.store import EvidenceStore, replace_projection  # noqa: PLC0415

    if journal.lines and projects:
        # Seal the journal prefix this report projects (verify checks the report against it).
        EvidenceStore(run_dir).seal_head(len(journal.lines), journal.head)
    from phase4gate.checks.citations import report_json_data  # noqa: PLC0415

    replace_projection(run_dir / "report.json", convert.dumps(report_json_data(report)))
    replace_projection(run_dir / "report.md", render_report_markdown(report))


def write_report_files(run_dir: Path, report: GateReport) -> None:
    """Write ``report.json`` and ``report.md`` beside the journal.

    The report is a projection of the append-only journal (``phase4gate status``
    re-derives it), so it is replaced atomically on each invocation rather than
    being write-once evidence; ``phase4gate verify`` checks it against the journal.
    The journal's head is sealed only when *report* is the projection of the whole journal.
    """
    from phase4gate.journal import read_journal_file, report_from_journal  # noqa: PLC0415

    journal = read_journal_file(run_dir / "journal.jsonl")
    projects = bool(journal.lines) and report_from_journal(journal.lines, source=journal.source) == report
    _write(run_dir, report, journal, projects=projects)


def project_run(run_dir: Path) -> GateReport:
    """Fold the journal as it stands into the report, write the report files and seal the head they project.

    The journal is read and folded once (:func:`write_report_files` folds it again to check
    a report it was handed).

    Raises:
        InputError: the journal cannot be read or folded.
    """
    from phase4gate.journal import read_journal_file, report_from_journal  # noqa: PLC0415

    journal = read_journal_file(run_dir / "journal.jsonl")
    report = report_from_journal(journal.lines, source=str(run_dir / "journal.jsonl"))
    _write(run_dir, report, journal, projects=True)
    return report


def render_junit(report: GateReport) -> str:
    """Return the report as a JUnit XML document."""
    import xml.etree.ElementTree as ET  # noqa: PLC0415 - only --junit needs it

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
