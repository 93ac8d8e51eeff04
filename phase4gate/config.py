"""The gate's configuration: one TOML file over built-in defaults.

The defaults are the real gate's values (``shared/REAL_WORLD.md`` and the plan):
repositories, blockers #1141 and #1182 with #1141's focus, ``spec-kitty-cli``
series 3.2.0 after baseline 3.2.0rc15, the dev SaaS, drain counts 0 and 22, the
canary runner and its options, the Teamspace files, and the two comment targets.

Secrets never come from a file: the GitHub token is read from the environment
variable named by ``github.token_env`` (``GITHUB_TOKEN``).  A config file holding
anything token-shaped is refused.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import attrs
from attrs import field, frozen

from phase4gate.errors import ConfigError, credential_kind

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "MAX_DISPATCH_INPUTS",
    "ActionsConfig",
    "AuditConfig",
    "BlockerConfig",
    "CanaryConfig",
    "CommentTarget",
    "CommentsConfig",
    "EvidenceConfig",
    "GateConfig",
    "GitHubAppConfig",
    "GitHubConfig",
    "PollConfig",
    "ReleaseConfig",
    "SaaSConfig",
    "SignatureConfig",
    "TeamspaceActionsConfig",
    "TeamspaceConfig",
    "load_config",
    "to_toml",
]

DEFAULT_CONFIG_NAME: Final = "gate.toml"


_RANGE: Final = "phase4gate.range"
_ITEM_RANGE: Final = "phase4gate.item_range"


@frozen
class _Range:
    """The values a count or duration may take: ``low`` (open when ``low_open``) up to ``high``."""

    low: float
    low_open: bool = False
    high: float | None = None

    def holds(self, value: float) -> bool:
        """Return whether *value* is finite and inside the range."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        return above and (self.high is None or value <= self.high)

    def describe(self, kind: str) -> str:
        """Say the range in words: ``an int >= 1``, ``a finite float > 0``."""
        text = f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            text += f" and <= {self.high:g}"
        return text


_AT_LEAST_ONE: Final = _Range(1)
_NOT_NEGATIVE: Final = _Range(0)
_POSITIVE: Final = _Range(0, low_open=True)
# A week: longer than any real wait or timeout of the gate, short enough to catch a typo (1e9).
_MAX_SECONDS: Final = 7 * 24 * 3600.0


def _kind(value: object) -> str:
    return "a finite float" if isinstance(value, float) else "an int"


def _in_range(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:  # noqa: ANN401 - any count
    """Check that the value lies in the field's range (also for configs built in code)."""
    bounds: _Range = attribute.metadata[_RANGE]
    if isinstance(value, bool) or not isinstance(value, int | float) or not bounds.holds(value):
        msg = f"{attribute.name} must be {bounds.describe(_kind(value))}, got {value!r}"
        raise ValueError(msg)


def _items_in_range(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:  # noqa: ANN401
    bounds: _Range = attribute.metadata[_ITEM_RANGE]
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not bounds.holds(item):
            msg = f"{attribute.name} items must be {bounds.describe('an int')}, got {item!r}"
            raise ValueError(msg)


def _count(default: int, bounds: _Range = _NOT_NEGATIVE) -> Any:  # noqa: ANN401 - an attrs field
    """A whole-number setting with a range."""
    return field(default=default, validator=_in_range, metadata={_RANGE: bounds})


def _seconds(default: float, *, zero_ok: bool = False) -> Any:  # noqa: ANN401 - an attrs field
    """A duration in seconds: finite, > 0 (or >= 0), at most a week."""
    bounds = _Range(0, low_open=not zero_ok, high=_MAX_SECONDS)
    return field(default=default, validator=_in_range, metadata={_RANGE: bounds})


def _ids(default: tuple[int, ...] = ()) -> Any:  # noqa: ANN401 - an attrs field
    """A tuple of ids (issue numbers, scenario ids), each >= 1."""
    return field(default=default, validator=_items_in_range, metadata={_ITEM_RANGE: _AT_LEAST_ONE})


def _no_credential(_inst: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """Refuse a URL carrying a credential, also in a config built in code (it would reach the journal)."""
    kind = credential_kind(value) if value else None
    if kind is not None:
        msg = f"{attribute.name} holds {kind}; credentials come from the environment (e.g. PIP_INDEX_URL)"
        raise ValueError(msg)


def _placeholders(*allowed: str) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """Refuse a format string (or a tuple's) naming a placeholder other than *allowed*, or not parsing."""
    import string  # noqa: PLC0415 - only when a config is built

    def check(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:  # noqa: ANN401 - str or tuple
        for text in (value,) if isinstance(value, str) else tuple(value or ()):
            try:
                names = [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None]
            except ValueError as exc:
                msg = (
                    f"{attribute.name}: {text!r} is not a valid format string ({exc}); write '{{{{' for a literal '{{'"
                )
                raise ValueError(msg) from None
            unknown = sorted({n for n in names if n not in allowed})
            if unknown:
                msg = (
                    f"{attribute.name}: {text!r} names {', '.join('{' + n + '}' for n in unknown)}; "
                    f"only {', '.join('{' + a + '}' for a in allowed)} may be used"
                )
                raise ValueError(msg)

    return check


def _repo_name(_inst: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        msg = f"{attribute.name} must look like 'owner/name', got {value!r}"
        raise ValueError(msg)


def _repo_names(inst: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for item in value:
        _repo_name(inst, attribute, item)


_ENV_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not _ENV_NAME_RE.fullmatch(value):
        msg = f"{attribute.name} must name an environment variable (letters, digits, _), got {value!r}"
        raise ValueError(msg)


def _token_envs(_inst: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    for repo, env in value.items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
            msg = f"{attribute.name}: key {repo!r} must look like 'owner/name'"
            raise ValueError(msg)
        if not _ENV_NAME_RE.fullmatch(str(env)):
            msg = f"{attribute.name}[{repo!r}] must name an environment variable (letters, digits, _), got {env!r}"
            raise ValueError(msg)


@frozen
class GitHubAppConfig:
    """A GitHub App installation: ids, and the variable naming its private key file (never the key)."""

    app_id: int = field(validator=_in_range, metadata={_RANGE: _AT_LEAST_ONE})
    installation_id: int = field(validator=_in_range, metadata={_RANGE: _AT_LEAST_ONE})
    private_key_env: str = field(default="GITHUB_APP_PRIVATE_KEY_FILE", validator=_env_name)
    # Repositories the installation token is used for (empty: the [canary.actions] / [teamspace.actions] repos).
    repos: tuple[str, ...] = field(default=(), validator=_repo_names)


@frozen
class GitHubConfig:
    """Where GitHub is and how patient to be with it."""

    api_url: str = field(default="https://api.github.com", validator=_no_credential)
    cli_repo: str = field(default="Priivacy-ai/spec-kitty", validator=_repo_name)
    e2e_repo: str = field(default="Priivacy-ai/spec-kitty-end-to-end-testing", validator=_repo_name)
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
    timeout_seconds: float = _seconds(30.0)
    deadline_seconds: float = _seconds(600.0)
    max_retries: int = _count(5, _Range(0, high=100))
    # Repository ("owner/name") -> the environment variable holding that repository's token.
    tokens: dict[str, str] = field(factory=dict, validator=_token_envs)
    # A GitHub App whose installation token is minted for the Actions executor (phase4gate.adapters.github_app).
    app: GitHubAppConfig | None = None


@frozen
class BlockerConfig:
    """A blocker issue and the code that belongs to it (its focus for the fix audit)."""

    number: int = field(validator=_in_range, metadata={_RANGE: _AT_LEAST_ONE})
    repo: str | None = field(default=None, validator=_repo_name)
    title: str = ""
    focus_files: tuple[str, ...] = ()
    focus_symbols: tuple[str, ...] = ()


_DEFAULT_BLOCKERS: Final = (
    BlockerConfig(
        number=1141,
        title="OfflineQueue.queue_event silent replacement",
        focus_files=("src/specify_cli/sync/queue.py", "src/specify_cli/status/adapters.py"),
        focus_symbols=("OfflineQueue.queue_event", "emit_wp_status_changed", "fire_saas_fanout"),
    ),
    BlockerConfig(number=1182, title="sync now unknown-error misclassification"),
)


@frozen
class AuditConfig:
    """How WP01's fix-substance audit reads diffs and builds the proof environment."""

    logging_names: tuple[str, ...] = ("logger", "logging", "log", "_log", "_logger", "LOGGER", "LOG")
    warnings_are_logging: bool = False
    proof: bool = True
    install_command: tuple[str, ...] = field(default=(), validator=_placeholders("python", "env"))
    test_env: dict[str, str] = field(factory=dict)
    test_timeout_seconds: float = _seconds(900.0)
    # Repository name ("owner/name") -> local checkout path or clone URL.
    checkouts: dict[str, str] = field(factory=dict)


@frozen
class ReleaseConfig:
    """WP02: which package, which series, which baseline, how to install it."""

    package: str = "spec-kitty-cli"
    import_name: str = "specify_cli"
    console_script: str = "spec-kitty"
    series: str = "3.2.0"
    baseline: str = "3.2.0rc15"
    tag_format: str = field(default="v{version}", validator=_placeholders("version"))
    index_url: str | None = field(default=None, validator=_no_credential)
    installer: Literal["uv", "pipx"] = "uv"
    install_mode: Literal["as-users-get-it", "as-of-release"] = "as-users-get-it"
    cli_commit_floor: str | None = None
    cli_checkout: str | None = None
    install_timeout_seconds: float = _seconds(900.0)


@frozen
class SaaSConfig:
    """WP03: the read-only SaaS preflight."""

    base_url: str = field(default="https://spec-kitty-dev.fly.dev", validator=_no_credential)
    health_path: str = "/health/"
    ready_path: str = "/health/ready/"
    min_events_version: str = "5.1.0"
    expected_terminal_failed: int = _count(0)
    expected_business_rule_rejected: int = _count(22)
    terminal_failed_path: str = "dependencies.drain_queue.terminal_failed_count"
    business_rule_rejected_path: str = "dependencies.drain_queue.business_rule_rejected_count"
    max_preflight_age_hours: float = field(
        default=24.0, validator=_in_range, metadata={_RANGE: _Range(0, low_open=True, high=24.0 * 365)}
    )
    connect_timeout_seconds: float = _seconds(5.0)
    read_timeout_seconds: float = _seconds(15.0)
    deadline_seconds: float = _seconds(60.0)
    retries: int = _count(3, _Range(0, high=100))
    # The Fly image cannot be read from the health bodies; the operator names it.
    fly_image: str | None = None


@frozen
class SignatureConfig:
    """A known failure signature: a regex over a scenario's failure text, and the blocker it maps to."""

    name: str
    pattern: str
    blocker: int | None = field(
        default=None, validator=attrs.validators.optional(_in_range), metadata={_RANGE: _AT_LEAST_ONE}
    )
    scenarios: tuple[int, ...] = _ids()

    def __attrs_post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            msg = f"pattern {self.pattern!r} is not a valid regular expression: {exc}"
            raise ValueError(msg) from None


_DEFAULT_SIGNATURES: Final = (
    SignatureConfig(
        name="rollback-peek",
        pattern=r"peeked row is not the rollback we triggered",
        blocker=1141,
        scenarios=(4,),
    ),
    SignatureConfig(
        name="event-loop-unavailable",
        pattern=r"(?s)sync\.event_loop_unavailable.*unknown:\s*[1-9]|unknown:\s*[1-9].*sync\.event_loop_unavailable",
        blocker=1182,
        scenarios=(1, 2),
    ),
    SignatureConfig(name="forbidden-key", pattern=r"FORBIDDEN_KEY", blocker=1142, scenarios=(1, 2)),
)


def _default_canary_env() -> dict[str, str]:
    return {"SPEC_KITTY_ENABLE_SAAS_SYNC": "1", "SPEC_KITTY_E2E_TRUSTED_RUNNER": "1"}


_API_VERSIONS: Final = ("2022-11-28", "2026-03-10")
# GitHub's limit on workflow_dispatch inputs, cli_version and correlation_id included.
MAX_DISPATCH_INPUTS: Final = 25
_RESERVED_INPUTS: Final = frozenset({"cli_version", "correlation_id"})


@frozen
class PollConfig:
    """How often a dispatched run is read: ``initial_seconds``, times ``backoff`` per read, at most ``max_seconds``."""

    initial_seconds: float = _seconds(5.0)
    backoff: float = field(default=1.5, validator=_in_range, metadata={_RANGE: _Range(1, high=10)})
    max_seconds: float = _seconds(60.0)

    def interval(self, reads: int) -> float:
        """Return the pause after read number *reads* (1-based) of a run that is not completed."""
        return float(min(self.max_seconds, self.initial_seconds * self.backoff ** max(0, reads - 1)))


def _inputs(_inst: object, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    reserved = sorted(set(value) & _RESERVED_INPUTS)
    if reserved:
        msg = f"{attribute.name}: {', '.join(reserved)} is set by the gate (the RC and the run's correlation id)"
        raise ValueError(msg)
    if len(value) + len(_RESERVED_INPUTS) > MAX_DISPATCH_INPUTS:
        msg = (
            f"{attribute.name}: {len(value)} extra inputs plus cli_version and correlation_id exceed GitHub's "
            f"{MAX_DISPATCH_INPUTS} workflow_dispatch inputs"
        )
        raise ValueError(msg)


def _sha(_inst: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[0-9a-f]{40}", value):
        msg = f"{attribute.name} must be a full 40-character lowercase commit SHA, got {value!r}"
        raise ValueError(msg)


def _workflow_file(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.ya?ml|[0-9]+", value):
        msg = f"{attribute.name} must be a workflow file name (name.yml) or a workflow id, got {value!r}"
        raise ValueError(msg)


def _git_ref(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not re.fullmatch(r"(?!-)[A-Za-z0-9_./-]{1,255}", value) or ".." in value:
        msg = f"{attribute.name} must be a branch or tag name, got {value!r}"
        raise ValueError(msg)


def _artifact_name(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # upload-artifact refuses " : < > | * ? \\ / and carriage returns in a name; an empty name is none.
    if not value.strip() or re.search(r'[":<>|*?\\/\r\n]', value):
        msg = f"{attribute.name} must be an artifact name (not empty; no quote, colon, <, >, |, *, ?, /), got {value!r}"
        raise ValueError(msg)


@frozen
class ActionsConfig:
    """``[canary.actions]``: the workflow that runs one canary run on GitHub Actions."""

    repo: str | None = field(default=None, validator=_repo_name)  # None: github.e2e_repo
    workflow: str = field(default="identity-boundary-canary.yml", validator=_workflow_file)
    ref: str = field(default="main", validator=_git_ref)
    pinned_sha: str | None = field(default=None, validator=_sha)
    artifact: str = field(default="sync-identity-boundary", validator=_artifact_name)
    inputs: dict[str, str] = field(factory=dict, validator=_inputs)
    api_version: Literal["2022-11-28", "2026-03-10"] = "2022-11-28"
    queue_timeout_seconds: float = _seconds(900.0)
    run_timeout_seconds: float = _seconds(3600.0)
    poll: PollConfig = PollConfig()


@frozen
class TeamspaceActionsConfig:
    """``[teamspace.actions]``: the workflow of one Teamspace run, and how many may run at once."""

    repo: str | None = field(default=None, validator=_repo_name)
    workflow: str = field(default="teamspace-mvp.yml", validator=_workflow_file)
    ref: str = field(default="main", validator=_git_ref)
    pinned_sha: str | None = field(default=None, validator=_sha)
    artifact: str = field(default="teamspace-mvp", validator=_artifact_name)
    inputs: dict[str, str] = field(factory=dict, validator=_inputs)
    api_version: Literal["2022-11-28", "2026-03-10"] = "2022-11-28"
    queue_timeout_seconds: float = _seconds(900.0)
    run_timeout_seconds: float = _seconds(3600.0)
    poll: PollConfig = PollConfig()
    parallel: int = _count(1, _Range(1, high=4))


@frozen
class CanaryConfig:
    """WP04/WP05: the identity-boundary canary runner."""

    e2e_checkout: str | None = None
    # Who runs each canary run: a local subprocess in e2e_checkout, or GitHub Actions (phase4gate.executor).
    executor: Literal["local", "github-actions"] = "local"
    mode: Literal["script", "pytest"] = "script"
    command: tuple[str, ...] = ("scripts/run-sync-identity-boundary-canary.sh", "--single", "--yes")
    tests_path: str = "tests/identity_boundary"
    marker: str = "sync_identity_boundary_deployed_dev"
    artifacts_dir: str = "artifacts/sync_identity_boundary"
    runs: int = _count(4, _Range(1, high=100))
    scenarios: tuple[int, ...] = _ids((1, 2, 3, 4))
    timeout_seconds: float = _seconds(1800.0)
    setup_command: tuple[str, ...] = ()
    env: dict[str, str] = field(factory=_default_canary_env)
    signatures: tuple[SignatureConfig, ...] = _DEFAULT_SIGNATURES
    # JUnit test-id substring -> scenario id, for runners that write no run file.
    scenario_map: dict[str, int] = field(factory=dict, validator=_items_in_range, metadata={_ITEM_RANGE: _AT_LEAST_ONE})
    actions: ActionsConfig = ActionsConfig()


@frozen
class TeamspaceConfig:
    """WP07: the Teamspace MVP suite."""

    files: tuple[str, ...] = (
        "tests/test_go_live_pre_connector_saas_e2e.py",
        "tests/test_teamspace_pulse_deployed_dev_e2e.py",
        "tests/test_teamspace_sync_deployed_dev_e2e.py",
    )
    marker: str = "deployed_dev"
    runs: int = _count(4, _Range(1, high=100))
    command: tuple[str, ...] = ("uv", "run", "pytest", "-v")
    log_path: str = field(default="/tmp/teamspace-canary-run-{n}.log", validator=_placeholders("n"))  # noqa: S108 - the plan's path
    timeout_seconds: float = _seconds(1800.0)
    actions: TeamspaceActionsConfig = TeamspaceActionsConfig()


@frozen
class CommentTarget:
    """An issue the gate comments on; ``repo`` None means the configured default repository."""

    number: int = field(validator=_in_range, metadata={_RANGE: _AT_LEAST_ONE})
    repo: str | None = field(default=None, validator=_repo_name)
    close: bool = False
    never_close: bool = False

    def __attrs_post_init__(self) -> None:
        if self.close and self.never_close:
            msg = f"issue #{self.number} cannot be both close = true and never_close = true"
            raise ValueError(msg)


@frozen
class CommentsConfig:
    """WP06/WP08 comment targets and write pacing."""

    gate_id: str = "phase4-canary-gate-01KS1W46"
    e2e: CommentTarget = CommentTarget(number=41, close=True)
    tracker: CommentTarget = CommentTarget(number=1038, never_close=True)
    min_write_interval_seconds: float = _seconds(1.0, zero_ok=True)


@frozen
class EvidenceConfig:
    """Where evidence is written."""

    root: str = "evidence"


@frozen
class GateConfig:
    """The whole configuration; every section has the real gate's defaults."""

    github: GitHubConfig = GitHubConfig()
    blockers: tuple[BlockerConfig, ...] = _DEFAULT_BLOCKERS
    audit: AuditConfig = AuditConfig()
    release: ReleaseConfig = ReleaseConfig()
    saas: SaaSConfig = SaaSConfig()
    canary: CanaryConfig = CanaryConfig()
    teamspace: TeamspaceConfig = TeamspaceConfig()
    comments: CommentsConfig = CommentsConfig()
    evidence: EvidenceConfig = EvidenceConfig()

    def token(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Return the GitHub token from the environment (never from a file)."""
        env = os.environ if environ is None else environ
        return env.get(self.github.token_env) or None

    def repo_for(self, target: CommentTarget | BlockerConfig, default: str | None = None) -> str:
        """Return the repository of *target*, falling back to *default* or the CLI repo."""
        return target.repo or default or self.github.cli_repo


_SECRET_KEY_RE = re.compile(r"(token|password|passwd|secret|api_key|apikey|credential)s?$", re.IGNORECASE)
_ALLOWED_SECRET_KEYS: Final = frozenset({"token_env", "tokens"})
_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(path: str, key: str, *, hide: bool = False) -> str:
    if hide:
        return f'{path}["***"]'
    return f"{path}.{key}" if _PLAIN_KEY_RE.fullmatch(key) else f"{path}[{key!r}]"


def _find_secrets(node: object, path: str = "$") -> list[str]:
    """Return ``$.path (what kind)`` for every secret in *node*; the secret itself is never quoted."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            kind = credential_kind(str(key))
            if kind is not None:
                found.append(f"{_key_path(path, str(key), hide=True)} (a key holding {kind})")
                continue
            sub = _key_path(path, str(key))
            if _SECRET_KEY_RE.search(str(key)) and key not in _ALLOWED_SECRET_KEYS:
                found.append(f"{sub} (a secret-named key)")
            else:
                found.extend(_find_secrets(value, sub))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_find_secrets(value, f"{path}[{i}]"))
    elif isinstance(node, str):
        kind = credential_kind(node)
        if kind is not None:
            found.append(f"{path} ({kind})")
    return found


# --------------------------------------------------------------------------- strict types

_MAX_SHOWN: Final = 40


def _found(value: object) -> str:
    """Describe a TOML value as found: its TOML type and (short) value."""
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a float ({value!r})" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        shown = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…"
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return f"an array of {len(value)} item(s)"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"a TOML date/time ({value.isoformat()})"
    return type(value).__name__


def _expected(tp: Any) -> str:  # noqa: ANN401 - a type expression
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in {typing.Union, types.UnionType}:
        return " or ".join(_expected(a) for a in args if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        return f"array of {_expected(args[0])}"
    if origin is dict:
        return f"table of {_expected(args[1])}"
    if attrs.has(tp):
        return "table"
    return str(getattr(tp, "__name__", tp))


def _is_type(value: object, tp: Any) -> bool:  # noqa: ANN401 - a type expression
    """A bool is not an int, a float is not an int, a string is not a number."""
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    return True


def _check_value(value: object, tp: Any, path: str, meta: Mapping[str, Any], problems: list[str]) -> None:  # noqa: ANN401
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in {typing.Union, types.UnionType}:
        inner = [a for a in args if a is not type(None)]
        if value is not None:
            _check_value(value, inner[0], path, meta, problems)
        return
    if origin is Literal:
        if not any(type(value) is type(a) and value == a for a in args):
            problems.append(f"{path}: invalid value, expected {_expected(tp)}, found {_found(value)}")
        return
    if origin is tuple:
        if not isinstance(value, list):
            problems.append(f"{path}: invalid value for type, expected {_expected(tp)}, found {_found(value)}")
            return
        for i, item in enumerate(value):
            _check_value(
                item, args[0], f"{path}[{i}]", {_RANGE: meta[_ITEM_RANGE]} if _ITEM_RANGE in meta else {}, problems
            )
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: invalid value for type, expected {_expected(tp)}, found {_found(value)}")
            return
        item_meta = {_RANGE: meta[_ITEM_RANGE]} if _ITEM_RANGE in meta else {}
        for key, item in value.items():
            _check_value(item, args[1], _key_path(path, str(key)), item_meta, problems)
        return
    if attrs.has(tp):
        _check_table(value, tp, path, problems)
        return
    if not _is_type(value, tp):
        problems.append(f"{path}: invalid value for type, expected {_expected(tp)}, found {_found(value)}")
        return
    bounds = meta.get(_RANGE)
    if isinstance(value, float) and not math.isfinite(value) and bounds is None:
        problems.append(f"{path}: invalid value, expected a finite float, found {_found(value)}")
    elif bounds is not None and isinstance(value, int | float) and not bounds.holds(value):
        kind = "an int" if tp is int else "a finite float"
        problems.append(f"{path}: invalid value, expected {bounds.describe(kind)}, found {_found(value)}")


def _check_table(value: object, cls: type, path: str, problems: list[str]) -> None:
    """Check *value* against the attrs class *cls*: keys known, required keys there, each value typed."""
    if not isinstance(value, dict):
        problems.append(f"{path}: invalid value for type, expected table, found {_found(value)}")
        return
    hints = typing.get_type_hints(cls)
    fields = {a.name: a for a in attrs.fields(cls)}
    problems.extend(
        f"{_key_path(path, str(key))}: unknown key; expected one of {', '.join(fields)}"
        for key in value
        if key not in fields
    )
    for name, attribute in fields.items():
        if name in value:
            _check_value(value[name], hints[name], f"{path}.{name}", attribute.metadata, problems)
        elif attribute.default is attrs.NOTHING:
            problems.append(f"{path}.{name}: required key missing ({_expected(hints[name])})")


def check_types(data: Mapping[str, Any]) -> list[str]:
    """Return every type and range problem of decoded TOML *data*, one ``$.path: ...`` line each.

    A bool is not an int (``runs = true``), a float is not an int (``runs = 1.9``),
    a string is not a number (``runs = "4"``), NaN and infinities are refused, and
    every count and duration has a range (runs >= 1, timeouts > 0 and finite).
    """
    problems: list[str] = []
    _check_table(dict(data), GateConfig, "$", problems)
    return problems


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<config>") -> GateConfig:
    """Build a :class:`GateConfig` from decoded TOML.

    Raises:
        ConfigError: a secret in the file (its path named, never its text), an
            unknown key, a wrong type or an out-of-range value (all listed).
    """
    from phase4gate import convert  # noqa: PLC0415 - cattrs stays out of CLI start-up
    from phase4gate.errors import InputError  # noqa: PLC0415

    secrets = _find_secrets(dict(data))
    if secrets:
        raise ConfigError(
            f"holds a secret at {', '.join(secrets)}; secrets are never read from a file",
            path=source,
            hint="remove it and export the token in the environment variable named by github.token_env",
        )
    problems = check_types(data)
    if not problems:
        try:
            return convert.structure(dict(data), GateConfig, source=source)
        except InputError as exc:
            problems = list(exc.problems)
    raise ConfigError(
        f"invalid configuration ({len(problems)} problem(s)):\n  " + "\n  ".join(f"{source}: {p}" for p in problems),
        path=source,
        hint="see `phase4gate config show` for every key and its default",
    )


def load_config(path: Path | None, *, required: bool = False) -> GateConfig:
    """Load *path* (default ``gate.toml`` in the working directory) over the defaults.

    A missing default file means "all defaults"; a missing file named explicitly
    (*required*) is an error.

    Raises:
        ConfigError: unreadable, not UTF-8, not TOML, unknown key, wrong type, or a secret.
    """
    target = path or Path(DEFAULT_CONFIG_NAME)
    if not target.exists():
        if required or path is not None:
            raise ConfigError("file not found", path=str(target))
        return GateConfig()
    try:
        raw = target.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(target)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"not UTF-8: byte 0x{raw[exc.start]:02x} at line {line}, column {column} (offset {exc.start})",
            path=str(target),
            hint="save the file as UTF-8 (TOML files are UTF-8)",
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(target)) from None
    return config_from_mapping(data, source=str(target))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    msg = f"cannot write {value!r} as TOML"
    raise TypeError(msg)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_value(key)


def _is_table_array(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def to_toml(config: GateConfig) -> str:
    """Render *config* as TOML that :func:`load_config` reads back to an equal config."""
    from phase4gate import convert  # noqa: PLC0415

    data: dict[str, Any] = convert.unstructure(config)
    out: list[str] = []
    top = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
    out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in top.items())
    if top:
        out.append("")
    for key, value in data.items():
        if isinstance(value, dict):
            _toml_table_any(key, value, out)
        elif isinstance(value, list):
            for item in value:
                _toml_table_any(key, item, out, array=True)
    return "\n".join(out).rstrip() + "\n"


def _toml_table_any(name: str, table: Mapping[str, Any], out: list[str], *, array: bool = False) -> None:
    simple: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for k, v in table.items():
        if v is None:
            continue
        if (
            (isinstance(v, dict) and any(isinstance(x, dict | list) for x in v.values()))
            or (isinstance(v, dict) and k in _SUBTABLE_KEYS)
            or _is_table_array(v)
        ):
            nested[k] = v
        else:
            simple[k] = v
    out.append(f"[[{name}]]" if array else f"[{name}]")
    out.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in simple.items())
    out.append("")
    for k, v in nested.items():
        if isinstance(v, list):
            for item in v:
                _toml_table_any(f"{name}.{k}", item, out, array=True)
        else:
            _toml_table_any(f"{name}.{k}", v, out)


# Sub-objects that are attrs sections (written as [a.b] tables, not inline tables).
_SUBTABLE_KEYS: Final = frozenset({"e2e", "tracker", "actions", "poll", "app"})
