"""The sandbox world: every emulator and fixture repository the gate needs, wired together.

:class:`World` builds real git repositories (the spec-kitty-shaped CLI with a release
line tagged ``v3.2.0rc15`` and ``v3.2.0rc16``, the sibling end-to-end repository with
its harness fix, and the end-to-end checkout with the canary suites), starts the
GitHub, package-index and SaaS emulators on 127.0.0.1, seeds GitHub with the blockers
closed by the real fix commits, and returns a :class:`~phase4gate.config.GateConfig`
pointing at all of it.  The gate then runs through exactly the code path of a real
gate.  A *scenario* changes one thing in that world so the gate ends on one stop
condition (:data:`SCENARIOS`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Final, Self

from attrs import frozen

from phase4gate.config import (
    ActionsConfig,
    AuditConfig,
    CanaryConfig,
    CommentsConfig,
    EvidenceConfig,
    GateConfig,
    GitHubConfig,
    PollConfig,
    ReleaseConfig,
    SaaSConfig,
    TeamspaceActionsConfig,
    TeamspaceConfig,
)

__all__ = ["ACTIONS_SCENARIOS", "EXECUTORS", "SCENARIOS", "Scenario", "World", "scenario"]

CLI_REPO: Final = "Priivacy-ai/spec-kitty"
E2E_REPO: Final = "Priivacy-ai/spec-kitty-end-to-end-testing"
FLY_IMAGE: Final = "registry.fly.io/spec-kitty-dev:deployment-sandbox"
_ERRORS_PATH: Final = "src/specify_cli/sync/errors.py"
_FIX_1182_TEST: Final = """\
from specify_cli.sync.errors import classify_sync_error


def test_event_loop_unavailable_is_transient_not_unknown():
    assert classify_sync_error("sync.event_loop_unavailable") == "transient"


def test_other_codes_stay_unknown():
    assert classify_sync_error("SOMETHING") == "unknown"
"""


@frozen
class Scenario:
    """A demo scenario: the WP where the gate stops and how (``None`` for the green gate).

    ``executor``: the canary executor the scenario is meant for; ``exit_code``: the gate's
    expected exit when it is not 0 (green) or 1 (a stop), e.g. 3 "could not decide".
    """

    name: str
    summary: str
    wp: str | None = None
    kind: str | None = None
    executor: str = "local"
    exit_code: int | None = None


SCENARIOS: Final = (
    Scenario("green", "every WP passes; both comments posted, e2e#41 closed, #1038 open"),
    Scenario("issue-open", "#1141 is still open", "WP01", "waiting"),
    Scenario("not-planned", "#1141 was closed as not planned", "WP01", "failed"),
    Scenario("closed-without-fix", "#1141 was closed with no linked change", "WP01", "failed"),
    Scenario("logging-only-fix", "#1141's fix only adds logging (and a caplog test of it)", "WP01", "failed"),
    Scenario(
        "two-blocker-squash",
        "one squash closes #1142 and #1141: behavioural for #1142, logging-only for #1141",
        "WP01",
        "failed",
    ),
    Scenario("test-not-proving", "#1141's new test passes with and without the fix", "WP01", "failed"),
    Scenario("missing-name-proof", "#1141's test fails without the fix only on a missing new name", "WP01", "failed"),
    Scenario("no-new-rc", "the index has nothing newer than 3.2.0rc15", "WP02", "waiting"),
    Scenario("rc-without-fix", "tag v3.2.0rc16 does not contain the fix commits", "WP02", "waiting"),
    Scenario(
        "dependency-drift", "rc16 breaks with today's dependency release, works as of its upload", "WP02", "failed"
    ),
    Scenario("saas-not-ready", "/health/ready/ answers 503", "WP03", "waiting"),
    Scenario("drain-mismatch", "the business-rule count is 23, not exactly 22", "WP03", "failed"),
    Scenario(
        "scenario-fails", "scenario 4 fails with #1141's rollback-peek signature (re-opens #1141)", "WP04", "failed"
    ),
    Scenario(
        "unknown-signature", "scenario 1 fails with 'Batch sync failed (400)': re-opens nothing", "WP04", "failed"
    ),
    Scenario("flaky-four-run", "run 3 of the four-run protocol fails", "WP05", "failed"),
    Scenario("saas-redeployed", "the SaaS redeploys between WP05's runs 2 and 3", "WP05", "waiting"),
    Scenario("teamspace-fails", "a Teamspace run fails with HTTP 413 (ingress cap)", "WP07", "failed"),
)

EXECUTORS: Final = ("local", "github-actions")
_GHA: Final = "github-actions"
# Emulator behaviours for the GitHub Actions executor; where each ends is judged by the executor.
ACTIONS_SCENARIOS: Final = (
    Scenario("actions-green", "every canary run on the sandbox Actions runner; green", executor=_GHA, exit_code=0),
    Scenario(
        "actions-rerun-attempt",
        "WP05's run 2 is re-run once on Actions (run_attempt 2)",
        "WP05",
        "failed",
        _GHA,
        1,
    ),
    Scenario("actions-digest-mismatch", "the artifact's digest is not its zip's sha256", "WP04", "failed", _GHA, 1),
    Scenario("actions-wrong-sha", "the runs check out another commit than the pinned SHA", "WP04", "failed", _GHA, 1),
    Scenario("actions-cancelled", "every canary run is cancelled once in progress", "WP04", None, _GHA, 3),
    Scenario("actions-queued-forever", "no runner ever takes a canary run", "WP04", None, _GHA, 3),
    Scenario("actions-artifact-expired", "artifacts expire as soon as uploaded (410)", "WP04", None, _GHA, 3),
    Scenario(
        "actions-no-run-details",
        "dispatch refuses return_run_details (older GHES): run found by correlation id",
        executor=_GHA,
        exit_code=0,
    ),
    Scenario(
        "actions-rate-limited",
        "the first reads of the first canary run are rate limited (429, 403 secondary, 403 primary)",
        executor=_GHA,
        exit_code=0,
    ),
    Scenario("actions-dispatch-422", "dispatch answers 422 (no workflow_dispatch trigger)", "WP04", None, _GHA, 2),
)

# The sandbox's Actions runs start within a second and end within seconds: short bounds, a fast poll,
# so the queued-forever scenario ends within seconds too.
_SANDBOX_ACTIONS_TIMING: Final[dict[str, Any]] = {
    "queue_timeout_seconds": 8.0,
    "run_timeout_seconds": 300.0,
    "poll": PollConfig(initial_seconds=0.2, backoff=1.5, max_seconds=1.0),
}

_BY_NAME: Final = {s.name: s for s in (*SCENARIOS, *ACTIONS_SCENARIOS)}


def scenario(name: str) -> Scenario:
    """Return the scenario named *name*.

    Raises:
        UsageError: no such scenario.
    """
    from phase4gate.errors import UsageError  # noqa: PLC0415

    try:
        return _BY_NAME[name]
    except KeyError:
        msg = f"unknown scenario {name!r}; expected one of {', '.join(_BY_NAME)}"
        raise UsageError(msg, hint="`phase4gate demo --scenario list` lists them") from None


class World:
    """Build and start the sandbox world for one scenario; stop it (also on error)."""

    def __init__(
        self,
        root: Path | None = None,
        scenario_name: str = "green",
        *,
        python: str | None = None,
        executor: str | None = None,
        actions_workers: int = 2,
    ) -> None:
        from phase4gate.errors import UsageError  # noqa: PLC0415

        self.scenario = scenario(scenario_name)
        self.executor = executor or self.scenario.executor
        if self.executor not in EXECUTORS:
            msg = f"unknown executor {self.executor!r}; expected one of {', '.join(EXECUTORS)}"
            raise UsageError(msg, hint="use --executor local or --executor github-actions")
        self.actions_workers = actions_workers
        self._own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="phase4gate-world-"))
        self.python = python or sys.executable
        self.commits: dict[str, str] = {}
        self._servers: list[Any] = []
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        # Per evidence root: the run-2.json files there before this world's gate ran.
        self._baseline: dict[Path, set[Path]] = {}
        self._baseline_lock = threading.Lock()
        self.github: Any = None
        self.index: Any = None
        self.saas: Any = None
        self.cli_path = self.root / "spec-kitty"
        self.e2e_fix_path = self.root / "spec-kitty-end-to-end-testing-fix"
        self.e2e_checkout = self.root / "spec-kitty-end-to-end-testing"
        # The e2e repository GitHub Actions checks out (a git repository with the workflows).
        self.e2e_actions_repo = self.root / "spec-kitty-end-to-end-testing-actions"
        self.actions_runner: Any = None
        self.evidence_root = self.root / "evidence"

    # ------------------------------------------------------------------ repositories

    def _build_repos(self) -> None:
        from phase4gate.adapters.git import read_sources  # noqa: PLC0415
        from phase4gate.sandbox.e2e import build_e2e_checkout  # noqa: PLC0415
        from phase4gate.sandbox.repos import build_cli_repo, build_e2e_fix_repo, commit_files, git  # noqa: PLC0415

        cli = build_cli_repo(self.cli_path)
        self.commits = {f"cli:{k}": v for k, v in cli.commits.items()}
        fix_1141 = cli.sha("substantive")
        base_errors = read_sources(self.cli_path, cli.sha("base"), [_ERRORS_PATH])[_ERRORS_PATH]
        fixed_errors = base_errors.replace(
            '    return "unknown"\n',
            '    if code.startswith("sync.event_loop_unavailable"):\n'
            '        return "transient"\n'
            '    return "unknown"\n',
        )
        fix_1182 = commit_files(
            self.cli_path,
            {_ERRORS_PATH: fixed_errors, "tests/sync/test_sync_now_errors.py": _FIX_1182_TEST},
            "Classify sync.event_loop_unavailable as transient in sync now\n\nCloses #1182",
            date="2026-05-19T09:00:00+00:00",
            parent=fix_1141,
        )
        self.commits["cli:fix-1182"] = fix_1182
        rc16_at = cli.sha("base") if self.scenario.name == "rc-without-fix" else fix_1182
        git(self.cli_path, "tag", "v3.2.0rc15", cli.sha("base"))
        git(self.cli_path, "tag", "v3.2.0rc16", rc16_at)
        git(self.cli_path, "branch", "--force", "main", fix_1182)
        git(self.cli_path, "checkout", "--quiet", "--force", "main")
        sibling = build_e2e_fix_repo(self.e2e_fix_path)
        self.commits.update({f"e2e:{k}": v for k, v in sibling.commits.items()})
        build_e2e_checkout(self.e2e_checkout, python=self.python)
        from phase4gate.sandbox.e2e import build_e2e_repo  # noqa: PLC0415

        self.commits.update(
            {f"e2e-actions:{k}": v for k, v in build_e2e_repo(self.e2e_actions_repo, python=self.python).items()}
        )

    def _fix_for_1141(self) -> str:
        variant = {
            "logging-only-fix": "logging-only",
            "two-blocker-squash": "two-blocker-squash",
            "test-not-proving": "test-passes-without-fix",
            "missing-name-proof": "missing-name",
        }.get(self.scenario.name, "substantive")
        return self.commits[f"cli:{variant}"]

    # ------------------------------------------------------------------ emulators

    def _seed(self) -> Any:  # noqa: ANN401 - the GitHub seed model
        from phase4gate.sandbox.github_seed import apply_blocker_scenario, default_seed  # noqa: PLC0415

        seed = default_seed(
            {1141: self._fix_for_1141(), 1182: self.commits["cli:fix-1182"]},
            repo_paths={CLI_REPO: str(self.cli_path), E2E_REPO: str(self.e2e_fix_path)},
            cli_repo=CLI_REPO,
            e2e_repo=E2E_REPO,
        )
        if self.scenario.name in {"issue-open", "not-planned", "closed-without-fix"}:
            apply_blocker_scenario(seed, self.scenario.name, number=1141, repo=CLI_REPO)
        return seed

    def _saas_extra(self) -> dict[str, Any]:
        from phase4gate.sandbox.e2e import (  # noqa: PLC0415
            SIGNATURE_TEXTS,
            TEAMSPACE_TEXTS,
            UNKNOWN_SIGNATURE_TEXT,
            canary_state,
            teamspace_state,
        )

        name = self.scenario.name
        canary: dict[str, Any] = canary_state()
        if name == "scenario-fails":
            canary = canary_state(fail={4: SIGNATURE_TEXTS["rollback-peek"]})
        elif name == "unknown-signature":
            canary = canary_state(fail={1: UNKNOWN_SIGNATURE_TEXT})
        elif name == "flaky-four-run":
            canary = canary_state(flaky_fail_run=4)
        teamspace = teamspace_state(TEAMSPACE_TEXTS["payload-too-large"]) if name == "teamspace-fails" else {}
        return {"canary": canary, "teamspace": teamspace}

    def start(self) -> Self:
        """Build the repositories and start the emulators.

        Raises:
            GitError, ProcessError: a fixture could not be built.
        """
        from phase4gate.sandbox.github_api import GitHubEmulator  # noqa: PLC0415
        from phase4gate.sandbox.index import IndexEmulator  # noqa: PLC0415
        from phase4gate.sandbox.saas import SaaSEmulator  # noqa: PLC0415

        try:
            self._build_repos()
            release_set = {"no-new-rc": "only-rc15", "dependency-drift": "dependency-drift"}.get(
                self.scenario.name, "rc15-rc16"
            )
            saas_state = {"saas-not-ready": "not-ready", "drain-mismatch": "counts-off"}.get(
                self.scenario.name, "healthy"
            )
            self.github = GitHubEmulator(self._seed()).start()
            self._servers.append(self.github)
            self.github.actions.add_source(E2E_REPO, str(self.e2e_actions_repo))
            self.github.actions.set_behaviour(self.actions_behaviour())
            self.index = IndexEmulator(release_set).start()
            self._servers.append(self.index)
            self.saas = SaaSEmulator(saas_state).start()
            self._servers.append(self.saas)
            self.saas.extra.update(self._saas_extra())
            if self.executor == _GHA:
                from phase4gate.sandbox.actions_runner import ActionsRunner  # noqa: PLC0415

                self.actions_runner = ActionsRunner(
                    self.github.actions,
                    work_root=self.root / "actions-runner",
                    index_url=self.index.simple_url,
                    saas_url=self.saas.base_url,
                    python=self.python,
                    workers=self.actions_workers,
                ).start()
                self._servers.append(self.actions_runner)
            if self.scenario.name == "saas-redeployed":
                self._watch_for_redeploy()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def actions(self) -> Any:  # noqa: ANN401 - the GitHub emulator's ActionsService
        """The GitHub emulator's Actions state and knobs (``github.actions``)."""
        return self.github.actions

    def actions_behaviour(self) -> Any:  # noqa: ANN401 - an ActionsBehaviour
        """Return the GitHub Actions emulator's behaviour for this world's scenario."""
        from phase4gate.sandbox.e2e import CANARY_WORKFLOW  # noqa: PLC0415
        from phase4gate.sandbox.github_actions import ActionsBehaviour  # noqa: PLC0415

        canary = {"workflow": CANARY_WORKFLOW}
        table: dict[str, dict[str, Any]] = {
            "actions-rerun-attempt": {"rerun_first_attempt": True, "runs": (3,), **canary},
            "actions-digest-mismatch": {"corrupt_digest": True, **canary},
            "actions-wrong-sha": {"head_sha": self.commits.get("e2e-actions:previous"), **canary},
            "actions-cancelled": {"cancel_runs": True, **canary},
            "actions-queued-forever": {"queued_forever": True, **canary},
            "actions-artifact-expired": {"artifact_ttl_seconds": 0.0, **canary},
            "actions-no-run-details": {"run_details": False},
            "actions-rate-limited": {"rate_limited": True, "runs": (1,), **canary},
            "actions-dispatch-422": {"dispatch_error": "Workflow does not have 'workflow_dispatch' trigger"},
        }
        return ActionsBehaviour(**table.get(self.scenario.name, {}))

    def publish_rc(self, version: str = "3.2.0rc17", *, upload_day: str = "05-12") -> str:
        """Cut a new RC containing every fix: tag ``main`` ``v<version>``, serve it, and make the canary green.

        What an operator does after a canary stop (the real rc16 -> rc17): the fix of the
        failure lands, a new RC is tagged and uploaded.  Returns the tag's commit.
        """
        from phase4gate.sandbox.e2e import canary_state  # noqa: PLC0415
        from phase4gate.sandbox.index import Release  # noqa: PLC0415
        from phase4gate.sandbox.repos import git  # noqa: PLC0415
        from phase4gate.sandbox.wheels import CLI_PACKAGE  # noqa: PLC0415

        head = self.commits["cli:fix-1182"]
        git(self.cli_path, "tag", f"v{version}", head)
        release = Release(CLI_PACKAGE, version, f"2026-{upload_day}T12:00:00.000000Z")
        self.index.set_release_set([*self.index.releases, release])
        self.saas.extra["canary"] = canary_state()
        return head

    def _watch_for_redeploy(self) -> None:
        """Redeploy the SaaS once WP05's run 2 is in the evidence (an outside event, as in reality)."""

        def watch() -> None:
            while not self._stop.wait(0.05):
                # Only a run-2.json this world's gate wrote counts: what the evidence root held
                # before (an earlier green run) never triggers the redeploy.
                with self._baseline_lock:
                    seen = self._baseline.get(self.evidence_root)
                    if seen is None:
                        seen = self._baseline[self.evidence_root] = self._run2_files()
                if self._run2_files() - seen:
                    self.saas.redeploy()
                    return

        self._watcher = threading.Thread(target=watch, name="redeploy-watcher", daemon=True)
        self._watcher.start()

    def _run2_files(self) -> set[Path]:
        return set(self.evidence_root.glob("*/rc16-attempt*/runs/run-2.json"))

    def stop(self) -> None:
        """Stop every emulator and remove the world's temporary folder (if it made one)."""
        self._stop.set()
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        if self._watcher is not None:
            self._watcher.join(5)
        if self._own_root and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ configuration

    def config(self, evidence_root: Path | None = None) -> GateConfig:
        """Return the gate configuration pointing at this world (evidence under *evidence_root*)."""
        root = evidence_root or self.evidence_root
        with self._baseline_lock:
            self.evidence_root = root  # the redeploy watcher looks here, for files new since now
            self._baseline.setdefault(root, self._run2_files())
        return GateConfig(
            github=GitHubConfig(
                api_url=self.github.api_url,
                cli_repo=CLI_REPO,
                e2e_repo=E2E_REPO,
                deadline_seconds=60.0,
            ),
            audit=AuditConfig(checkouts={CLI_REPO: str(self.cli_path), E2E_REPO: str(self.e2e_fix_path)}),
            release=ReleaseConfig(index_url=self.index.simple_url, install_timeout_seconds=300.0),
            saas=SaaSConfig(base_url=self.saas.base_url, fly_image=FLY_IMAGE, deadline_seconds=20.0, retries=1),
            canary=CanaryConfig(
                e2e_checkout=str(self.e2e_checkout),
                timeout_seconds=300.0,
                executor="github-actions" if self.executor == _GHA else "local",
                actions=ActionsConfig(**self._actions_settings()),
            ),
            teamspace=TeamspaceConfig(
                command=(self.python, "-m", "pytest", "-v"),
                log_path=str(self.root / "logs" / "teamspace-canary-run-{n}.log"),
                timeout_seconds=300.0,
                actions=TeamspaceActionsConfig(**self._actions_settings()),
            ),
            comments=CommentsConfig(min_write_interval_seconds=0.0),
            evidence=EvidenceConfig(root=str(root)),
        )

    def _actions_settings(self) -> dict[str, Any]:
        """Return the ``[canary.actions]`` / ``[teamspace.actions]`` settings of this world (defaults when local)."""
        if self.executor != _GHA:
            return {}
        return {"pinned_sha": self.commits["e2e-actions:pinned"], **_SANDBOX_ACTIONS_TIMING}

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Return the environment for the gate: *base* plus the sandbox's GitHub token."""
        env = dict(base or {})
        env["GITHUB_TOKEN"] = self.github.token
        return env

    def describe(self) -> dict[str, str]:
        """Every base URL and path the world serves (the `phase4gate sandbox` JSON line)."""
        from phase4gate.sandbox.e2e import CANARY_WORKFLOW, TEAMSPACE_WORKFLOW  # noqa: PLC0415

        return {
            "github": self.github.api_url,
            "token": self.github.token,
            "read_only_token": self.github.read_only_token,
            "index": self.index.simple_url,
            "saas": self.saas.base_url,
            "cli_repo": str(self.cli_path),
            "e2e_fix_repo": str(self.e2e_fix_path),
            "e2e_checkout": str(self.e2e_checkout),
            "fix_1141": self._fix_for_1141(),
            "fix_1182": self.commits["cli:fix-1182"],
            "scenario": self.scenario.name,
            "executor": self.executor,
            "actions_repo": E2E_REPO,
            "canary_workflow": CANARY_WORKFLOW,
            "teamspace_workflow": TEAMSPACE_WORKFLOW,
            "e2e_actions_repo": str(self.e2e_actions_repo),
            "e2e_pinned_sha": self.commits["e2e-actions:pinned"],
        }
