"""Children never outlive the gate; a resume first ends what a killed gate left; leaks are pruned.

Issue 19, case 1 (first half): a canary child that started its own session survived a
SIGKILL of the gate and could write into the resumed run.  Case 8 (first half): a
SIGKILL during WP01 left ``git worktree`` entries registered in the operator's
checkout, never pruned, and scratch folders in the temp dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import attrs

from phase4gate.gate import find_run, report_from_journal
from phase4gate.sandbox.e2e import canary_state
from phase4gate.sandbox.world import World
from tests.conftest import HANG_GUARD_SECONDS
from tests.integration.core.gate_proc import (
    alive,
    events,
    gate_env,
    run_gate,
    scratch_of,
    start_gate,
    wait_for,
    write_config,
)
from tests.integration.demo.test_reliability import _final_state

_WRAPPER = """\
#!/usr/bin/env bash
# The canary, plus a child that starts its own session and lingers.
setsid sleep 900 </dev/null >/dev/null 2>&1 &
echo $! >> {pidfile}
exec scripts/run-sync-identity-boundary-canary.sh --single --yes
"""


def _kill(pids: list[int]) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_with_a_lingering_orphan_then_resume_ends_it_first(tmp_path: Path) -> None:
    """The orphan of the killed gate's canary is dead before WP04 runs again, and the resume says it ended it."""
    evidence = tmp_path / "evidence"
    pidfile = tmp_path / "orphans.pid"
    wrapper = tmp_path / "canary-wrapper.sh"
    wrapper.write_text(_WRAPPER.format(pidfile=pidfile), encoding="utf-8")
    wrapper.chmod(0o755)
    orphans: list[int] = []
    with World(tmp_path / "world") as world:
        base = world.config(evidence)
        config = write_config(
            world, tmp_path, attrs.evolve(base, canary=attrs.evolve(base.canary, command=(str(wrapper),)))
        )
        env = gate_env(world, tmp_path)
        # WP04's run hangs, so the gate is killed while its canary and the orphan live.
        world.saas.extra.update(canary=canary_state(hang_seconds=600))
        gate = start_gate(config, env)
        try:
            wait_for("the orphan", lambda: pidfile.is_file() and bool(pidfile.read_text().strip()), gate)
            wait_for(
                "WP04's child record",
                lambda: any(e.get("event") == "child" and e.get("wp") == "WP04" for e in events(evidence)),
                gate,
            )
            os.killpg(gate.pid, signal.SIGKILL)
            gate.communicate(timeout=HANG_GUARD_SECONDS)
            orphans = [int(x) for x in pidfile.read_text().split()]
            (orphan,) = orphans
            assert alive(orphan), "the orphan should have survived the SIGKILL (the scenario needs it)"
            killed_pid = int(next(e for e in events(evidence) if e.get("event") == "gate-start")["pid"])
            assert scratch_of(killed_pid), "a SIGKILL leaves the scratch folder (pruned at the next start)"

            world.saas.extra.update(canary=canary_state())
            resumed = run_gate(config, env, "--resume", "latest")
            assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
            assert not alive(orphan), "the killed gate's orphan outlived the resume"
            assert scratch_of(killed_pid) == [], "the killed gate's scratch folder was not pruned"
            evs = events(evidence)
            starts = [i for i, e in enumerate(evs) if e.get("event") == "gate-start"]
            (ended,) = [i for i, e in enumerate(evs) if e.get("event") == "children-ended"]
            assert orphan in evs[ended]["pids"]
            wp04_again = [i for i, e in enumerate(evs) if e.get("event") == "wp-start" and e.get("wp") == "WP04"]
            assert len(wp04_again) == 2
            # The resume ended the orphan before anything else: before its own gate-start and WP04's re-run.
            assert starts[0] < ended < starts[1] < wp04_again[1]
            run_dir = find_run(evidence, "latest")
            report = report_from_journal((run_dir / "journal.jsonl").read_text().splitlines())
            _final_state(world, tmp_path, report, [world.github.token, world.github.read_only_token])
        finally:
            if gate.poll() is None:
                gate.kill()
            _kill(orphans or ([int(x) for x in pidfile.read_text().split()] if pidfile.is_file() else []))


def _worktrees(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
        timeout=HANG_GUARD_SECONDS,
    ).stdout
    return [ln.removeprefix("worktree ") for ln in out.splitlines() if ln.startswith("worktree ")]


def test_sigkill_mid_wp01_then_a_new_start_prunes_the_worktrees(tmp_path: Path) -> None:
    """The audit's worktrees a killed gate left registered in the checkout are gone after the next start."""
    with World(tmp_path / "world") as world:
        config = write_config(world, tmp_path)
        env = gate_env(world, tmp_path)
        gate = start_gate(config, env)
        try:
            wait_for("WP01's worktrees", lambda: len(_worktrees(world.cli_path)) > 1, gate)
            os.killpg(gate.pid, signal.SIGKILL)
            gate.communicate(timeout=HANG_GUARD_SECONDS)
        finally:
            if gate.poll() is None:
                gate.kill()
        left = _worktrees(world.cli_path)
        assert len(left) > 1, "the SIGKILL should have left worktrees registered (the scenario needs it)"
        again = run_gate(config, env, "--until", "WP01")
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        assert _worktrees(world.cli_path) == [str(world.cli_path)]
        for path in left[1:]:
            assert not Path(path).exists(), path
        assert list((tmp_path / "cache").glob("wp01-*")) == []
