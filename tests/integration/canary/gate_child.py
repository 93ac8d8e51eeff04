"""Run the real gate in a process of its own (two gates at once, SIGKILL and resume).

``python -m tests.integration.canary.gate_child SPEC.json`` (from the repository
root).  SPEC names a pickled :class:`~phase4gate.config.GateConfig` (written by the
test a moment before), the evidence root, the environment, the facts WP01-WP03
stand in with, ``until``, optional ``resume`` and ``stand_in`` (more WPs to pass at
once).  Progress goes to stderr; the last stdout line is JSON: the run folder,
the exit code and each WP's status and reason.
"""

from __future__ import annotations

import functools
import json
import pickle
import sys
from pathlib import Path
from typing import Any

from phase4gate.gate import Gate
from phase4gate.models import FactValue, StepOutcome
from phase4gate.progress import Progress


def _passed(reason: str, facts: dict[str, FactValue], _ctx: object) -> StepOutcome:
    return StepOutcome.passed(reason, facts=facts)


def write_spec(path: Path, config: object, **spec: Any) -> Path:
    """Write a SPEC (and the pickled *config* beside it) for :func:`main`; return its path."""
    pickled = path.with_suffix(".config.pickle")
    pickled.write_bytes(pickle.dumps(config))
    path.write_text(json.dumps({**spec, "config": str(pickled)}), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    """Run the gate the SPEC describes; print its result; return its exit code."""
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    # Written by the test that started this process, a moment ago.
    config = pickle.loads(Path(spec["config"]).read_bytes())  # noqa: S301
    facts: dict[str, dict[str, FactValue]] = spec["facts"]
    stand_ins = ("WP01", "WP02", "WP03", *spec.get("stand_in", ()))
    steps = {wp: functools.partial(_passed, f"{wp} stand-in", facts.get(wp, {})) for wp in stand_ins}
    gate = Gate(
        config,
        evidence_root=Path(spec["evidence_root"]),
        environ=spec["environ"],
        steps=steps,
        resume=spec.get("resume"),
        progress=Progress(sys.stderr, tty=False),
    )
    report = gate.run(until=spec["until"])
    result = {
        "run_dir": str(gate.run_dir),
        "exit_code": report.exit_code,
        "steps": {s.wp: {"status": s.status.value, "reason": s.reason} for s in report.steps},
    }
    print(json.dumps(result), flush=True)
    return int(report.exit_code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
