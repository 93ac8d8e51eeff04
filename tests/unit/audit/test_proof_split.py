"""The proof along its seams (issue 21): pure rules in checks, pytest runs in an adapter, the audit on its own.

``adapters/proof.py`` stays the old address of every name; the audit's inputs
are built from ``[audit]`` once; the cache location is an adapter, not the CLI.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from phase4gate import audit
from phase4gate.adapters import cache, proof, proof_env
from phase4gate.checks import proof as proof_rules
from phase4gate.checks.fix_substance import AuditOptions, TestOutcome
from phase4gate.config import config_from_mapping
from phase4gate.errors import InputError

PACKAGE = Path(__file__).resolve().parents[3] / "phase4gate"
LINE_LIMIT = 900

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.test_q" name="test_ok"/>
<testcase classname="tests.test_q" name="test_param[a]"/>
<testcase classname="tests.test_q" name="test_param[b]"><failure message="ValueError: bad row">E   ValueError: bad row</failure></testcase>
<testcase classname="tests.test_q" name="test_param[c]"><skipped message="slow"/></testcase>
<testcase classname="tests.test_q.TestQueue" name="test_drain"><failure message="assert 3 == 2">E   assert 3 == 2</failure></testcase>
<testcase classname="" name="tests.test_broken"><error message="collection failure">E   ModuleNotFoundError: No module named 'gone'</error></testcase>
</testsuite></testsuites>
"""


def test_the_old_address_re_exports_the_new_homes() -> None:
    """Every name ``adapters.proof`` exported before is still there, and is the object of its new module."""
    homes = (proof_env, audit, proof_rules)
    for name in proof.__all__:
        mine = getattr(proof, name)
        owner = next((m for m in homes if getattr(m, name, None) is mine), None)
        assert owner is not None or name == "parse_junit", f"adapters.proof.{name} is defined in adapters.proof"
    assert proof.parse_junit is proof_rules.outcomes_from_junit
    assert proof.audit_commit.__module__ == "phase4gate.audit"
    assert proof.run_proof.__module__ == "phase4gate.adapters.proof_env"


@pytest.mark.parametrize(
    "module",
    [
        "adapters/proof.py",
        "adapters/proof_env.py",
        "adapters/cache.py",
        "audit.py",
        "checks/proof.py",
        "models.py",
        "runfile.py",
    ],
)
def test_split_modules_stay_under_the_line_limit(module: str) -> None:
    """No module of the split is over 900 lines (``adapters/proof.py`` was 942)."""
    lines = (PACKAGE / module).read_text(encoding="utf-8").count("\n")
    assert lines <= LINE_LIMIT, f"phase4gate/{module} has {lines} lines"


def test_the_re_export_module_holds_no_code() -> None:
    """``adapters/proof.py`` defines no function or class of its own."""
    mod = importlib.import_module("phase4gate.adapters.proof")
    own = [n for n, v in vars(mod).items() if callable(v) and getattr(v, "__module__", "") == mod.__name__]
    assert own == []


def test_outcomes_fold_parametrised_cases_and_name_collection_errors() -> None:
    """Worst case of a parametrised id wins; an assert line becomes an AssertionError; a broken module is an error."""
    ids = [
        "tests/test_q.py::test_ok",
        "tests/test_q.py::test_param",
        "tests/test_q.py::TestQueue::test_drain",
        "tests/test_broken.py::test_x",
        "tests/test_q.py::test_absent",
    ]
    got = proof_rules.outcomes_from_junit(REPORT, ids, source="without-fix.junit.xml")
    assert got == {
        "tests/test_q.py::test_ok": (TestOutcome.PASSED, None, None),
        "tests/test_q.py::test_param": (TestOutcome.FAILED, "ValueError", "ValueError: bad row"),
        "tests/test_q.py::TestQueue::test_drain": (
            TestOutcome.FAILED,
            "AssertionError",
            "AssertionError: assert 3 == 2",
        ),
        "tests/test_broken.py::test_x": (
            TestOutcome.ERROR,
            "ModuleNotFoundError",
            "collection error: ModuleNotFoundError: No module named 'gone'",
        ),
        "tests/test_q.py::test_absent": (TestOutcome.MISSING, None, None),
    }


def test_outcomes_of_a_report_that_is_not_xml_name_the_file() -> None:
    """The pure fold reads through the one JUnit parser: a bad report is an InputError naming the file."""
    with pytest.raises(InputError, match=r"^logs/with-fix\.junit\.xml: line 1, column 0: not valid JUnit XML"):
        proof_rules.outcomes_from_junit("", ["tests/test_q.py::test_ok"], source="logs/with-fix.junit.xml")


@pytest.mark.parametrize(
    ("addopts", "expected"),
    [
        (["-q", "-m", "not slow", "--strict-markers"], "-q --strict-markers"),
        (["-mnot slow", "-kquick", "-x"], "-x"),
        (["--deselect=tests/test_a.py::test_b", "--lf", "-ra"], "-ra"),
        (["--ignore", "tests/e2e", "--sw"], ""),
        (["-q", "--strict-markers"], None),
    ],
)
def test_without_deselecting(addopts: list[str], expected: str | None) -> None:
    """Options that deselect or skip (with their value) are dropped; ``None`` when nothing deselects."""
    assert proof_rules.without_deselecting(addopts) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [({"editable": "."}, "editable"), ({"directory": "."}, "wheel"), ({"virtual": "."}, None)],
)
def test_lock_install_mode(source: dict[str, str], expected: str | None) -> None:
    """``uv.lock``'s entry for the project (its name normalised) says how CI installs it."""
    lock = {"package": [{"name": "other", "source": {"editable": "."}}, {"name": "Spec_Kitty.CLI", "source": source}]}
    assert proof_rules.lock_install_mode(lock, "spec-kitty-cli") == expected
    assert proof_rules.lock_install_mode(lock, "absent") is None


def test_uv_test_selector_prefers_extras_in_name_order() -> None:
    """The ``test`` extra, else a ``tests``/``testing`` extra or group; nothing when neither exists."""
    data: dict[str, object] = {
        "project": {"optional-dependencies": {"testing": []}},
        "dependency-groups": {"tests": []},
    }
    assert proof_rules.uv_test_selector(data) == ("--group", "tests")
    assert proof_rules.uv_test_selector({"project": {"optional-dependencies": {"test": []}}}) == ("--extra", "test")
    assert proof_rules.uv_test_selector({}) == ()


def test_audit_inputs_are_built_from_the_config_in_one_place(tmp_path: Path) -> None:
    """``ProofSettings.from_config`` and ``audit_options`` read ``[audit]`` (WP01 and ``audit-fix`` both call them)."""
    config = config_from_mapping(
        {
            "audit": {
                "logging_names": ["log", "audit_log"],
                "warnings_are_logging": True,
                "install_command": ["{python}", "-m", "pip", "install", "-e", "."],
                "test_env": {"QUEUE_BACKEND": "memory"},
                "test_timeout_seconds": 120,
            }
        }
    )
    settings = proof_env.ProofSettings.from_config(config, tmp_path)
    assert settings == proof_env.ProofSettings(
        cache_dir=tmp_path / "envs",
        install_command=("{python}", "-m", "pip", "install", "-e", "."),
        test_env={"QUEUE_BACKEND": "memory"},
        timeout_seconds=120.0,
    )
    assert audit.audit_options(config) == AuditOptions(logging_names=("log", "audit_log"), warnings_are_logging=True)


def test_cache_dir_precedence(tmp_path: Path) -> None:
    """An explicit folder, else ``$PHASE4GATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/phase4gate``, else ``~/.cache``."""
    env = {"PHASE4GATE_CACHE_DIR": str(tmp_path / "p4g"), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert cache.cache_dir(str(tmp_path / "given"), env) == tmp_path / "given"
    assert cache.cache_dir(None, env) == tmp_path / "p4g"
    assert cache.cache_dir(None, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "phase4gate"
    assert cache.cache_dir(None, {}) == Path.home() / ".cache" / "phase4gate"
