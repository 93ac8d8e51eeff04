"""The canary harness's run file (``run-N.json``): its model, its reader and its writer.

:class:`CanaryRunResult` reads both the plan's spelling (``run_number``,
``timestamp``, scenario ``id``, ``failure_mode``) and the real harness's
(``run_id``, ``started_at``, ``scenario_id``, ``failure_reason``, ...), keeps
unknown keys, and enforces the plan's invariants whichever way it was built.

:func:`parse_run_file` is the reader: it collects every problem of a decoded
file into one :class:`~phase4gate.errors.InputError`, each as ``$.json.path:
problem`` (a user fixes the file in one pass), and with a :class:`RunWindow`
ties the file to the run the gate just started.  It is hand-written, not the
cattrs converter's job (:mod:`phase4gate.convert`): a run file comes in two
spellings whose alternative keys must agree (``id``/``scenario_id``), its
unknown keys and known keys that are null are written back as they came
(:meth:`CanaryRunResult.to_json_dict`), values are read exactly (``"PASS"`` is
not ``"pass"``, ``true`` is not ``1``), and the wording of each problem is
pinned by tests; structure hooks doing all that would be this reader again.

Everything here is re-exported by :mod:`phase4gate.models`.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import attrs
from attrs import field, frozen

from phase4gate.errors import InputError

__all__ = [
    "DEFAULT_SCENARIO_IDS",
    "CanaryRunResult",
    "Outcome",
    "RunFileSpelling",
    "RunOutcome",
    "RunWindow",
    "ScenarioResult",
    "ScenarioStatus",
    "parse_cli_version",
    "parse_run_file",
    "run_number_from_filename",
]

DEFAULT_SCENARIO_IDS: Final = (1, 2, 3, 4)

_E = TypeVar("_E", bound=enum.StrEnum)

_CLI_VERSION_RE = re.compile(r"spec-kitty-cli version\s+v?(?P<version>[0-9][0-9A-Za-z.+!-]*)")
_BARE_VERSION_RE = re.compile(r"^v?(?P<version>[0-9]+(?:\.[0-9]+)*(?:[.-]?[A-Za-z]+[0-9]*)*)$")
_RUN_FILE_RE = re.compile(r"^run-(?P<n>[0-9]+)\.json$")


class RunOutcome(enum.StrEnum):
    """A canary run's top-level outcome: a run file's ``outcome`` (a WP step's is ``models.StepOutcome``)."""

    PASS = "pass"  # noqa: S105 - not a password, the harness's word
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"


# The name before issue 21; kept so ``phase4gate.Outcome`` and ``phase4gate.models.Outcome`` stay importable.
Outcome = RunOutcome


class ScenarioStatus(enum.StrEnum):
    """One scenario's status inside a run file."""

    PASS = "pass"  # noqa: S105 - not a password, the harness's word
    FAIL = "fail"
    SKIPPED = "skipped"
    ERROR = "error"


class RunFileSpelling(enum.StrEnum):
    """Which document's key names a run file uses."""

    PLAN = "plan"
    HARNESS = "harness"


# --------------------------------------------------------------------------- the model


def _check_aware(_inst: object, attribute: attrs.Attribute[dt.datetime], value: dt.datetime) -> None:
    if value.tzinfo is None:
        msg = f"{attribute.name} must be timezone-aware, got {value.isoformat()!r}"
        raise ValueError(msg)


def parse_cli_version(text: str) -> str | None:
    """Return the version from ``spec-kitty --version`` output or a run file's ``cli_version``.

    The real CLI prints a banner and then ``spec-kitty-cli version 3.2.0rc16``;
    the plan's data model has a bare ``3.2.0rc16``.  Returns ``None`` when
    neither shape is found.
    """
    for line in reversed(text.splitlines()):
        m = _CLI_VERSION_RE.search(line)
        if m:
            return m.group("version")
    m = _BARE_VERSION_RE.match(text.strip())
    return m.group("version") if m else None


def run_number_from_filename(name: str) -> int | None:
    """Return N for ``run-N.json`` (N >= 1), else ``None``."""
    m = _RUN_FILE_RE.match(name)
    if not m:
        return None
    n = int(m.group("n"))
    return n if n >= 1 else None


def _validate_iso(value: str | None, where: str) -> None:
    if value is None:
        return
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"{where}: expected an ISO 8601 timestamp, got {value!r}"
        raise ValueError(msg) from None


@frozen
class ScenarioResult:
    """One scenario of a canary run (either spelling)."""

    scenario_id: int = field(validator=attrs.validators.instance_of(int))
    status: ScenarioStatus = field(converter=ScenarioStatus)
    name: str | None = None
    failure_reason: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: float | None = None
    evidence_files: tuple[str, ...] = ()
    extra: dict[str, Any] = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.scenario_id, bool) or self.scenario_id < 1:
            msg = f"scenario_id must be a positive integer, got {self.scenario_id!r}"
            raise ValueError(msg)
        _validate_iso(self.started_at, "started_at")
        _validate_iso(self.finished_at, "finished_at")


def _check_run_invariants(run: CanaryRunResult) -> list[str]:
    """Return every violated plan invariant, as ``$.path: problem`` lines."""
    problems: list[str] = []
    ids = [s.scenario_id for s in run.scenarios]
    expected = set(run.expected_scenarios)
    problems.extend(
        f"$.scenarios: scenario {sid} appears {ids.count(sid)} times, expected once"
        for sid in sorted({i for i in ids if ids.count(i) > 1})
    )
    missing = sorted(expected - set(ids))
    if missing:
        problems.append(f"$.scenarios: missing scenario(s) {missing}, expected exactly {sorted(expected)}")
    unexpected = sorted(set(ids) - expected)
    if unexpected:
        problems.append(f"$.scenarios: unexpected scenario(s) {unexpected}, expected exactly {sorted(expected)}")
    all_pass = bool(run.scenarios) and all(s.status is ScenarioStatus.PASS for s in run.scenarios)
    if run.outcome is RunOutcome.PASS and not all_pass:
        bad = [f"{s.scenario_id}={s.status.value}" for s in run.scenarios if s.status is not ScenarioStatus.PASS]
        detail = ", ".join(bad) if bad else "no scenarios"
        problems.append(f"$.outcome: 'pass' but not every scenario passed ({detail})")
    if run.outcome is not RunOutcome.PASS and all_pass and not missing and not unexpected:
        problems.append(f"$.outcome: {run.outcome.value!r} but every scenario passed, expected 'pass'")
    if run.run_number is not None and run.run_number < 1:
        problems.append(f"$.run_number: expected a positive integer, got {run.run_number!r}")
    return problems


@frozen
class CanaryRunResult:
    """One canary run file, validated against the plan's invariants.

    Invariants (enforced on construction and on reading):

    * ``outcome == "pass"`` iff every scenario has ``status == "pass"``;
    * exactly the expected scenario ids (1-4 by default), each once;
    * a skipped scenario, or a ``skipped`` outcome, is never a pass.
    """

    outcome: RunOutcome = field(converter=RunOutcome)
    scenarios: tuple[ScenarioResult, ...]
    spelling: RunFileSpelling = RunFileSpelling.HARNESS
    run_number: int | None = None
    run_id: str | None = None
    cli_version: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    events_package_version: str | None = None
    saas_url: str | None = None
    target_environment: str | None = None
    skip_reason: str | None = None
    evidence_path: str | None = None
    extra: dict[str, Any] = field(factory=dict)
    expected_scenarios: tuple[int, ...] = field(default=DEFAULT_SCENARIO_IDS, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _validate_iso(self.started_at, "started_at")
        _validate_iso(self.finished_at, "finished_at")
        problems = _check_run_invariants(self)
        if problems:
            raise ValueError("\n".join(problems))

    @property
    def passed(self) -> bool:
        """True when the run passed (the invariants make this consistent with the scenarios)."""
        return self.outcome is RunOutcome.PASS

    @property
    def cli_version_number(self) -> str | None:
        """The bare version out of ``cli_version`` (``spec-kitty-cli version X`` or ``X``)."""
        return parse_cli_version(self.cli_version) if self.cli_version else None

    def failed_scenarios(self) -> tuple[ScenarioResult, ...]:
        """Scenarios whose status is not ``pass``."""
        return tuple(s for s in self.scenarios if s.status is not ScenarioStatus.PASS)

    def to_json_dict(self) -> dict[str, Any]:
        """Return the run file in its own spelling, unknown keys written back unchanged."""
        plan = self.spelling is RunFileSpelling.PLAN
        out: dict[str, Any] = dict(self.extra)
        out["outcome"] = self.outcome.value
        if plan:
            _put(out, "run_number", self.run_number)
            _put(out, "timestamp", self.started_at)
        else:
            _put(out, "run_id", self.run_id)
            _put(out, "started_at", self.started_at)
            _put(out, "finished_at", self.finished_at)
        for key in (
            "cli_version",
            "events_package_version",
            "evidence_path",
            "saas_url",
            "target_environment",
            "skip_reason",
        ):
            _put(out, key, getattr(self, key))
        out["scenarios"] = [_scenario_to_json(s, plan=plan) for s in self.scenarios]
        return out


def _put(out: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        out[key] = value


def _scenario_to_json(s: ScenarioResult, *, plan: bool) -> dict[str, Any]:
    out: dict[str, Any] = dict(s.extra)
    out["id" if plan else "scenario_id"] = s.scenario_id
    _put(out, "name", s.name)
    out["status"] = s.status.value
    if plan:
        out["failure_mode"] = s.failure_reason
        out["evidence_files"] = list(s.evidence_files)
    else:
        _put(out, "started_at", s.started_at)
        _put(out, "finished_at", s.finished_at)
        _put(out, "duration_seconds", s.duration_seconds)
        _put(out, "failure_reason", s.failure_reason)
        if s.evidence_files:
            out["evidence_files"] = list(s.evidence_files)
    return out


# --------------------------------------------------------------------------- reading a run file


# Keys each spelling may carry at the top level (anything else is kept in ``extra``).
_RUN_KEYS_COMMON = ("outcome", "cli_version", "scenarios")
_RUN_KEYS_OPTIONAL_STR = (
    "run_id",
    "events_package_version",
    "evidence_path",
    "saas_url",
    "target_environment",
    "skip_reason",
    "started_at",
    "finished_at",
)
_SCENARIO_KNOWN = (
    "id",
    "scenario_id",
    "name",
    "status",
    "failure_mode",
    "failure_reason",
    "started_at",
    "finished_at",
    "duration_seconds",
    "evidence_files",
)


def _typename(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def _enum_value(raw: object, cls: type[_E], where: str, problems: list[str]) -> _E | None:
    allowed = ", ".join(repr(m.value) for m in cls)
    if not isinstance(raw, str):
        problems.append(f"{where}: expected one of {allowed}, found {_typename(raw)} {raw!r}")
        return None
    try:
        # Exactly as the harness writes it: "PASS" is not "pass" (a run file is never read generously).
        return cls(raw)
    except ValueError:
        problems.append(f"{where}: expected one of {allowed}, found {raw!r}")
        return None


def _opt_str(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.append(f"{where}.{key}: expected a string or null, found {_typename(value)} {value!r}")
    return None


def _opt_iso(raw: Mapping[str, Any], key: str, where: str, problems: list[str]) -> str | None:
    value = _opt_str(raw, key, where, problems)
    try:
        _validate_iso(value, f"{where}.{key}")
    except ValueError as exc:
        problems.append(str(exc))
        return None
    return value


def _int_field(value: object, where: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: expected an integer, found {_typename(value)} {value!r}")
        return None
    return value


def _parse_scenario(raw: object, where: str, problems: list[str]) -> ScenarioResult | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected an object, found {_typename(raw)}")
        return None
    before = len(problems)
    if "scenario_id" in raw and "id" in raw and raw["scenario_id"] != raw["id"]:
        problems.append(f"{where}: 'id' ({raw['id']!r}) and 'scenario_id' ({raw['scenario_id']!r}) disagree")
    if "scenario_id" in raw:
        sid = _int_field(raw["scenario_id"], f"{where}.scenario_id", problems)
    elif "id" in raw:
        sid = _int_field(raw["id"], f"{where}.id", problems)
    else:
        problems.append(f"{where}: missing 'scenario_id' (harness) or 'id' (plan)")
        sid = None
    if sid is not None and sid < 1:
        problems.append(f"{where}.scenario_id: expected a positive integer, found {sid!r}")
    if "status" not in raw:
        problems.append(f"{where}: missing 'status'")
        status = None
    else:
        status = _enum_value(raw["status"], ScenarioStatus, f"{where}.status", problems)
    name = _opt_str(raw, "name", where, problems)
    reason = _opt_str(raw, "failure_reason", where, problems)
    mode = _opt_str(raw, "failure_mode", where, problems)
    started = _opt_iso(raw, "started_at", where, problems)
    finished = _opt_iso(raw, "finished_at", where, problems)
    duration = raw.get("duration_seconds")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        problems.append(
            f"{where}.duration_seconds: expected a number or null, found {_typename(duration)} {duration!r}"
        )
        duration = None
    elif duration is not None and not (math.isfinite(duration) and duration >= 0):
        problems.append(f"{where}.duration_seconds: expected a finite, non-negative number, found {duration!r}")
        duration = None
    files_raw = raw.get("evidence_files", [])
    files: tuple[str, ...] = ()
    if not isinstance(files_raw, list) or not all(isinstance(f, str) for f in files_raw):
        problems.append(f"{where}.evidence_files: expected an array of strings, found {files_raw!r}")
    else:
        files = tuple(files_raw)
    if len(problems) > before or sid is None or status is None:
        return None
    extra = {k: v for k, v in raw.items() if k not in _SCENARIO_KNOWN or (v is None and k != "status")}
    return ScenarioResult(
        scenario_id=sid,
        status=status,
        name=name,
        failure_reason=reason if reason is not None else mode,
        started_at=started,
        finished_at=finished,
        duration_seconds=float(duration) if duration is not None else None,
        evidence_files=files,
        extra=extra,
    )


@frozen
class RunWindow:
    """When the gate spawned one canary run and when that process ended: a run file it wrote falls inside.

    ``tolerance_seconds`` absorbs file-system time stamp granularity and the
    moment between the gate reading the clock and the child reading it; it is
    small on purpose (a run file from an earlier run, or one an orphan of an
    earlier gate wrote, lies outside).
    """

    spawned_at: dt.datetime = field(validator=_check_aware)
    ended_at: dt.datetime = field(validator=_check_aware)
    tolerance_seconds: float = 2.0
    label: str = "this run"

    def problem(self, value: dt.datetime) -> str | None:
        """Return why *value* does not fall inside the window, or ``None`` when it does."""
        if value.tzinfo is None:
            return f"has no time zone; it cannot be placed in {self.label}'s window"
        slack = dt.timedelta(seconds=self.tolerance_seconds)
        if value < self.spawned_at - slack:
            return f"is before {self.label} was started ({self.describe()})"
        if value > self.ended_at + slack:
            return f"is after {self.label} ended ({self.describe()})"
        return None

    def describe(self) -> str:
        """Return the window on one line."""
        return (
            f"started {self.spawned_at.isoformat()}, ended {self.ended_at.isoformat()}, "
            f"tolerance {self.tolerance_seconds:g}s"
        )


def _parsed_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None  # reported already as "expected an ISO 8601 timestamp"


def _check_window(data: Mapping[str, Any], window: RunWindow, problems: list[str]) -> None:
    """Add a problem for every time stamp of *data* outside *window* (the run's own start is required)."""
    start_key = "timestamp" if "timestamp" in data and "started_at" not in data else "started_at"
    if data.get(start_key) is None:
        problems.append(f"$.{start_key}: missing; a run file without its start time cannot be tied to {window.label}")
    raw_scenarios = data.get("scenarios")
    spans: list[tuple[str, str, Mapping[str, Any]]] = [("$", start_key, data)]
    spans.extend(
        (f"$.scenarios[{i}]", "started_at", raw)
        for i, raw in enumerate(raw_scenarios if isinstance(raw_scenarios, list) else [])
        if isinstance(raw, dict)
    )
    for prefix, begin_key, obj in spans:
        placed: list[dt.datetime] = []
        for key in (begin_key, "finished_at"):
            when = _parsed_time(obj.get(key))
            why = window.problem(when) if when is not None else None
            if why is not None:
                problems.append(f"{prefix}.{key}: {obj.get(key)} {why}")
            elif when is not None:
                placed.append(when)
        if len(placed) == 2 and placed[1] < placed[0]:
            problems.append(
                f"{prefix}.finished_at: {placed[1].isoformat()} is before its start {placed[0].isoformat()}"
            )


def parse_run_file(
    data: object,
    *,
    source: str,
    file_run_number: int | None = None,
    expected_scenarios: tuple[int, ...] = DEFAULT_SCENARIO_IDS,
    window: RunWindow | None = None,
) -> CanaryRunResult:
    """Validate a decoded run file in either spelling and return the model.

    *source* names the file in error messages; *file_run_number* is N from
    ``run-N.json`` (the real harness writes no run number: it comes from the
    file name, and must agree when the file has one).  With *window* (the run
    the gate just started), every time stamp must fall inside it and the run's
    start must be there: a file from another run is not this run's.

    Raises:
        InputError: listing every problem found, each as ``$.json.path: problem``.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise InputError(source, [f"$: expected a JSON object, found {_typename(data)}"])
    plan_keys = {"run_number", "timestamp"} & data.keys()
    harness_keys = {"run_id", "started_at", "finished_at"} & data.keys()
    spelling = RunFileSpelling.PLAN if plan_keys and not harness_keys else RunFileSpelling.HARNESS
    outcome = None
    if "outcome" not in data:
        problems.append("$: missing 'outcome'")
    else:
        outcome = _enum_value(data["outcome"], RunOutcome, "$.outcome", problems)
    run_number: int | None = None
    if "run_number" in data:
        run_number = _int_field(data["run_number"], "$.run_number", problems)
        if run_number is not None and file_run_number is not None and run_number != file_run_number:
            problems.append(f"$.run_number: {run_number} disagrees with the file name (run-{file_run_number}.json)")
    if run_number is None and file_run_number is not None and "run_number" not in data:
        run_number = file_run_number
    strs = {k: _opt_str(data, k, "$", problems) for k in _RUN_KEYS_OPTIONAL_STR}
    cli_version = _opt_str(data, "cli_version", "$", problems)
    started = strs["started_at"]
    if started is None and "timestamp" in data:
        started = _opt_str(data, "timestamp", "$", problems)
        strs["timestamp"] = started
    started_key = "$.started_at" if "started_at" in data else "$.timestamp"
    for where, value in ((started_key, started), ("$.finished_at", strs["finished_at"])):
        try:
            _validate_iso(value, where)
        except ValueError as exc:
            problems.append(str(exc))
    scenarios: list[ScenarioResult] = []
    raw_scenarios = data.get("scenarios")
    if raw_scenarios is None:
        problems.append("$: missing 'scenarios'")
    elif not isinstance(raw_scenarios, list):
        problems.append(f"$.scenarios: expected an array, found {_typename(raw_scenarios)}")
    else:
        for i, raw in enumerate(raw_scenarios):
            s = _parse_scenario(raw, f"$.scenarios[{i}]", problems)
            if s is not None:
                scenarios.append(s)
    if window is not None:
        _check_window(data, window, problems)
    if problems or outcome is None:
        raise InputError(source, problems)
    known = set(_RUN_KEYS_COMMON) | set(_RUN_KEYS_OPTIONAL_STR) | {"run_number", "timestamp"}
    if spelling is RunFileSpelling.HARNESS:
        # The harness has no run_number; keep one it happens to carry as-is.
        known.discard("run_number")
    # Keys we do not model, and known keys that are null, are written back as they came.
    extra = {k: v for k, v in data.items() if k not in known or (v is None and k not in _RUN_KEYS_COMMON)}
    try:
        return CanaryRunResult(
            outcome=outcome,
            scenarios=tuple(scenarios),
            spelling=spelling,
            run_number=run_number,
            run_id=strs["run_id"],
            cli_version=cli_version,
            started_at=started,
            finished_at=strs["finished_at"],
            events_package_version=strs["events_package_version"],
            saas_url=strs["saas_url"],
            target_environment=strs["target_environment"],
            skip_reason=strs["skip_reason"],
            evidence_path=strs["evidence_path"],
            extra=extra,
            expected_scenarios=expected_scenarios,
        )
    except ValueError as exc:
        raise InputError(source, str(exc).splitlines()) from None
