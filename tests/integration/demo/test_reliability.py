"""The reliability matrix: each fault injected into the real emulators, then a re-run.

For every fault the gate stops or retries as documented, ends with the documented
exit code, and after a ``--resume`` re-run reaches the same final state as a clean
gate: evidence intact (``verify``), exactly one comment per issue, e2e#41 closed once,
#1038 open, nothing but GETs sent to the SaaS, and no token anywhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from phase4gate.config import to_toml
from phase4gate.gate import Gate
from phase4gate.models import GateReport
from phase4gate.sandbox._server import Fault
from phase4gate.sandbox.e2e import canary_state
from phase4gate.sandbox.world import World
from phase4gate.verify import verify_run
from tests.conftest import HANG_GUARD_SECONDS

E2E = "/api/v3/repos/Priivacy-ai/spec-kitty-end-to-end-testing/issues/41"
TRACKER = "/api/v3/repos/Priivacy-ai/spec-kitty/issues/1038"
CLI_ISSUE = "/api/v3/repos/Priivacy-ai/spec-kitty/issues/1141"


def _reset_in(seconds: int) -> dict[str, str]:
    return {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + seconds)}


# name -> (inject(world), exit codes allowed for the first run)
FAULTS: dict[str, tuple[Callable[[World], None], set[int]]] = {
    "github-5xx-on-comment-post": (
        lambda w: w.github.inject(f"{E2E}/comments", Fault("status", status=502), method="POST"),
        {0, 3},
    ),
    "github-5xx-on-close": (
        lambda w: w.github.inject(E2E, Fault("status", status=500), Fault("status", status=500), method="PATCH"),
        {0, 3},
    ),
    "github-429-retry-after": (
        lambda w: w.github.inject(
            CLI_ISSUE, Fault("status", status=429, headers={"Retry-After": "1"}, body=b'{"message": "slow down"}')
        ),
        {0},
    ),
    "github-403-reset-only": (
        lambda w: w.github.inject(
            CLI_ISSUE,
            Fault("status", status=403, headers=_reset_in(1), body=b'{"message": "API rate limit exceeded"}'),
        ),
        {0},
    ),
    "github-reset-on-tracker-post": (
        lambda w: w.github.inject(f"{TRACKER}/comments", Fault("reset"), method="POST"),
        {0, 3},
    ),
    "github-malformed-comments": (
        lambda w: w.github.inject(f"{E2E}/comments", Fault("malformed"), method="GET"),
        {0, 3},
    ),
    "github-slow": (lambda w: w.github.inject(CLI_ISSUE, Fault("delay", seconds=0.5)), {0}),
    "saas-slow": (lambda w: w.saas.inject("/health/", Fault("delay", seconds=0.5)), {0}),
    "saas-503-once": (lambda w: w.saas.inject("/health/ready/", Fault("status", status=503)), {0}),
    "saas-malformed-health": (lambda w: w.saas.inject("/health/", Fault("malformed")), {1, 3}),
    "saas-reset": (lambda w: w.saas.inject("/health/", Fault("reset")), {0, 3}),
    "index-5xx-once": (lambda w: w.index.inject("/simple/", Fault("status", status=503)), {0}),
    "index-malformed": (lambda w: w.index.inject("/simple/", Fault("malformed")), {0, 3}),
    "canary-hang": (lambda w: w.saas.extra.update(canary=canary_state(hang_seconds=600)), {3}),
}
# The waits the gate's clients asked for in the first run (the gate is given a sleep that records, never sleeps):
# Retry-After 1, x-ratelimit-reset 1 s ahead (at least 1 s), the read-only clients' first backoff (0.5 s).
DELAYS: dict[str, list[float]] = {
    "github-429-retry-after": [1.0],
    "github-403-reset-only": [1.0],
    "saas-503-once": [0.5],
    "index-5xx-once": [0.5],
}


def _final_state(world: World, tmp: Path, report: GateReport, tokens: list[str], output: str = "") -> None:
    assert report.exit_code == 0, [(s.wp, s.status.value, s.reason) for s in report.steps]
    ours = {
        issue: [c for c in world.github.state.issue(repo, n).comments if c.author == "gate-bot"]
        for issue, (repo, n) in {
            "e2e": ("Priivacy-ai/spec-kitty-end-to-end-testing", 41),
            "tracker": ("Priivacy-ai/spec-kitty", 1038),
        }.items()
    }
    assert len(ours["e2e"]) == 1, ours["e2e"]
    assert len(ours["tracker"]) == 1, ours["tracker"]
    assert world.github.state.issue("Priivacy-ai/spec-kitty-end-to-end-testing", 41).state == "closed"
    assert world.github.state.issue("Priivacy-ai/spec-kitty", 1038).state == "open"
    closes = [r for r in world.github.requests if r.method == "PATCH" and r.path == E2E and r.status == 200]
    assert len(closes) == 1
    gate_saas = {r.method for r in world.saas.requests if (r.headers.get("User-Agent") or "").startswith("phase4gate/")}
    assert gate_saas <= {"GET"}
    for run_dir in (tmp / "evidence").iterdir():
        if run_dir.is_dir() and (run_dir / "journal.jsonl").exists():
            findings = verify_run(run_dir)
            assert findings.ok, findings.render()
    for path in (tmp / "evidence").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t.encode() in data for t in tokens), path
    assert not any(t in output for t in tokens)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_then_resume_reaches_the_clean_final_state(fault: str, tmp_path: Path) -> None:
    """Inject, run, clear, resume: documented exit code first, the clean final state after."""
    inject, allowed = FAULTS[fault]
    with World(tmp_path / "world") as world:
        config = world.config(tmp_path / "evidence")
        if fault == "canary-hang":
            import attrs

            config = attrs.evolve(config, canary=attrs.evolve(config.canary, timeout_seconds=3.0))
        env = world.environ(dict(os.environ))
        inject(world)
        delays: list[float] = []
        first = Gate(config, environ=env, sleep=delays.append).run()
        assert first.exit_code in allowed, (fault, [(s.wp, s.status.value, s.reason) for s in first.steps])
        if fault in DELAYS:
            assert delays == DELAYS[fault], delays
        world.github.clear_faults()
        world.saas.clear_faults()
        world.index.clear_faults()
        world.saas.extra.update(canary=canary_state())
        final = first
        if first.exit_code != 0:
            config = world.config(tmp_path / "evidence")
            final = Gate(config, environ=env, resume=first.run_id, sleep=delays.append).run()
        _final_state(world, tmp_path, final, [world.github.token, world.github.read_only_token])


def test_sigkill_mid_wp05_then_resume(tmp_path: Path) -> None:
    """The gate killed with SIGKILL during the four-run protocol resumes to the clean final state."""
    with World(tmp_path / "world") as world:
        config_path = tmp_path / "gate.toml"
        config_path.write_text(to_toml(world.config(tmp_path / "evidence")), encoding="utf-8")
        env = world.environ(dict(os.environ))
        argv = ["phase4gate", "--config", str(config_path), "run"]
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while time.monotonic() < deadline and not list((tmp_path / "evidence").glob("*/rc16-attempt*/runs/run-2.json")):
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        out1, _ = proc.communicate(timeout=HANG_GUARD_SECONDS)
        assert proc.returncode == -signal.SIGKILL, out1.decode()[-2000:]
        resumed = subprocess.run(
            [*argv, "--resume", "latest"],
            env=env,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS * 3,
            check=False,
        )
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        from phase4gate.gate import find_run, report_from_journal

        run_dir = find_run(tmp_path / "evidence", "latest")
        report = report_from_journal((run_dir / "journal.jsonl").read_text().splitlines())
        # A SIGKILL seals nothing: no result of the killed invocation is trusted, so WP01-WP05 ran again
        # (a clean SIGINT/SIGTERM seals what it had, and those results are reused: test_signals.py).
        events = [json.loads(ln) for ln in (run_dir / "journal.jsonl").read_text().splitlines()]
        second = max(i for i, e in enumerate(events) if e["event"] == "gate-start")
        assert {e["wp"] for e in events[second:] if e["event"] == "wp-reused"} == set()
        assert {"WP01", "WP02", "WP03", "WP04", "WP05"} <= {
            e["wp"] for e in events[second:] if e["event"] == "wp-start"
        }
        _final_state(
            world,
            tmp_path,
            report,
            [world.github.token, world.github.read_only_token],
            output=out1.decode(errors="replace") + resumed.stdout + resumed.stderr,
        )


def test_resume_after_a_redeploy_rechecks_the_saas(tmp_path: Path) -> None:
    """WP05 stopped on a redeploy: the resume re-runs WP03 against the new deployment and finishes green."""
    with World(tmp_path / "world", "saas-redeployed") as world:
        config = world.config(tmp_path / "evidence")
        env = world.environ(dict(os.environ))
        first = Gate(config, environ=env).run()
        assert first.step("WP05").stop_kind.value == "waiting"  # type: ignore[union-attr]
        resumed = Gate(config, environ=env, resume=first.run_id).run()
        assert resumed.exit_code == 0, [(s.wp, s.reason) for s in resumed.steps]
        assert resumed.step("WP03").facts["saas_git_sha"] == world.saas.git_sha  # type: ignore[union-attr]


def test_resume_after_the_gate_reopened_a_blocker_stops_at_wp01(tmp_path: Path) -> None:
    """WP04 re-opened #1141: a resume re-checks the blockers and waits on #1141 instead of passing."""
    with World(tmp_path / "world", "scenario-fails") as world:
        config = world.config(tmp_path / "evidence")
        env = world.environ(dict(os.environ))
        first = Gate(config, environ=env).run()
        assert world.github.state.issue("Priivacy-ai/spec-kitty", 1141).state == "open"
        world.saas.extra.update(canary=canary_state())
        resumed = Gate(config, environ=env, resume=first.run_id).run()
    wp01 = resumed.step("WP01")
    assert wp01 is not None
    assert (wp01.status.value, wp01.stop_kind.value if wp01.stop_kind else None) == ("stopped", "waiting")
    assert "1141" in wp01.reason


def test_dry_run_then_real_resume_does_the_real_work(tmp_path: Path) -> None:
    """A dry run followed by a real resume runs everything for real (nothing is reused from the dry run)."""
    with World(tmp_path / "world", "test-not-proving") as world:
        config = world.config(tmp_path / "evidence")
        env = world.environ(dict(os.environ))
        dry = Gate(config, environ=env, dry_run=True).run()
        assert dry.verdict.value != "passed"
        real = Gate(config, environ=env, resume=dry.run_id).run()
    wp01 = real.step("WP01")
    assert wp01 is not None
    assert wp01.status.value == "stopped"
    assert "test-passes-without-fix" in wp01.reason


_DETACHED = """\
#!/usr/bin/env bash
# The canary, plus a child in its own session that keeps the output pipe open.
setsid sleep 900 &
echo $! >> {pidfile}
exec scripts/run-sync-identity-boundary-canary.sh --single --yes
"""


def test_hung_canary_with_a_detached_child_then_resume(tmp_path: Path) -> None:
    """A hung canary whose child left its session and holds the pipe: the timeout is a bound, the child ends.

    Issue 19, case 4, through the whole gate: the first run stops "could not decide" (exit 3)
    with the detached child already dead; the resume reaches the clean final state.
    """
    import attrs

    from tests.integration.core.gate_proc import alive as process_alive

    pidfile = tmp_path / "detached.pid"
    wrapper = tmp_path / "canary-wrapper.sh"
    wrapper.write_text(_DETACHED.format(pidfile=pidfile), encoding="utf-8")
    wrapper.chmod(0o755)
    with World(tmp_path / "world") as world:
        base = world.config(tmp_path / "evidence")
        config = attrs.evolve(base, canary=attrs.evolve(base.canary, command=(str(wrapper),), timeout_seconds=3.0))
        env = world.environ(dict(os.environ))
        world.saas.extra.update(canary=canary_state(hang_seconds=600))
        try:
            first = Gate(config, environ=env).run()
            assert first.exit_code == 3, [(s.wp, s.status.value, s.reason) for s in first.steps]
            detached = [int(x) for x in pidfile.read_text().split()]
            assert detached
            assert not any(process_alive(p) for p in detached), "a detached canary child outlived the timeout"
            world.saas.extra.update(canary=canary_state())
            final = Gate(attrs.evolve(config, canary=base.canary), environ=env, resume=first.run_id).run()
            _final_state(world, tmp_path, final, [world.github.token, world.github.read_only_token])
        finally:
            for p in [int(x) for x in pidfile.read_text().split()] if pidfile.is_file() else []:
                if process_alive(p):
                    os.kill(p, signal.SIGKILL)


def test_sigkill_mid_wp01_then_resume(tmp_path: Path) -> None:
    """Killed during the fix audit: the resume prunes the audit's worktrees and reaches the clean final state."""
    with World(tmp_path / "world") as world:
        config_path = tmp_path / "gate.toml"
        config_path.write_text(to_toml(world.config(tmp_path / "evidence")), encoding="utf-8")
        env = world.environ(dict(os.environ))
        env["PHASE4GATE_CACHE_DIR"] = str(tmp_path / "cache")
        argv = ["phase4gate", "--config", str(config_path), "run"]

        def worktrees() -> list[str]:
            out = subprocess.run(
                ["git", "-C", str(world.cli_path), "worktree", "list", "--porcelain"],
                capture_output=True,
                text=True,
                check=True,
                timeout=HANG_GUARD_SECONDS,
            ).stdout
            return [ln for ln in out.splitlines() if ln.startswith("worktree ")]

        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + HANG_GUARD_SECONDS
        while time.monotonic() < deadline and len(worktrees()) < 2 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        out1, _ = proc.communicate(timeout=HANG_GUARD_SECONDS)
        assert proc.returncode == -signal.SIGKILL, out1.decode()[-2000:]
        resumed = subprocess.run(
            [*argv, "--resume", "latest"],
            env=env,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS * 3,
            check=False,
        )
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert len(worktrees()) == 1
        from phase4gate.gate import find_run, report_from_journal

        run_dir = find_run(tmp_path / "evidence", "latest")
        report = report_from_journal((run_dir / "journal.jsonl").read_text().splitlines())
        _final_state(
            world,
            tmp_path,
            report,
            [world.github.token, world.github.read_only_token],
            output=out1.decode(errors="replace") + resumed.stdout + resumed.stderr,
        )
