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

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

import attrs
from attrs import field, frozen

from phase4gate.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "AuditConfig",
    "BlockerConfig",
    "CanaryConfig",
    "CommentTarget",
    "CommentsConfig",
    "EvidenceConfig",
    "GateConfig",
    "GitHubConfig",
    "ReleaseConfig",
    "SaaSConfig",
    "SignatureConfig",
    "TeamspaceConfig",
    "load_config",
    "to_toml",
]

DEFAULT_CONFIG_NAME: Final = "gate.toml"


def _positive(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        msg = f"{attribute.name} must be > 0, got {value!r}"
        raise ValueError(msg)


def _non_negative(_inst: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        msg = f"{attribute.name} must be >= 0, got {value!r}"
        raise ValueError(msg)


def _repo_name(_inst: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
        msg = f"{attribute.name} must look like 'owner/name', got {value!r}"
        raise ValueError(msg)


@frozen
class GitHubConfig:
    """Where GitHub is and how patient to be with it."""

    api_url: str = "https://api.github.com"
    cli_repo: str = field(default="Priivacy-ai/spec-kitty", validator=_repo_name)
    e2e_repo: str = field(default="Priivacy-ai/spec-kitty-end-to-end-testing", validator=_repo_name)
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - the variable's name, not a token
    timeout_seconds: float = field(default=30.0, validator=_positive)
    deadline_seconds: float = field(default=600.0, validator=_positive)
    max_retries: int = field(default=5, validator=_non_negative)


@frozen
class BlockerConfig:
    """A blocker issue and the code that belongs to it (its focus for the fix audit)."""

    number: int
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
    install_command: tuple[str, ...] = ()
    test_env: dict[str, str] = field(factory=dict)
    test_timeout_seconds: float = field(default=900.0, validator=_positive)
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
    tag_format: str = "v{version}"
    index_url: str | None = None
    installer: Literal["uv", "pipx"] = "uv"
    install_mode: Literal["as-users-get-it", "as-of-release"] = "as-users-get-it"
    cli_commit_floor: str | None = None
    cli_checkout: str | None = None
    install_timeout_seconds: float = field(default=900.0, validator=_positive)


@frozen
class SaaSConfig:
    """WP03: the read-only SaaS preflight."""

    base_url: str = "https://spec-kitty-dev.fly.dev"
    health_path: str = "/health/"
    ready_path: str = "/health/ready/"
    min_events_version: str = "5.1.0"
    expected_terminal_failed: int = 0
    expected_business_rule_rejected: int = 22
    terminal_failed_path: str = "dependencies.drain_queue.terminal_failed_count"
    business_rule_rejected_path: str = "dependencies.drain_queue.business_rule_rejected_count"
    max_preflight_age_hours: float = field(default=24.0, validator=_positive)
    connect_timeout_seconds: float = field(default=5.0, validator=_positive)
    read_timeout_seconds: float = field(default=15.0, validator=_positive)
    deadline_seconds: float = field(default=60.0, validator=_positive)
    retries: int = field(default=3, validator=_non_negative)
    # The Fly image cannot be read from the health bodies; the operator names it.
    fly_image: str | None = None


@frozen
class SignatureConfig:
    """A known failure signature: a regex over a scenario's failure text, and the blocker it maps to."""

    name: str
    pattern: str
    blocker: int | None = None
    scenarios: tuple[int, ...] = ()

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


@frozen
class CanaryConfig:
    """WP04/WP05: the identity-boundary canary runner."""

    e2e_checkout: str | None = None
    mode: Literal["script", "pytest"] = "script"
    command: tuple[str, ...] = ("scripts/run-sync-identity-boundary-canary.sh", "--single", "--yes")
    tests_path: str = "tests/identity_boundary"
    marker: str = "sync_identity_boundary_deployed_dev"
    artifacts_dir: str = "artifacts/sync_identity_boundary"
    runs: int = field(default=4, validator=_positive)
    scenarios: tuple[int, ...] = (1, 2, 3, 4)
    timeout_seconds: float = field(default=1800.0, validator=_positive)
    setup_command: tuple[str, ...] = ()
    env: dict[str, str] = field(factory=_default_canary_env)
    signatures: tuple[SignatureConfig, ...] = _DEFAULT_SIGNATURES
    # JUnit test-id substring -> scenario id, for runners that write no run file.
    scenario_map: dict[str, int] = field(factory=dict)


@frozen
class TeamspaceConfig:
    """WP07: the Teamspace MVP suite."""

    files: tuple[str, ...] = (
        "tests/test_go_live_pre_connector_saas_e2e.py",
        "tests/test_teamspace_pulse_deployed_dev_e2e.py",
        "tests/test_teamspace_sync_deployed_dev_e2e.py",
    )
    marker: str = "deployed_dev"
    runs: int = field(default=4, validator=_positive)
    command: tuple[str, ...] = ("uv", "run", "pytest", "-v")
    log_path: str = "/tmp/teamspace-canary-run-{n}.log"  # noqa: S108 - the plan's path
    timeout_seconds: float = field(default=1800.0, validator=_positive)


@frozen
class CommentTarget:
    """An issue the gate comments on; ``repo`` None means the configured default repository."""

    number: int
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
    min_write_interval_seconds: float = field(default=1.0, validator=_non_negative)


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
_SECRET_VALUE_RE = re.compile(r"(gh[pousr]_[A-Za-z0-9_]{10,}|github_pat_[A-Za-z0-9_]{10,})")
_ALLOWED_SECRET_KEYS: Final = frozenset({"token_env"})


def _find_secrets(node: object, path: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY_RE.search(str(key)) and key not in _ALLOWED_SECRET_KEYS:
                found.append(sub)
            else:
                found.extend(_find_secrets(value, sub))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_find_secrets(value, f"{path}[{i}]"))
    elif isinstance(node, str) and _SECRET_VALUE_RE.search(node):
        found.append(path)
    return found


def config_from_mapping(data: Mapping[str, Any], *, source: str = "<config>") -> GateConfig:
    """Build a :class:`GateConfig` from decoded TOML.

    Raises:
        ConfigError: a secret in the file, an unknown key, or a wrong type (all listed).
    """
    from phase4gate import convert  # noqa: PLC0415 - cattrs stays out of CLI start-up

    secrets = _find_secrets(dict(data), "")
    if secrets:
        raise ConfigError(
            f"holds a secret at {', '.join(secrets)}; secrets are never read from a file",
            path=source,
            hint="remove it and export the token in the environment variable named by github.token_env",
        )
    try:
        return convert.structure(dict(data), GateConfig, source=source)
    except Exception as exc:
        from phase4gate.errors import InputError  # noqa: PLC0415

        if isinstance(exc, InputError):
            raise ConfigError(
                "invalid configuration:\n  " + "\n  ".join(exc.problems),
                path=source,
                hint="see `phase4gate config show` for every key and its default",
            ) from None
        raise


def load_config(path: Path | None, *, required: bool = False) -> GateConfig:
    """Load *path* (default ``gate.toml`` in the working directory) over the defaults.

    A missing default file means "all defaults"; a missing file named explicitly
    (*required*) is an error.

    Raises:
        ConfigError: unreadable, not TOML, unknown key, wrong type, or a secret.
    """
    target = path or Path(DEFAULT_CONFIG_NAME)
    if not target.exists():
        if required or path is not None:
            raise ConfigError("file not found", path=str(target))
        return GateConfig()
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=str(target)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(target)) from None
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
_SUBTABLE_KEYS: Final = frozenset({"e2e", "tracker"})
