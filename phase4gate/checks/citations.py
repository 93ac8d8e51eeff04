"""Executor citations of canary runs: which executor run (a GitHub Actions run) each canary run was.

A canary step (WP04, WP05; WP07 for Teamspace runs) that ran its canary elsewhere records, in run order,
``executor_run_ids`` and ``executor_run_urls`` (comma-separated, see
:mod:`phase4gate.canary_protocol`); the local executor records neither.  Beside
``<attempt>/runs/run-N.json`` the GitHub Actions executor keeps
``run-N.actions.json`` (the run's metadata: ``id``, ``run_number``,
``run_attempt``, ``html_url``, ``head_sha``, ...) and ``run-N.artifact.zip`` (the
artifact as downloaded); both are optional here.

Everything in this module is pure: pairing citations with run files, parsing the
Actions metadata, and the citation lines of the gate report (Markdown and JSON).
A run folder whose canary steps cite nothing projects exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from attrs import frozen

from phase4gate.errors import InputError

if TYPE_CHECKING:
    from phase4gate.models import FactValue, GateReport, StepResult

__all__ = [
    "ACTIONS_META_SUFFIX",
    "ARTIFACT_SUFFIX",
    "CANARY_STEPS",
    "ActionsRun",
    "Citation",
    "CitedRun",
    "actions_meta_path",
    "artifact_path",
    "citation_problem",
    "citation_refusal",
    "cited_runs",
    "parse_actions_run",
    "parse_citations",
    "render_link",
    "report_citation_lines",
    "report_citations_json",
    "report_json_data",
]

ACTIONS_META_SUFFIX: Final = ".actions.json"
ARTIFACT_SUFFIX: Final = ".artifact.zip"
# The steps whose facts may cite executor runs, in report order (WP07: Teamspace runs, when its executor cites them).
CANARY_STEPS: Final = ("WP04", "WP05", "WP07")

_RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# A URL shown as a Markdown link target: no space, bracket, parenthesis, angle bracket, backtick or pipe.
_URL_RE = re.compile(r"^https?://[^\s()\[\]<>`|\"']{1,2000}$")
_RUN_FILE_RE = re.compile(r"(?:^|/)run-(?P<n>[0-9]+)\.json$")
_TEAMSPACE_LOG_RE = re.compile(r"(?:^|/)teamspace-run-(?P<n>[0-9]+)\.log$")


@frozen
class Citation:
    """One executor run a canary run was: its id and URL."""

    run_id: str
    url: str


@frozen
class CitedRun:
    """A canary run of one step with its executor citation, as the report lists it."""

    wp: str
    number: int
    run_file: str | None
    citation: Citation


@frozen
class ActionsRun:
    """The part of ``run-N.actions.json`` the comments and the attestation state."""

    id: str
    html_url: str | None = None
    run_number: int | None = None
    run_attempt: int | None = None
    head_sha: str | None = None


def _split(value: FactValue) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    return [p.strip() for p in str(value).split(",") if p.strip()]


def parse_citations(facts: Mapping[str, FactValue]) -> tuple[Citation, ...]:
    """Return the executor citations a step's *facts* record, in run order (empty when none).

    An id without a URL keeps an empty URL; extra URLs are ignored here and named by
    :func:`citation_problem`.
    """
    ids = _split(facts.get("executor_run_ids"))
    urls = _split(facts.get("executor_run_urls"))
    return tuple(Citation(run_id, urls[i] if i < len(urls) else "") for i, run_id in enumerate(ids))


def citation_problem(facts: Mapping[str, FactValue], run_files: Sequence[str]) -> str | None:
    """Return why a step's citations cannot be paired with its *run_files*, or ``None`` when they can.

    Paired by position: the protocol records one citation per run, in run order.
    Every id must be a plain token and every URL an ``http(s)`` URL that stays a
    Markdown link target.
    """
    ids = _split(facts.get("executor_run_ids"))
    urls = _split(facts.get("executor_run_urls"))
    if not ids and not urls:
        return None
    if len(ids) != len(urls):
        return f"{len(ids)} executor run id(s) but {len(urls)} URL(s): they cannot be paired"
    if len(ids) != len(run_files):
        return f"{len(ids)} executor run id(s) for {len(run_files)} run file(s): cannot tell which run each cites"
    for run_id, url in zip(ids, urls, strict=True):
        why = citation_refusal(Citation(run_id, url))
        if why is not None:
            return why
    return None


def citation_refusal(citation: Citation) -> str | None:
    """Return why *citation* cannot be shown as a Markdown link, or ``None``.

    The id must be a plain token and the URL an ``http(s)`` URL without spaces,
    brackets, parentheses, quotes, backticks or pipes (it is shown verbatim).
    """
    if not _RUN_ID_RE.match(citation.run_id):
        return f"executor run id {citation.run_id!r} is not a plain token"
    if not _URL_RE.match(citation.url):
        return f"executor run URL {citation.url!r} is not an http(s) URL that can be shown as a link"
    return None


def render_link(citation: Citation) -> str:
    """Return the citation as Markdown: ``[id](url)``, or the id in a code span when there is no URL."""
    return f"[{citation.run_id}]({citation.url})" if citation.url else f"`{citation.run_id}`"


def _run_number(run_file: str) -> int | None:
    m = _RUN_FILE_RE.search(run_file) or _TEAMSPACE_LOG_RE.search(run_file)
    return int(m.group("n")) if m else None


def cited_runs(wp: str, facts: Mapping[str, FactValue]) -> tuple[CitedRun, ...]:
    """Return the runs of one canary step with their citations, numbered from their run files.

    Citations that do not pair with the run files are numbered by position and
    carry no run file (the report still shows what the journal says).
    """
    citations = parse_citations(facts)
    if not citations:
        return ()
    files = (
        _split(facts.get("run_files")) or _split(facts.get("single_run_file")) or _split(facts.get("teamspace_logs"))
    )
    paired = len(files) == len(citations)
    out: list[CitedRun] = []
    for i, c in enumerate(citations):
        run_file = files[i] if paired else None
        number = (_run_number(run_file) if run_file else None) or i + 1
        out.append(CitedRun(wp, number, run_file, c))
    return tuple(out)


def _report_runs(steps: Iterable[StepResult]) -> list[CitedRun]:
    by_wp = {s.wp: s for s in steps}
    return [r for wp in CANARY_STEPS if wp in by_wp for r in cited_runs(wp, by_wp[wp].facts)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def report_citation_lines(steps: Iterable[StepResult]) -> list[str]:
    """Return the report's "Canary runs by executor" Markdown section (no lines when nothing was cited).

    One row per cited run: WP, run number, the executor run id linked to its URL,
    and the run file.  Values that could break the table are shown in code spans.
    """
    runs = _report_runs(steps)
    if not runs:
        return []
    lines = [
        "",
        "## Canary runs by executor",
        "",
        "| WP | run | run_id | run file |",
        "|---|---|---|---|",
    ]
    for r in runs:
        shown = (
            render_link(r.citation)
            if citation_refusal(r.citation) is None
            else f"`{_cell(r.citation.run_id)}` ({_cell(r.citation.url)})"
        )
        run_file = f"`{_cell(r.run_file)}`" if r.run_file else "(not paired with a run file)"
        lines.append(f"| {r.wp} | {r.number} | {shown} | {run_file} |")
    return lines


def report_citations_json(steps: Iterable[StepResult]) -> list[dict[str, Any]]:
    """Return the cited runs as JSON-shaped rows: ``wp``, ``run``, ``run_file``, ``run_id``, ``url``."""
    return [
        {"wp": r.wp, "run": r.number, "run_file": r.run_file, "run_id": r.citation.run_id, "url": r.citation.url}
        for r in _report_runs(steps)
    ]


def report_json_data(report: GateReport) -> Any:  # noqa: ANN401 - JSON-shaped by construction
    """Return ``report.json``'s data: the report, plus ``canary_runs`` when a canary step cited executor runs."""
    from phase4gate import convert  # noqa: PLC0415 - the one converter

    data = convert.unstructure(report)
    cited = report_citations_json(report.steps)
    if cited:
        data["canary_runs"] = cited
    return data


# --------------------------------------------------------------------------- the Actions metadata file


def actions_meta_path(run_file: str) -> str:
    """Return where the Actions executor keeps the metadata of *run_file* (``run-N.json`` -> ``run-N.actions.json``)."""
    return run_file.removesuffix(".json") + ACTIONS_META_SUFFIX


def artifact_path(run_file: str) -> str:
    """Return where the Actions executor keeps the artifact of *run_file* (``run-N.json`` -> ``run-N.artifact.zip``)."""
    return run_file.removesuffix(".json") + ARTIFACT_SUFFIX


def _opt_int(data: Mapping[str, Any], key: str, source: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(source, [f"$.{key}: expected an integer, got {value!r}"])
    return value


def _opt_str(data: Mapping[str, Any], key: str, source: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(source, [f"$.{key}: expected a string, got {value!r}"])
    return value


def parse_actions_run(data: object, *, source: str) -> ActionsRun:
    """Return the fields of an Actions run's metadata (``run-N.actions.json``) the evidence states.

    Unknown fields are kept in the file and ignored here.

    Raises:
        InputError: not an object, no ``id``, or a field of the wrong type (naming *source* and ``$.field``).
    """
    if not isinstance(data, dict):
        raise InputError(source, ["$: expected a JSON object (a GitHub Actions workflow run)"])
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or str(raw_id) == "":
        raise InputError(source, [f"$.id: expected the workflow run id, got {raw_id!r}"])
    return ActionsRun(
        id=str(raw_id),
        html_url=_opt_str(data, "html_url", source),
        run_number=_opt_int(data, "run_number", source),
        run_attempt=_opt_int(data, "run_attempt", source),
        head_sha=_opt_str(data, "head_sha", source),
    )
