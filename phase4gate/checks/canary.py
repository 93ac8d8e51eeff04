"""WP04/WP05/WP07 verdicts: canary run files, failure triage, the four-run protocol, Teamspace logs.

Pure: data in, verdict out.  The runner adapter collects run files and JUnit XML;
these functions decide.  Stop conditions (plan):

* WP04 "any scenario fails": one run, every expected scenario ``pass``;
* WP05 "any run != pass": exactly N consecutive runs, every cell ``pass``; an
  empty list never passes (sigstore's ``AllOf``); the first failure stops;
* WP07 "any Teamspace run fails": triaged from its log (413, 503, materialization
  timeout, ``terminal_failed``/``DrainMaterializationRejected``, other).

A failing scenario's text is matched against the configured signatures: a match
names the blocker to re-open; no match is a *new failure signature*, quoted, and
re-opens nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from attrs import frozen
from packaging.version import InvalidVersion, Version

from phase4gate.checks.junit_report import JUnitCase, parse_junit_report
from phase4gate.config import SignatureConfig
from phase4gate.errors import redact
from phase4gate.models import CanaryRunResult, Outcome, ScenarioStatus

__all__ = [
    "INGRESS_CAP_BYTES",
    "JUnitCase",
    "ProtocolVerdict",
    "RunVerdict",
    "SignatureMatch",
    "TeamspaceFailure",
    "TeamspaceTriage",
    "TeamspaceVerdict",
    "blockers_to_reopen",
    "check_protocol",
    "check_run",
    "check_teamspace_run",
    "parse_junit",
    "quote_failure",
    "render_reopen_comment",
    "run_file_from_junit",
    "scenario_for_case",
    "should_reopen",
    "triage_failure",
    "triage_teamspace_log",
    "unknown_signatures",
]

# The SaaS ingress cap: a 413 is the payload's fault; the cap is never raised.
INGRESS_CAP_BYTES: Final = 524288
_QUOTE_LIMIT: Final = 240
_ERRORISH_RE = re.compile(r"(Error|Exception|[Ff]ailed|FAIL|\b[45][0-9]{2}\b|Rejected|did not)")
_SCENARIO_IN_ID_RE = re.compile(r"test_scenario_(?P<n>[0-9]+)_")


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _QUOTE_LIMIT else line[: _QUOTE_LIMIT - 3] + "..."


def quote_failure(text: str) -> str:
    """Return the line of *text* that best says what failed, trimmed for a report."""
    lines = [ln.strip().removeprefix("E ").strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "(no failure text)"
    for ln in lines:
        if _ERRORISH_RE.search(ln):
            return _one_line(ln)
    return _one_line(lines[0])


@frozen
class SignatureMatch:
    """A failing scenario and what its failure text matched (``signature`` None: new signature)."""

    run_number: int
    scenario_id: int
    status: str
    signature: str | None
    blocker: int | None
    quote: str

    @property
    def known(self) -> bool:
        """True when a configured signature matched."""
        return self.signature is not None

    def describe(self) -> str:
        """Return one line for a stop reason."""
        head = f"run {self.run_number}: scenario {self.scenario_id} {self.status}: {self.quote!r}"
        if self.signature is None:
            return f"{head}; new failure signature: {self.quote!r} (maps to no blocker; file a new issue)"
        target = f"blocker #{self.blocker}" if self.blocker is not None else "no blocker"
        return f"{head}; matches signature {self.signature!r} -> {target}"


def triage_failure(
    text: str | None,
    *,
    scenario_id: int,
    run_number: int,
    status: str,
    signatures: Sequence[SignatureConfig],
) -> SignatureMatch:
    """Match one failing scenario's text against *signatures* (first match wins).

    A signature restricted to some scenarios only matches those scenarios.
    """
    body = text or ""
    for sig in signatures:
        if sig.scenarios and scenario_id not in sig.scenarios:
            continue
        m = re.search(sig.pattern, body)
        if m is None:
            continue
        start = body.rfind("\n", 0, m.start()) + 1
        end = body.find("\n", m.start())
        line = body[start : end if end != -1 else len(body)]
        return SignatureMatch(run_number, scenario_id, status, sig.name, sig.blocker, _one_line(line.strip()))
    quote = quote_failure(body) if body.strip() else f"(scenario {status} without a failure reason)"
    return SignatureMatch(run_number, scenario_id, status, None, None, quote)


def blockers_to_reopen(matches: Iterable[SignatureMatch]) -> tuple[int, ...]:
    """Return the blockers the matched signatures name, each once, in order of first failure."""
    out: list[int] = []
    for m in matches:
        if m.blocker is not None and m.blocker not in out:
            out.append(m.blocker)
    return tuple(out)


def unknown_signatures(matches: Iterable[SignatureMatch]) -> tuple[SignatureMatch, ...]:
    """Return the failures no configured signature matched."""
    return tuple(m for m in matches if not m.known)


def should_reopen(state: str) -> bool:
    """Return whether a blocker in *state* is re-opened: only a closed one (an open one is left alone)."""
    return state == "closed"


def render_reopen_comment(
    *,
    rc_version: str,
    match: SignatureMatch,
    evidence_path: str,
    gate_id: str,
) -> str:
    """Return the comment posted when the canary re-opens a blocker."""
    return (
        f"Re-opened by the {gate_id} canary gate.\n\n"
        f"- RC: `spec-kitty-cli=={rc_version}`\n"
        f"- Run: {match.run_number}, scenario {match.scenario_id} ({match.status})\n"
        f"- Signature: `{match.signature}`\n"
        f"- Failure: `{redact(match.quote or '')}`\n"
        f"- Evidence: `{evidence_path}`\n"
    )


# --------------------------------------------------------------------------- one run


def _same_version(a: str, b: str) -> bool:
    """Compare two versions as PEP 440 versions when both parse (``3.2.0-rc16`` == ``3.2.0rc16``)."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


@frozen
class RunVerdict:
    """One canary run judged: pass, or the problems and failures found."""

    run_number: int
    passed: bool
    problems: tuple[str, ...]
    failures: tuple[SignatureMatch, ...]
    cells_passed: int
    version_mismatch: bool = False

    def describe(self) -> str:
        """Return the run's problems on one line."""
        return (
            f"run {self.run_number}: " + "; ".join(self.problems) if self.problems else f"run {self.run_number}: pass"
        )


def check_run(  # noqa: PLR0913 - the run file, where it sits, and what it is judged against
    run: CanaryRunResult,
    *,
    run_number: int,
    expected_version: str,
    signatures: Sequence[SignatureConfig],
    source: str,
    problems: Sequence[str] = (),
) -> RunVerdict:
    """WP04: judge one run file: every scenario passes and the CLI version is the RC installed.

    A skipped run or scenario is never a pass; a run file without ``cli_version``
    cannot show which CLI ran, so it does not pass either.  *problems* are the
    executor's own findings about the run (a re-run attempt, another commit, an
    altered artifact): any of them fails the run whatever its run file says.
    """
    problems = list(problems)
    version_mismatch = False
    version = run.cli_version_number
    if version is None:
        problems.append(
            f"{source}: $.cli_version: missing or unreadable ({run.cli_version!r}); cannot tell which CLI ran"
        )
    elif not _same_version(version, expected_version):
        version_mismatch = True
        problems.append(
            f"{source}: $.cli_version: {version} ran, but WP02 installed {expected_version}; "
            "the RC changed during the gate"
        )
    if run.outcome is Outcome.SKIPPED:
        problems.append(f"{source}: $.outcome: skipped ({run.skip_reason or 'no skip_reason'}); a skip is never a pass")
    failures: list[SignatureMatch] = []
    for i, s in enumerate(run.scenarios):
        if s.status is ScenarioStatus.PASS:
            continue
        match = triage_failure(
            s.failure_reason,
            scenario_id=s.scenario_id,
            run_number=run_number,
            status=s.status.value,
            signatures=signatures,
        )
        failures.append(match)
        problems.append(f"{match.describe().removeprefix(f'run {run_number}: ')} [{source}: $.scenarios[{i}].status]")
    if not run.passed and not failures and run.outcome is not Outcome.SKIPPED:
        problems.append(f"{source}: $.outcome: {run.outcome.value}")
    cells = sum(1 for s in run.scenarios if s.status is ScenarioStatus.PASS)
    return RunVerdict(
        run_number=run_number,
        passed=run.passed and not problems,
        problems=tuple(problems),
        failures=tuple(failures),
        cells_passed=cells,
        version_mismatch=version_mismatch,
    )


# --------------------------------------------------------------------------- the protocol


@frozen
class ProtocolVerdict:
    """WP05's verdict over consecutive runs."""

    passed: bool
    runs_passed: int
    cells_passed: int
    reason: str
    failed_run: int | None = None


def check_protocol(verdicts: Sequence[RunVerdict], *, required_runs: int = 4, scenarios: int = 4) -> ProtocolVerdict:
    """WP05: exactly *required_runs* consecutive runs numbered 1..N, every one of N x scenarios cells passing.

    An empty list fails; fewer or more runs than required fail; the first failing
    run is named (nothing after it counts: consecutiveness is the point).
    """
    if not verdicts:
        return ProtocolVerdict(
            passed=False,
            runs_passed=0,
            cells_passed=0,
            reason=f"no runs recorded; {required_runs} consecutive passes are required",
        )
    numbers = [v.run_number for v in verdicts]
    if numbers != list(range(1, len(verdicts) + 1)):
        return ProtocolVerdict(
            passed=False, runs_passed=0, cells_passed=0, reason=f"runs are not consecutive from 1: {numbers}"
        )
    runs_passed = 0
    cells = 0
    for v in verdicts:
        if not v.passed:
            return ProtocolVerdict(
                passed=False,
                runs_passed=runs_passed,
                cells_passed=cells,
                reason=f"{v.describe()} (protocol stopped after run {v.run_number} of {required_runs})",
                failed_run=v.run_number,
            )
        runs_passed += 1
        cells += v.cells_passed
    if len(verdicts) != required_runs:
        return ProtocolVerdict(
            passed=False,
            runs_passed=runs_passed,
            cells_passed=cells,
            reason=f"{len(verdicts)} runs recorded; exactly {required_runs} are required",
        )
    if cells != required_runs * scenarios:
        return ProtocolVerdict(
            passed=False,
            runs_passed=runs_passed,
            cells_passed=cells,
            reason=f"{cells} of {required_runs * scenarios} cells passed; every cell must pass",
        )
    return ProtocolVerdict(
        passed=True,
        runs_passed=runs_passed,
        cells_passed=cells,
        reason=f"{runs_passed}/{required_runs} runs pass, {cells} cells",
    )


# --------------------------------------------------------------------------- JUnit XML


def parse_junit(xml_text: str, *, source: str) -> tuple[JUnitCase, ...]:
    """Parse a JUnit XML report written by pytest into its test cases (see :mod:`.junit_report`).

    Raises:
        InputError: empty, not well-formed XML, or no ``testsuite`` root; naming *source* and the position.
    """
    return parse_junit_report(xml_text, source=source)


def scenario_for_case(case: JUnitCase, scenario_map: Mapping[str, int]) -> int | None:
    """Return the scenario id of *case*: the configured map (substring -> id) first, then ``test_scenario_N_``."""
    for needle, sid in scenario_map.items():
        if needle in case.test_id:
            return sid
    m = _SCENARIO_IN_ID_RE.search(case.test_id)
    return int(m.group("n")) if m else None


_SEVERITY: Final = {ScenarioStatus.PASS: 0, ScenarioStatus.SKIPPED: 1, ScenarioStatus.FAIL: 2, ScenarioStatus.ERROR: 3}


def run_file_from_junit(  # noqa: PLR0913 - each is a run-file field the JUnit report lacks
    cases: Sequence[JUnitCase],
    *,
    scenario_map: Mapping[str, int],
    cli_version: str | None,
    run_id: str,
    started_at: str,
    finished_at: str,
) -> dict[str, Any]:
    """Build a run file (harness spelling) from JUnit test cases, worst status per scenario.

    Cases that map to no scenario are ignored; a scenario with no case is left out
    (the run-file invariants then name it missing).
    """
    by_scenario: dict[int, list[JUnitCase]] = {}
    for case in cases:
        sid = scenario_for_case(case, scenario_map)
        if sid is not None:
            by_scenario.setdefault(sid, []).append(case)
    scenarios: list[dict[str, Any]] = []
    for sid in sorted(by_scenario):
        group = by_scenario[sid]
        worst = max(group, key=lambda c: _SEVERITY[c.status])
        reasons = [f"{c.name}: {c.message}\n{c.text}".strip() for c in group if c.status is not ScenarioStatus.PASS]
        scenarios.append(
            {
                "scenario_id": sid,
                "name": f"scenario-{sid}",
                "status": worst.status.value,
                "duration_seconds": round(sum(c.time for c in group), 3),
                "failure_reason": "\n".join(reasons) if reasons else None,
                "tests": [f"{c.classname}::{c.name}" for c in group],
            }
        )
    all_pass = bool(scenarios) and all(s["status"] == ScenarioStatus.PASS.value for s in scenarios)
    return {
        "run_id": run_id,
        "outcome": Outcome.PASS.value if all_pass else Outcome.FAIL.value,
        "cli_version": cli_version,
        "started_at": started_at,
        "finished_at": finished_at,
        "built_from": "junit",
        "scenarios": scenarios,
    }


# --------------------------------------------------------------------------- Teamspace, WP07


class TeamspaceFailure(enum.StrEnum):
    """What a failing Teamspace run's log shows."""

    PAYLOAD_TOO_LARGE = "payload-too-large"
    DRAIN_REJECTED = "drain-materialization-rejected"
    UNAVAILABLE = "unavailable"
    MATERIALIZATION_TIMEOUT = "materialization-timeout"
    OTHER = "other"


_TEAMSPACE_RULES: Final = (
    (
        TeamspaceFailure.PAYLOAD_TOO_LARGE,
        re.compile(
            r"(?i)(?:HTTP|status|code)\W{0,3}413\b|\b413 (?:Payload|Request Entity) Too Large|payload too large"
        ),
        f"payload above the SaaS ingress cap ({INGRESS_CAP_BYTES} bytes); shrink the payload, never raise the cap",
    ),
    (
        TeamspaceFailure.DRAIN_REJECTED,
        re.compile(r"DrainMaterializationRejected|\bterminal_failed\b"),
        "the drain rejected materialization (terminal_failed); root-cause before retrying, do not mutate the queue",
    ),
    (
        TeamspaceFailure.UNAVAILABLE,
        re.compile(r"(?i)(?:HTTP|status|code)\W{0,3}503\b|\b503 Service Unavailable|/health/ready/\S*\W{1,3}503"),
        "the SaaS answered 503 (not ready); re-run the WP03 preflight before retrying",
    ),
    (
        TeamspaceFailure.MATERIALIZATION_TIMEOUT,
        re.compile(r"did not materiali[sz]e within \d+\s*s"),
        "materialization timed out; check the drain queue and the SaaS workers before retrying",
    ),
)


@frozen
class TeamspaceTriage:
    """A Teamspace failure's kind, the log line that shows it, and what to do."""

    kind: TeamspaceFailure
    quote: str
    advice: str

    def describe(self) -> str:
        """Return one line for a stop reason."""
        return f"{self.kind.value}: {self.quote!r} ({self.advice})"


def triage_teamspace_log(text: str) -> TeamspaceTriage:
    """WP07: classify a failing Teamspace run from its log (first rule that matches, in severity order)."""
    for kind, pattern, advice in _TEAMSPACE_RULES:
        m = pattern.search(text)
        if m is not None:
            start = text.rfind("\n", 0, m.start()) + 1
            end = text.find("\n", m.start())
            return TeamspaceTriage(kind, _one_line(text[start : end if end != -1 else len(text)].strip()), advice)
    return TeamspaceTriage(
        TeamspaceFailure.OTHER, quote_failure(text), "unrecognised failure; root-cause from the log before retrying"
    )


@frozen
class TeamspaceVerdict:
    """One Teamspace run judged from its JUnit report."""

    run_number: int
    passed: bool
    tests: int
    problems: tuple[str, ...]


def check_teamspace_run(
    cases: Sequence[JUnitCase],
    *,
    run_number: int,
    files: Sequence[str],
    returncode: int,
    problems: Sequence[str] = (),
) -> TeamspaceVerdict:
    """WP07: a run passes when every expected file ran at least one test and every test passed.

    Zero tests, a skipped test, or a file with no test is never a pass; neither is a
    run with an executor finding in *problems* (see :func:`check_run`).
    """
    problems = list(problems)
    if not cases:
        problems.append("no test ran (0 collected); a run with no tests is never a pass")
    for f in files:
        stem = f.rsplit("/", 1)[-1].removesuffix(".py")
        if cases and not any(stem in c.test_id for c in cases):
            problems.append(f"{f}: no test of this file ran")
    problems.extend(
        f"{c.classname}::{c.name} {c.status.value}: {quote_failure(c.message + chr(10) + c.text)}"
        for c in cases
        if c.status is not ScenarioStatus.PASS
    )
    if not problems and returncode != 0:
        problems.append(f"pytest exited {returncode} although every test in the JUnit report passed")
    return TeamspaceVerdict(run_number, not problems, len(cases), tuple(problems))
