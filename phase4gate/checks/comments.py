"""WP06/WP08: the two evidence comments, rendered from observed facts only.

The e2e#41 comment ("Auth identity-boundary canary — 4/4 pass evidence") and the
spec-kitty#1038 comment ("Canary evidence - post planning#16 auth boundary
hardening") are rendered from :class:`CommentFacts`, which is built from the
facts the gate's WPs recorded (and ``saas.fly_image``, which no endpoint
reports).  Rendering refuses, naming every field, when:

* a fact is missing (never a placeholder);
* the events package is older than 5.1.0;
* the evidence does not support a claim (4/4 when a run failed, a run file's CLI
  version that is not the installed RC, e2e#41 "now closed" when it is open,
  Teamspace 4/4 when fewer passed, a health status other than 200);
* WP05's executor citations (GitHub Actions run ids and URLs) do not pair with its
  run files, cite some runs but not others, or contradict the Actions metadata kept
  beside a run file (another run or URL, a re-run attempt);
* the body is longer than GitHub's 65,536 characters.

When every run cites its executor run, the e2e#41 table gains a ``run_id`` column
and the #1038 comment the launch-gate table (``Run | run_id | S1..S4 | outcome``),
each id linked to its run; local runs (no citations) render exactly as before.

Each body ends with a hidden marker carrying the gate id, the issue and the
bundle sha256: how the publisher finds its own comment again.  The marker and the
choice of which existing comment is ours are pure and live here too.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs
from attrs import frozen
from packaging.version import InvalidVersion, Version

from phase4gate.checks.citations import (
    ActionsRun,
    Citation,
    citation_problem,
    citation_refusal,
    parse_citations,
    render_link,
)
from phase4gate.errors import InputError
from phase4gate.models import CanaryRunResult, Comment, FactValue

__all__ = [
    "DRAIN_SPELLINGS",
    "E2E_HEADING",
    "E2E_REQUIRED_FACTS",
    "FACT_SOURCES",
    "GITHUB_BODY_LIMIT",
    "MIN_EVENTS_VERSION",
    "NO_MUTATION_E2E",
    "NO_MUTATION_TRACKER",
    "PLAN_RUNS",
    "PLAN_SCENARIOS",
    "PLAN_TEAMSPACE_RUNS",
    "PROTOCOL_CONDITION",
    "TRACKER_HEADING",
    "TRACKER_REQUIRED_FACTS",
    "CommentFacts",
    "CommentRenderError",
    "Marker",
    "OwnComments",
    "RunRow",
    "WriteAction",
    "build_comment_facts",
    "decide_write",
    "drain_names",
    "parse_marker",
    "protocol_shortfall",
    "render_e2e_comment",
    "render_marker",
    "render_tracker_comment",
    "run_row",
    "select_own_comments",
]

E2E_HEADING: Final = "Auth identity-boundary canary — 4/4 pass evidence"
TRACKER_HEADING: Final = "Canary evidence - post planning#16 auth boundary hardening"
NO_MUTATION_E2E: Final = (
    "No manual SaaS queue mutation, Fly DB edits, daemon record surgery, local queue deletion, "
    "or ingress-cap override was used."
)
NO_MUTATION_TRACKER: Final = (
    "No manual SaaS queue mutation, event replay, DB cleanup, or ingress-cap override was used."
)
# GitHub refuses issue comment bodies longer than this many characters.
GITHUB_BODY_LIMIT: Final = 65_536
MIN_EVENTS_VERSION: Final = Version("5.1.0")

# One internal name per drain count, spelled per document (REAL_WORLD.md, "SaaS preflight").
DRAIN_SPELLINGS: Final[Mapping[str, Mapping[str, str]]] = {
    "readiness": {
        "terminal_failed": "terminal_failed_count",
        "business_rule_rejected": "business_rule_rejected_count",
    },
    "e2e-41": {
        "terminal_failed": "terminal_failed_count",
        "business_rule_rejected": "business_rule_rejected_count",
    },
    "issue-1038": {
        "terminal_failed": "terminal_failed_infra",
        "business_rule_rejected": "terminal_failed_business_rule",
    },
    "harness": {
        "terminal_failed": "batch_intake_terminal_failed",
        "business_rule_rejected": "batch_intake_business_rule_rejected",
    },
}

# Where each internal fact comes from: a WP's recorded fact, or a configuration key.
FACT_SOURCES: Final[Mapping[str, str]] = {
    "gate_id": "config key comments.gate_id",
    "cli_version": "WP02 fact 'rc_version'",
    "rc_tag": "WP02 fact 'rc_tag'",
    "rc_commit": "WP02 fact 'rc_commit'",
    "fly_image": "config key saas.fly_image",
    "saas_git_sha": "WP03 fact 'saas_git_sha'",
    "events_version": "WP03 fact 'events_version'",
    "health_status": "WP03 fact 'health_status'",
    "ready_status": "WP03 fact 'ready_status'",
    "terminal_failed": "WP03 fact 'terminal_failed_count'",
    "business_rule_rejected": "WP03 fact 'business_rule_rejected_count'",
    "attempt_dir": "WP05 fact 'attempt_dir'",
    "runs": "WP05 fact 'run_files' and the run files",
    "executor_runs": "WP05 facts 'executor_run_ids' and 'executor_run_urls', and runs/run-N.actions.json",
    "bundle_path": "WP06 fact 'bundle_path'",
    "bundle_sha256": "WP06 fact 'bundle_sha256'",
    "e2e_issue": "config keys github.e2e_repo and comments.e2e",
    "e2e_comment_url": "WP06 fact 'e2e_comment_url'",
    "e2e_state": "WP06 fact 'e2e_state'",
    "tracker_issue": "config keys github.cli_repo and comments.tracker",
    "teamspace_runs_passed": "WP07 fact 'teamspace_runs_passed'",
}

_OPERATOR_HINTS: Final[Mapping[str, str]] = {
    "fly_image": "set saas.fly_image in the gate configuration to the image the SaaS runs "
    "(`fly image show`); no endpoint reports it",
}

# Facts both comments state (CLI, SaaS, events, health, drain counts).
_SHARED_FACTS: Final = (
    "gate_id",
    "cli_version",
    "rc_tag",
    "rc_commit",
    "fly_image",
    "saas_git_sha",
    "events_version",
    "health_status",
    "ready_status",
    "terminal_failed",
    "business_rule_rejected",
)
E2E_REQUIRED_FACTS: Final = (
    *_SHARED_FACTS,
    "attempt_dir",
    "runs",
    "bundle_sha256",
    "e2e_issue",
)
TRACKER_REQUIRED_FACTS: Final = (
    *_SHARED_FACTS,
    "runs",
    "bundle_path",
    "bundle_sha256",
    "e2e_issue",
    "e2e_comment_url",
    "e2e_state",
    "tracker_issue",
    "teamspace_runs_passed",
)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9._/#:@+-]+$")
_MARKER_RE = re.compile(
    r"<!-- phase4gate:comment gate=(?P<gate>\S+) issue=(?P<issue>\S+) bundle-sha256=(?P<sha>[0-9a-f]{64})"
    r"(?: journal-head=(?P<head>sha256:[0-9a-f]{64}))? -->"
)
_HEAD_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_RUN_NAME_RE = re.compile(r"(?:^|/)run-(?P<n>[0-9]+)\.json$")


class CommentRenderError(InputError):
    """A comment cannot be rendered from the observed facts (a stop, exit 1).

    ``fields`` names every internal fact at fault; each line of the message says
    where that fact comes from (a WP's fact or a configuration key).
    """

    def __init__(self, template: str, problems: Sequence[tuple[str, str]], *, hint: str | None = None) -> None:
        self.template = template
        self.fields = tuple(dict.fromkeys(f for f, _ in problems))
        super().__init__(f"{template} comment", [f"{f}: {why}" for f, why in problems], hint=hint)


@frozen
class RunRow:
    """One canary run as the e2e#41 table shows it: number, file, outcome, scenario statuses.

    ``citation`` is the executor run it was (WP05's ``executor_run_ids`` /
    ``executor_run_urls``; ``None`` for a local run) and ``actions`` what the GitHub
    Actions executor kept beside the run file (``runs/run-N.actions.json``), if anything.
    """

    number: int
    path: str
    outcome: str
    scenarios: tuple[tuple[int, str], ...]
    cli_version: str | None = None
    citation: Citation | None = None
    actions: ActionsRun | None = None


def run_row(path: str, run: CanaryRunResult, *, actions: ActionsRun | None = None) -> RunRow:
    """Return the table row of the run file at *path* (relative to the run folder).

    The run number comes from the file name (``run-N.json``), as the harness writes none;
    *actions* is the run's GitHub Actions metadata, when the executor kept any.

    Raises:
        InputError: *path* is not named ``run-N.json``.
    """
    m = _RUN_NAME_RE.search(path)
    number = int(m.group("n")) if m else run.run_number
    if number is None:
        raise InputError(path, ["expected a run file named run-N.json"])
    return RunRow(
        number=number,
        path=path,
        outcome=run.outcome.value,
        scenarios=tuple(sorted((s.scenario_id, s.status.value) for s in run.scenarios)),
        cli_version=run.cli_version_number,
        actions=actions,
    )


@frozen
class CommentFacts:
    """Everything either comment says, by one internal name each; ``None`` means not observed."""

    gate_id: str | None = None
    cli_version: str | None = None
    rc_tag: str | None = None
    rc_commit: str | None = None
    fly_image: str | None = None
    saas_git_sha: str | None = None
    events_version: str | None = None
    health_status: int | None = None
    ready_status: int | None = None
    terminal_failed: int | None = None
    business_rule_rejected: int | None = None
    attempt_dir: str | None = None
    runs: tuple[RunRow, ...] | None = None
    bundle_path: str | None = None
    bundle_sha256: str | None = None
    # The journal's chain head when the comment's facts were final (digest of WP05's / WP07's result line).
    e2e_journal_head: str | None = None
    tracker_journal_head: str | None = None
    e2e_issue: str | None = None
    e2e_comment_url: str | None = None
    e2e_state: str | None = None
    tracker_issue: str | None = None
    teamspace_runs_passed: int | None = None
    expected_runs: int = 4
    expected_scenarios: tuple[int, ...] = (1, 2, 3, 4)
    expected_teamspace_runs: int = 4
    # What WP05 said it saw; checked against the run files, never shown.
    claimed_runs_passed: int | None = None
    claimed_cells_passed: int | None = None
    # Why WP05's executor citations do not pair with its run files (None: they pair, or there are none).
    citation_problem: str | None = None


def drain_names(template: str) -> tuple[str, str]:
    """Return the (terminal failed, business-rule rejected) names as *template* spells them.

    Raises:
        KeyError: *template* is not one of ``DRAIN_SPELLINGS``.
    """
    names = DRAIN_SPELLINGS[template]
    return names["terminal_failed"], names["business_rule_rejected"]


# --------------------------------------------------------------------------- building facts


def _as_str(value: FactValue) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def _as_int(value: FactValue) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def build_comment_facts(  # noqa: PLR0913 - one argument per source of facts
    facts: Mapping[str, Mapping[str, FactValue]],
    *,
    runs: Sequence[RunRow] | None,
    gate_id: str | None,
    fly_image: str | None,
    e2e_issue: str | None,
    tracker_issue: str | None,
    expected_runs: int = 4,
    expected_scenarios: Iterable[int] = (1, 2, 3, 4),
    expected_teamspace_runs: int = 4,
) -> CommentFacts:
    """Map the WPs' recorded facts (``{"WP02": {...}, ...}``) onto the internal names.

    Nothing is filled in: a fact a WP did not record stays ``None`` and the renderer
    names it.  A fact of the wrong type (``health_status`` "ok") is treated as not observed.
    """

    def get(wp: str, key: str) -> FactValue:
        return facts.get(wp, {}).get(key)

    wp05 = facts.get("WP05", {})
    problem = citation_problem(wp05, [r.path for r in runs]) if runs is not None else None
    if runs is not None and problem is None:
        citations = parse_citations(wp05)
        if citations:
            runs = [attrs.evolve(r, citation=c) for r, c in zip(runs, citations, strict=True)]
    return CommentFacts(
        gate_id=gate_id or None,
        cli_version=_as_str(get("WP02", "rc_version")),
        rc_tag=_as_str(get("WP02", "rc_tag")),
        rc_commit=_as_str(get("WP02", "rc_commit")),
        fly_image=fly_image or None,
        saas_git_sha=_as_str(get("WP03", "saas_git_sha")),
        events_version=_as_str(get("WP03", "events_version")),
        health_status=_as_int(get("WP03", "health_status")),
        ready_status=_as_int(get("WP03", "ready_status")),
        terminal_failed=_as_int(get("WP03", "terminal_failed_count")),
        business_rule_rejected=_as_int(get("WP03", "business_rule_rejected_count")),
        attempt_dir=_as_str(get("WP05", "attempt_dir")),
        runs=tuple(runs) if runs is not None else None,
        bundle_path=_as_str(get("WP06", "bundle_path")),
        bundle_sha256=_as_str(get("WP06", "bundle_sha256")),
        e2e_issue=e2e_issue or None,
        e2e_comment_url=_as_str(get("WP06", "e2e_comment_url")),
        e2e_state=_as_str(get("WP06", "e2e_state")),
        tracker_issue=tracker_issue or None,
        teamspace_runs_passed=_as_int(get("WP07", "teamspace_runs_passed")),
        claimed_runs_passed=_as_int(get("WP05", "runs_passed")),
        claimed_cells_passed=_as_int(get("WP05", "cells_passed")),
        citation_problem=problem,
        expected_runs=expected_runs,
        expected_scenarios=tuple(expected_scenarios),
        expected_teamspace_runs=expected_teamspace_runs,
    )


# --------------------------------------------------------------------------- claims


def _missing(facts: CommentFacts, required: Iterable[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in required:
        value = getattr(facts, name)
        if value is None or value in ("", ()):
            out.append((name, f"missing; expected from {FACT_SOURCES[name]} (never filled with a placeholder)"))
    return out


def _check_events(facts: CommentFacts) -> list[tuple[str, str]]:
    if facts.events_version is None:
        return []
    try:
        version = Version(facts.events_version)
    except InvalidVersion:
        return [("events_version", f"{facts.events_version!r} is not a version")]
    if version < MIN_EVENTS_VERSION:
        return [("events_version", f"spec-kitty-events {version} is older than {MIN_EVENTS_VERSION}; refused")]
    return []


def _check_health(facts: CommentFacts) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, path in (("health_status", "/health/"), ("ready_status", "/health/ready/")):
        value = getattr(facts, name)
        if value is not None and value != 200:
            out.append((name, f"{path} answered {value}, expected 200; the comment cannot report a healthy SaaS"))
    return out


def _check_runs(facts: CommentFacts) -> list[tuple[str, str]]:
    if not facts.runs:
        return []
    out: list[tuple[str, str]] = []
    expected_numbers = list(range(1, facts.expected_runs + 1))
    numbers = sorted(r.number for r in facts.runs)
    if numbers != expected_numbers:
        out.append(("runs", f"run numbers {numbers}, expected exactly {expected_numbers}: 4/4 cannot be claimed"))
    expected_scenarios = sorted(facts.expected_scenarios)
    runs_passed = sum(1 for r in facts.runs if r.outcome == "pass")
    cells_passed = sum(1 for r in facts.runs for _, status in r.scenarios if status == "pass")
    for name, claimed, seen in (
        ("runs_passed", facts.claimed_runs_passed, runs_passed),
        ("cells_passed", facts.claimed_cells_passed, cells_passed),
    ):
        if claimed is not None and claimed != seen:
            out.append(
                ("runs", f"WP05 recorded {name}={claimed} but its run files show {seen}: the journal contradicts them")
            )
    for r in sorted(facts.runs, key=lambda r: r.number):
        if r.outcome != "pass":
            out.append(("runs", f"run {r.number} ({r.path}) outcome is {r.outcome!r}: 4/4 pass cannot be claimed"))
        ids = sorted(sid for sid, _ in r.scenarios)
        if ids != expected_scenarios:
            out.append(("runs", f"run {r.number} ({r.path}) has scenarios {ids}, expected {expected_scenarios}"))
        bad = [f"{sid}={status}" for sid, status in r.scenarios if status != "pass"]
        if bad:
            out.append(("runs", f"run {r.number} ({r.path}) scenario(s) not passed: {', '.join(bad)}"))
        if facts.attempt_dir is not None and not r.path.startswith(f"{facts.attempt_dir}/"):
            out.append(("runs", f"run file {r.path} is not inside the attempt folder {facts.attempt_dir}"))
        if r.cli_version is not None and facts.cli_version is not None and r.cli_version != facts.cli_version:
            out.append(
                (
                    "runs",
                    (
                        f"run {r.number} ({r.path}) ran spec-kitty-cli {r.cli_version}, "
                        f"but the installed RC is {facts.cli_version} (WP02): the journal contradicts it"
                    ),
                )
            )
    return out


def _check_citation(r: RunRow) -> list[str]:
    """Return what is wrong with one run's executor citation against the Actions metadata kept beside it."""
    out: list[str] = []
    c, meta = r.citation, r.actions
    refused = citation_refusal(c) if c is not None else None
    if refused is not None:
        out.append(f"run {r.number} ({r.path}): {refused}")
    if meta is None:
        return out
    if c is None:
        out.append(
            f"run {r.number} ({r.path}) has GitHub Actions metadata (run {meta.id}) but WP05 cites no executor run"
        )
        return out
    if meta.id != c.run_id:
        out.append(f"run {r.number} ({r.path}): WP05 cites Actions run {c.run_id}, its metadata is run {meta.id}")
    if meta.html_url is not None and meta.html_url != c.url:
        out.append(f"run {r.number} ({r.path}): WP05 cites {c.url}, its metadata says {meta.html_url}")
    if meta.run_attempt is not None and meta.run_attempt != 1:
        out.append(f"run {r.number} ({r.path}) is attempt {meta.run_attempt} of Actions run {meta.id}: a re-run")
    return out


def _check_citations(facts: CommentFacts) -> list[tuple[str, str]]:
    """Executor citations: paired with the run files, all or none cited, agreeing with the kept Actions metadata."""
    if facts.citation_problem is not None:
        return [("executor_runs", facts.citation_problem)]
    if not facts.runs:
        return []
    out: list[tuple[str, str]] = []
    runs = sorted(facts.runs, key=lambda r: r.number)
    cited = [r.number for r in runs if r.citation is not None]
    if cited and len(cited) != len(runs):
        uncited = [r.number for r in runs if r.citation is None]
        out.append(("executor_runs", f"runs {cited} cite an executor run but runs {uncited} do not"))
    for r in runs:
        out.extend(("executor_runs", why) for why in _check_citation(r))
    return out


def _cited(runs: Sequence[RunRow]) -> bool:
    """True when every run cites its executor run (the tables get a ``run_id`` column)."""
    return bool(runs) and all(r.citation is not None for r in runs)


def _check_bundle(facts: CommentFacts) -> list[tuple[str, str]]:
    if facts.bundle_sha256 is not None and not _SHA256_RE.match(facts.bundle_sha256):
        return [("bundle_sha256", f"expected 64 lowercase hex digits, got {facts.bundle_sha256!r}")]
    return []


_INLINE_FIELDS: Final = (
    "cli_version",
    "rc_tag",
    "rc_commit",
    "fly_image",
    "saas_git_sha",
    "events_version",
    "attempt_dir",
    "bundle_path",
    "e2e_comment_url",
)
_NOT_INLINE: Final = ("\n", "\r", "`", "<!--", "-->")


def _check_inline(facts: CommentFacts) -> list[tuple[str, str]]:
    """Observed values are shown verbatim: one that could break out of its Markdown span is refused."""
    out: list[tuple[str, str]] = []
    for name in _INLINE_FIELDS:
        value = getattr(facts, name)
        if isinstance(value, str) and any(bad in value for bad in _NOT_INLINE):
            out.append((name, f"{value!r} holds a line break, backtick or HTML comment; refused rather than escaped"))
    return out


def _check_marker_parts(facts: CommentFacts) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in ("gate_id", "e2e_issue", "tracker_issue"):
        value = getattr(facts, name)
        if value is not None and (not _TOKEN_RE.match(value) or "--" in value):
            out.append((name, f"{value!r} cannot go into the hidden marker (no spaces or '--')"))
    return out


def _refuse(template: str, problems: list[tuple[str, str]]) -> None:
    if problems:
        hints = [h for f, h in _OPERATOR_HINTS.items() if any(p[0] == f for p in problems)]
        raise CommentRenderError(template, problems, hint="; ".join(hints) or None)


def _check_length(template: str, body: str) -> str:
    if len(body) > GITHUB_BODY_LIMIT:
        _refuse(
            template,
            [("body", f"{len(body)} characters, over GitHub's limit of {GITHUB_BODY_LIMIT}; refused before sending")],
        )
    return body


# --------------------------------------------------------------------------- marker


@frozen
class Marker:
    """The hidden marker at the end of each comment."""

    gate_id: str
    issue: str
    bundle_sha256: str
    journal_head: str | None = None


def render_marker(gate_id: str, issue: str, bundle_sha256: str, journal_head: str | None = None) -> str:
    """Return ``<!-- phase4gate:comment gate=... issue=owner/repo#N bundle-sha256=... journal-head=sha256:... -->``.

    The journal head anchors the run's hash-chained journal in the public thread.
    """
    head = f" journal-head={journal_head}" if journal_head and _HEAD_RE.match(journal_head) else ""
    return f"<!-- phase4gate:comment gate={gate_id} issue={issue} bundle-sha256={bundle_sha256}{head} -->"


def parse_marker(body: str) -> Marker | None:
    """Return the last marker in *body*, or ``None``."""
    found = list(_MARKER_RE.finditer(body))
    if not found:
        return None
    m = found[-1]
    return Marker(m.group("gate"), m.group("issue"), m.group("sha"), m.group("head"))


# --------------------------------------------------------------------------- renderers


def _issue_number(issue: str | None) -> str:
    return (issue or "").rpartition("#")[2]


def _cli_line(f: CommentFacts) -> str:
    return f"`spec-kitty-cli=={f.cli_version}`, tag `{f.rc_tag}`, commit `{f.rc_commit}`"


def render_e2e_comment(facts: CommentFacts) -> str:
    """Render the e2e#41 evidence comment (WP06).

    Raises:
        CommentRenderError: a fact is missing, or the evidence does not support a claim.
    """
    problems = [
        *_missing(facts, E2E_REQUIRED_FACTS),
        *_check_events(facts),
        *_check_health(facts),
        *_check_runs(facts),
        *_check_citations(facts),
        *_check_bundle(facts),
        *_check_marker_parts(facts),
        *_check_inline(facts),
    ]
    _refuse("e2e-41", problems)
    assert facts.runs is not None  # noqa: S101 - checked by _missing
    tf, brr = drain_names("e2e-41")
    scenarios = sorted(facts.expected_scenarios)
    runs = sorted(facts.runs, key=lambda r: r.number)
    cells = sum(len(r.scenarios) for r in runs)
    lines = [
        f"## {E2E_HEADING}",
        "",
        f"- CLI: {_cli_line(facts)}",
        f"- SaaS: Fly image `{facts.fly_image}`, git SHA `{facts.saas_git_sha}`",
        f"- Events: spec-kitty-events=={facts.events_version}",
        f"- `/health/` status: {facts.health_status}",
        f"- `/health/ready/` status: {facts.ready_status}",
        f"- Drain counts: `{tf}={facts.terminal_failed}`, `{brr}={facts.business_rule_rejected}`",
        f"- Four-run result: {len(runs)}/{facts.expected_runs} pass ({cells}/{cells} scenario cells pass)",
        "",
    ]
    # A run_id column only when every run cites its executor run (GitHub Actions); local runs have none.
    cited = _cited(runs)
    id_head, id_rule = ("run_id | ", "---|") if cited else ("", "")
    lines += [
        f"| Run | {id_head}" + " | ".join(f"Scenario {s}" for s in scenarios) + " |",
        f"|---|{id_rule}" + "---|" * len(scenarios),
    ]
    for r in runs:
        status = dict(r.scenarios)
        run_id = f"{render_link(r.citation)} | " if cited and r.citation is not None else ""
        lines.append(f"| {r.number} | {run_id}" + " | ".join(status[s] for s in scenarios) + " |")
    lines += ["", f"Run files (attempt folder `{facts.attempt_dir}`):", ""]
    lines += [f"- `{r.path}`" for r in runs]
    lines += [
        "",
        f"Evidence bundle sha256: `{facts.bundle_sha256}`",
        "",
        NO_MUTATION_E2E,
        "",
        render_marker(str(facts.gate_id), str(facts.e2e_issue), str(facts.bundle_sha256), facts.e2e_journal_head),
        "",
    ]
    return _check_length("e2e-41", "\n".join(lines))


def _tracker_run_table(facts: CommentFacts) -> list[str]:
    """Return the launch-gate table ``Run | run_id | S1..S4 | outcome`` when every run cites its executor run."""
    runs = sorted(facts.runs or (), key=lambda r: r.number)
    if not _cited(runs):
        return []
    scenarios = sorted(facts.expected_scenarios)
    lines = [
        "",
        "Identity-boundary canary runs, cited by run id:",
        "",
        "| Run | run_id | " + " | ".join(f"S{s}" for s in scenarios) + " | outcome |",
        "|---|---|" + "---|" * len(scenarios) + "---|",
    ]
    for r in runs:
        assert r.citation is not None  # noqa: S101 - _cited says so
        status = dict(r.scenarios)
        cells = " | ".join(status[s] for s in scenarios)
        lines.append(f"| {r.number} | {render_link(r.citation)} | {cells} | {r.outcome} |")
    return lines


def render_tracker_comment(facts: CommentFacts) -> str:
    """Render the spec-kitty#1038 evidence comment (WP08).

    Raises:
        CommentRenderError: a fact is missing, or the evidence does not support a claim.
    """
    problems = [
        *_missing(facts, TRACKER_REQUIRED_FACTS),
        *_check_events(facts),
        *_check_health(facts),
        *_check_runs(facts),
        *_check_citations(facts),
        *_check_bundle(facts),
        *_check_marker_parts(facts),
        *_check_inline(facts),
    ]
    if facts.e2e_state is not None and facts.e2e_state != "closed":
        problems.append(("e2e_state", f"e2e#41 is {facts.e2e_state!r}; the comment says it is now closed"))
    if facts.teamspace_runs_passed is not None and facts.teamspace_runs_passed != facts.expected_teamspace_runs:
        problems.append(
            (
                "teamspace_runs_passed",
                (
                    f"{facts.teamspace_runs_passed} of {facts.expected_teamspace_runs} Teamspace runs passed; "
                    f"{facts.expected_teamspace_runs}/{facts.expected_teamspace_runs} cannot be claimed"
                ),
            )
        )
    _refuse("issue-1038", problems)
    assert facts.runs is not None  # noqa: S101 - checked by _missing
    tf, brr = drain_names("issue-1038")
    n = len(facts.runs)
    lines = [
        f"## {TRACKER_HEADING}",
        "",
        f"- CLI: {_cli_line(facts)}.",
        f"- Events: spec-kitty-events=={facts.events_version} (5.1.0 or newer).",
        (
            f"- SaaS: Fly image `{facts.fly_image}`, git SHA `{facts.saas_git_sha}`, "
            f"`/health/` {facts.health_status}, `/health/ready/` {facts.ready_status}."
        ),
        f"- Drain counts: {tf}={facts.terminal_failed}, {brr}={facts.business_rule_rejected}.",
        (
            f"- Identity-boundary canary: {n}/{facts.expected_runs} pass, "
            f"evidence on e2e#{_issue_number(facts.e2e_issue)} (now closed): {facts.e2e_comment_url}"
        ),
        f"- Teamspace MVP canary suite: {facts.teamspace_runs_passed}/{facts.expected_teamspace_runs} pass.",
        f"- Evidence bundle: `{facts.bundle_path}` (sha256 `{facts.bundle_sha256}`).",
        *_tracker_run_table(facts),
        "",
        NO_MUTATION_TRACKER,
        "",
        render_marker(
            str(facts.gate_id), str(facts.tracker_issue), str(facts.bundle_sha256), facts.tracker_journal_head
        ),
        "",
    ]
    return _check_length("issue-1038", "\n".join(lines))


# --------------------------------------------------------------------------- which comment is ours


class WriteAction(enum.StrEnum):
    """What the publisher must send for one issue."""

    CREATE = "create"
    UPDATE = "update"
    NONE = "none"


@frozen
class OwnComments:
    """The comments carrying our marker for one issue, split by author."""

    keep: Comment | None
    duplicates: tuple[Comment, ...] = ()
    foreign: tuple[Comment, ...] = ()


def _created_key(c: Comment) -> tuple[str, int]:
    return (c.created_at, c.id)


def select_own_comments(comments: Iterable[Comment], *, login: str, gate_id: str, issue: str) -> OwnComments:
    """Pick our comment for *issue*: marker for this gate and issue, authored by *login*.

    A marker copied by another user is ``foreign`` and never touched.  Of several of
    ours (a crash, or a concurrent gate), the oldest is kept and the rest are duplicates.
    """
    mine: list[Comment] = []
    foreign: list[Comment] = []
    for c in comments:
        marker = parse_marker(c.body)
        if marker is None or marker.gate_id != gate_id or marker.issue != issue:
            continue
        if c.author is not None and c.author.lower() == login.lower():
            mine.append(c)
        else:
            foreign.append(c)
    mine.sort(key=_created_key)
    return OwnComments(
        keep=mine[0] if mine else None,
        duplicates=tuple(mine[1:]),
        foreign=tuple(sorted(foreign, key=_created_key)),
    )


def decide_write(own: OwnComments, body: str) -> WriteAction:
    """Return create (none of ours), update (ours differs) or none (ours is already *body*)."""
    if own.keep is None:
        return WriteAction.CREATE
    if own.keep.body != body:
        return WriteAction.UPDATE
    return WriteAction.NONE


# --------------------------------------------------------------------------- the plan's protocol

# The plan's protocol: four consecutive canary runs of the four scenarios, four Teamspace runs.
PLAN_RUNS: Final = 4
PLAN_SCENARIOS: Final = (1, 2, 3, 4)
PLAN_TEAMSPACE_RUNS: Final = 4
PROTOCOL_CONDITION: Final = (
    "not the plan's protocol: fewer canary runs, scenarios or Teamspace runs than the plan requires (failed)"
)


def protocol_shortfall(facts: CommentFacts, *, teamspace: bool) -> tuple[str, ...]:
    """Return how the configured protocol falls short of the plan's (empty when it does not).

    WP06 and WP08 post and close nothing unless this is empty: a gate configured for
    fewer runs may run, but its evidence is not the plan's and is never published as
    it.  That the protocol was also *met* (every run file there, every scenario passed,
    every Teamspace run passed) is the renderers' check against these same counts.
    *teamspace* adds WP07's four Teamspace runs (WP08's comment claims them).
    """
    out: list[str] = []
    if facts.expected_runs < PLAN_RUNS:
        out.append(f"canary.runs = {facts.expected_runs}, the plan requires {PLAN_RUNS} consecutive runs")
    missing = sorted(set(PLAN_SCENARIOS) - set(facts.expected_scenarios))
    if missing:
        out.append(
            f"canary.scenarios = {list(facts.expected_scenarios)} lacks {missing}, "
            f"the plan requires scenarios {list(PLAN_SCENARIOS)} in every run"
        )
    if teamspace and facts.expected_teamspace_runs < PLAN_TEAMSPACE_RUNS:
        out.append(f"teamspace.runs = {facts.expected_teamspace_runs}, the plan requires {PLAN_TEAMSPACE_RUNS}")
    return tuple(out)
