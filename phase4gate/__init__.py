"""phase4gate: run the Phase 4 auth identity-boundary canary gate and keep evidence.

The models and errors are imported eagerly (they are small); everything else
(``gate``, ``config``, ``checks``, ``adapters``, ``sandbox``) is imported on first
touch, so ``import phase4gate`` stays cheap for other release tooling.
"""

from __future__ import annotations

import importlib

# Not `from typing import TYPE_CHECKING`: typing costs `--help` a few ms (pypa/build's idiom; mypy knows the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from phase4gate.errors import (
        AdapterError,
        ConfigError,
        EvidenceError,
        EvidenceExistsError,
        ExitCode,
        GitError,
        GitHubError,
        InputError,
        PackageIndexError,
        Phase4GateError,
        ProcessError,
        SaaSError,
        UsageError,
    )
    from phase4gate.models import (
        CanaryRunResult,
        EvidenceRef,
        GateReport,
        Outcome,
        ScenarioResult,
        ScenarioStatus,
        StepOutcome,
        StepResult,
        StepStatus,
        StopKind,
        parse_cli_version,
        parse_run_file,
    )

__all__ = [
    "AdapterError",
    "CanaryRunResult",
    "ConfigError",
    "EvidenceError",
    "EvidenceExistsError",
    "EvidenceRef",
    "ExitCode",
    "GateReport",
    "GitError",
    "GitHubError",
    "InputError",
    "Outcome",
    "PackageIndexError",
    "Phase4GateError",
    "ProcessError",
    "SaaSError",
    "ScenarioResult",
    "ScenarioStatus",
    "StepOutcome",
    "StepResult",
    "StepStatus",
    "StopKind",
    "UsageError",
    "parse_cli_version",
    "parse_run_file",
]

_LAZY_MODULES = frozenset({"adapters", "checks", "config", "convert", "gate", "sandbox", "steps", "verify"})


_ERRORS = frozenset(
    {
        "AdapterError",
        "ConfigError",
        "EvidenceError",
        "EvidenceExistsError",
        "ExitCode",
        "GitError",
        "GitHubError",
        "InputError",
        "PackageIndexError",
        "Phase4GateError",
        "ProcessError",
        "SaaSError",
        "UsageError",
    }
)


def __getattr__(name: str) -> Any:  # noqa: ANN401 - module attribute of any kind
    # Everything is resolved on first touch (attrs' _make_getattr pattern), so
    # `phase4gate --help` and `import phase4gate` stay cheap.
    if name in _ERRORS:
        return getattr(importlib.import_module("phase4gate.errors"), name)
    if name in __all__:
        return getattr(importlib.import_module("phase4gate.models"), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"phase4gate.{name}")
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("phase4gate")
    msg = f"module 'phase4gate' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted([*__all__, *_LAZY_MODULES, "__version__"])
