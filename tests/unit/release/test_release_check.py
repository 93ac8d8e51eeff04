"""Pure RC resolution, install classification and fix containment (WP02)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from phase4gate.checks.release import (
    DistFile,
    InstallCheck,
    _python_allowed,
    classify_install,
    dependency_drift,
    fix_blockers,
    missing_fixes,
    no_newer_rc_reason,
    resolve_rc,
    version_of,
)


def wheel(version: str, **kw: object) -> DistFile:
    name = f"spec_kitty_cli-{version}-py3-none-any.whl"
    return DistFile(name, f"https://files.example.invalid/{name}", {"sha256": "0" * 64}, **kw)  # type: ignore[arg-type]


def sdist(version: str) -> DistFile:
    name = f"spec_kitty_cli-{version}.tar.gz"
    return DistFile(name, f"https://files.example.invalid/{name}")


def test_newest_rc_of_the_series_after_the_baseline() -> None:
    """Finals, other series, other pre-release kinds, dev and post releases are ignored."""
    files = [
        wheel(v)
        for v in ("3.2.0rc14", "3.2.0rc15", "3.2.0rc16", "3.2.0rc17", "3.2.0", "3.2.1rc1", "4.0.0rc7", "3.2.0b20")
    ]
    files += [wheel("3.2.0rc18.dev1"), wheel("3.2.0rc18.post1"), sdist("3.2.0rc17")]
    result = resolve_rc(files, "3.2.0rc15", "3.2.0")
    assert result.version == "3.2.0rc17"
    assert result.candidates == ("3.2.0rc17", "3.2.0rc16")
    assert result.skipped == ()
    assert [f.filename for f in result.files] == [
        "spec_kitty_cli-3.2.0rc17-py3-none-any.whl",
        "spec_kitty_cli-3.2.0rc17.tar.gz",
    ]
    assert result.wheel is not None
    assert result.wheel.filename.endswith(".whl")


def test_yanked_and_requires_python_are_skipped_and_reported() -> None:
    """A yanked rc17 and an rc18 for another Python are reported, rc16 is chosen."""
    files = [
        wheel("3.2.0rc16", upload_time="2026-05-10T12:00:00Z"),
        wheel("3.2.0rc17", yanked=True, yanked_reason="broken"),
        wheel("3.2.0rc18", requires_python=">=3.12"),
        wheel("3.2.0rc19", requires_python="~=3.13.0"),
        wheel("3.2.0rc20", requires_python="not a spec"),
        wheel("3.2.0rc21", yanked=True),
    ]
    result = resolve_rc(files, "3.2.0rc15", python_version="3.11.7")
    assert result.version == "3.2.0rc16"
    assert result.upload_time == "2026-05-10T12:00:00Z"
    reasons = {s.version: s.reason for s in result.skipped}
    assert reasons == {
        "3.2.0rc21": "yanked (PEP 592)",
        "3.2.0rc20": "requires-python 'not a spec' is not a valid specifier",
        "3.2.0rc19": "requires-python ~=3.13.0 excludes Python 3.11.7",
        "3.2.0rc18": "requires-python >=3.12 excludes Python 3.11.7",
        "3.2.0rc17": "yanked (PEP 592): broken",
    }
    assert result.candidates[0] == "3.2.0rc21"


def test_nothing_newer_is_none_with_a_reason() -> None:
    """Only the baseline and older: no version, and the stop reason names the baseline."""
    result = resolve_rc([wheel("3.2.0rc15"), wheel("3.2.0rc9"), wheel("3.2.0rc16", yanked=True)], "3.2.0rc15")
    assert result.version is None
    assert result.wheel is None
    assert result.upload_time is None
    assert no_newer_rc_reason(result) == (
        "latest RC is still 3.2.0rc15; an operator must cut the next RC "
        "(skipped: spec_kitty_cli-3.2.0rc16-py3-none-any.whl: yanked (PEP 592))"
    )
    assert result.to_json()["version"] is None


def test_other_projects_and_bad_names_are_ignored() -> None:
    """Files of another project, or that do not parse, are not candidates."""
    other = DistFile("kitty_typer-3.2.0rc16-py3-none-any.whl", "u")
    bad = [DistFile(n, "u") for n in ("spec_kitty_cli-x-y.whl", "notes.txt", "spec_kitty_cli.tar.gz")]
    bad.append(DistFile("spec_kitty_cli-notaversion.tar.gz", "u"))
    assert resolve_rc([other, *bad], "3.2.0rc15").version is None
    assert version_of("spec_kitty_cli-3.2.0rc16.zip", "spec-kitty-cli") == Version("3.2.0rc16")
    assert version_of("spec_kitty_cli-3.2.0rc16-1-py3-none-any.whl") == Version("3.2.0rc16")


def test_invalid_baseline_or_series_raise() -> None:
    """Bad input is "could not decide", never a silent pass."""
    with pytest.raises(ValueError, match="Invalid version"):
        resolve_rc([], "three")
    with pytest.raises(ValueError, match="series must look like"):
        resolve_rc([], "3.2.0rc15", "3.2.x")


_RC = st.builds(
    lambda major, minor, kind, n: f"{major}.{minor}.0{kind}{n}",
    st.integers(2, 4),
    st.integers(0, 3),
    st.sampled_from(["rc", "a", "b", "", ".post", ".dev"]),
    st.integers(0, 50),
)


@given(st.lists(_RC, max_size=30), st.integers(0, 40))
def test_never_returns_the_baseline_anything_older_or_a_non_rc(versions: list[str], base: int) -> None:
    """Plan: 'the newest RC after the baseline' -- never the baseline, never older, never a non-RC."""
    baseline = f"3.2.0rc{base}"
    result = resolve_rc([wheel(v) for v in versions], baseline, "3.2.0")
    expected = [Version(v) for v in versions if Version(v).pre and Version(v).pre[0] == "rc"]  # type: ignore[index]
    expected = [v for v in expected if v.release[:2] == (3, 2) and v > Version(baseline)]
    if result.version is None:
        assert expected == []
    else:
        chosen = Version(result.version)
        assert chosen == max(expected)
        assert chosen > Version(baseline)
        assert chosen.pre is not None
        assert chosen.pre[0] == "rc"


_CLAUSE = st.tuples(
    st.sampled_from([">=", "<=", ">", "<", "==", "!="]),
    st.lists(st.integers(0, 12), min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts))),
)


@given(st.lists(_CLAUSE, min_size=1, max_size=3), st.sampled_from(["3.11.7", "3.12.0", "3.9", "4.0.1"]))
def test_fast_requires_python_agrees_with_packaging(clauses: list[tuple[str, str]], python: str) -> None:
    """The start-up fast path gives packaging's answer for plain numeric clauses."""
    spec = ",".join(op + v for op, v in clauses)
    expected = SpecifierSet(spec).contains(Version(python), prereleases=True)
    assert _python_allowed(spec, Version(python)) == expected


def test_dependency_drift_names_differences() -> None:
    """Every dependency whose version differs or is on one side only is named; the RC itself is not."""
    before = {"kitty-typer": "1.0.0", "Click": "8.1.7", "spec-kitty-cli": "3.2.0rc16", "same": "1"}
    after = {"kitty_typer": "2.0.0", "spec-kitty-cli": "3.2.0rc16", "same": "1", "new": "0.1"}
    assert dependency_drift(before, after, exclude="spec_kitty_cli") == (
        "click 8.1.7 -> (absent)",
        "kitty-typer 1.0.0 -> 2.0.0",
        "new (absent) -> 0.1",
    )


def test_classify_install() -> None:
    """verified / dependency-drift / broken, each with its why."""
    ok = InstallCheck("as-users-get-it", verified=True)
    users_bad = InstallCheck(
        "as-users-get-it", verified=False, error="AttributeError: make_app", dependencies={"dep": "2.0"}
    )
    release_ok = InstallCheck("as-of-release", verified=True, dependencies={"dep": "1.0"})
    release_bad = InstallCheck("as-of-release", verified=False, error="ImportError: x")
    assert classify_install(ok, None, package="p").outcome == "verified"
    drift = classify_install(users_bad, release_ok, package="p")
    assert (drift.outcome, drift.drifted) == ("dependency-drift", ("dep 1.0 -> 2.0",))
    assert "AttributeError: make_app" in drift.reason
    assert "named in the error" not in drift.reason
    typer = InstallCheck("u", verified=False, error="AttributeError: module 'typer._click' has no attribute 'Abort'")
    typer = attrs.evolve(typer, dependencies={"typer": "0.29.2", "click": "8.5.1", "idna": "3.20"})
    old = InstallCheck("r", verified=True, dependencies={"typer": "0.26.7", "click": "8.4.1", "idna": "3.18"})
    named = classify_install(typer, old, package="p")
    assert "; named in the error: typer 0.26.7 -> 0.29.2;" in named.reason
    same = classify_install(
        users_bad, InstallCheck("as-of-release", verified=True, dependencies={"dep": "2.0"}), package="p"
    )
    assert "no dependency version differs" in same.reason
    broken = classify_install(users_bad, release_bad, package="p")
    assert broken.outcome == "broken"
    assert "ImportError: x" in broken.reason
    assert classify_install(users_bad, None, package="p").reason == "as users get it: AttributeError: make_app"


def test_missing_fixes_names_rc_blocker_and_commit() -> None:
    """A fix not in the RC is named with its blocker; all contained is None."""
    facts = {"blocker_1141_closer": "Priivacy-ai/spec-kitty@abcdef1234567890", "blocker_1182_closer": "x/y@"}
    assert fix_blockers(facts, "abcdef1234567890ffff") == ("#1141",)
    assert missing_fixes("3.2.0rc16", "v3.2.0rc16", {"abcdef1234567890": True}, facts) is None
    reason = missing_fixes("3.2.0rc16", "v3.2.0rc16", {"abcdef1234567890": False, "999": False}, facts)
    assert reason == (
        "RC 3.2.0rc16 (tag v3.2.0rc16) does not contain blocker #1141's fix abcdef123456; "
        "a blocker's fix 999; an operator must cut an RC with it"
    )
