"""WP02, pure: which release candidate is the newest of the series after the baseline.

Data in (the files an index lists), verdict out (:class:`Resolution`).  No I/O.
Stop condition: "no RC newer than the baseline on the index (waiting: an
operator must cut one)".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

    from phase4gate.checks._install import InstallCheck, InstallVerdict

__all__ = [
    "CONTAINMENT_CONDITION",
    "INSTALL_CONDITION",
    "NO_NEWER_RC_CONDITION",
    "DistFile",
    "InstallCheck",
    "InstallVerdict",
    "Resolution",
    "SkippedFile",
    "canonicalize_name",
    "classify_install",
    "dependency_drift",
    "fix_blockers",
    "missing_fixes",
    "no_newer_rc_reason",
    "resolve_rc",
    "version_of",
]

NO_NEWER_RC_CONDITION: Final = "no RC newer than the baseline on the index (waiting: an operator must cut one)"
_SERIES_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_NAME_SEP_RE = re.compile(r"[-_.]+")
_SDIST_SUFFIXES: Final = (".tar.gz", ".zip")
_NO_HASHES: Final[Mapping[str, str]] = MappingProxyType({})

# The resolution models are frozen NamedTuples, not attrs classes: `resolve-rc` imports
# this module, and importing attrs would cost it ~15% of its whole run (issue 23).
# They are immutable values with fields, defaults, equality and properties, as attrs'
# would be; the install verdict models (attrs) live in `_install` and load on first use.


class DistFile(NamedTuple):
    """One file of a project as the index lists it (PEP 691 / PEP 503)."""

    filename: str
    url: str
    hashes: Mapping[str, str] = _NO_HASHES
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    upload_time: str | None = None
    size: int | None = None

    @property
    def is_wheel(self) -> bool:
        """True for a ``.whl``."""
        return self.filename.endswith(".whl")

    @property
    def sha256(self) -> str | None:
        """The index's sha256 of the file, if it gave one."""
        return self.hashes.get("sha256")


class SkippedFile(NamedTuple):
    """A file of a candidate version that could not be used, and why (never silently dropped)."""

    version: str
    filename: str
    reason: str


class Resolution(NamedTuple):
    """What :func:`resolve_rc` decided, with everything it looked at."""

    package: str
    baseline: str
    series: str
    version: str | None
    # Every RC of the series newer than the baseline, newest first.
    candidates: tuple[str, ...]
    skipped: tuple[SkippedFile, ...]
    # The usable files of the chosen version (wheels first).
    files: tuple[DistFile, ...] = ()

    @property
    def wheel(self) -> DistFile | None:
        """The chosen version's first usable wheel."""
        return next((f for f in self.files if f.is_wheel), None)

    @property
    def upload_time(self) -> str | None:
        """Upload time of the chosen wheel (else of the first file), as the index gave it."""
        chosen = self.wheel or (self.files[0] if self.files else None)
        return chosen.upload_time if chosen else None

    def to_json(self) -> dict[str, object]:
        """Return the JSON shape of ``resolve-rc --json`` and of the evidence file."""
        return {
            "package": self.package,
            "version": self.version,
            "baseline": self.baseline,
            "series": self.series,
            "candidates": list(self.candidates),
            "skipped": [{"version": s.version, "filename": s.filename, "reason": s.reason} for s in self.skipped],
            "upload_time": self.upload_time,
            "files": [
                {
                    "filename": f.filename,
                    "url": f.url,
                    "sha256": f.sha256,
                    "upload_time": f.upload_time,
                    "requires_python": f.requires_python,
                }
                for f in self.files
            ],
        }


def canonicalize_name(name: str) -> str:
    """Return the PEP 503 normalized form of a project name."""
    return _NAME_SEP_RE.sub("-", name).lower()


def version_of(filename: str, package: str | None = None) -> Version | None:
    """Return the version in a wheel or sdist *filename* (``None`` if unparseable or another project).

    A small parser instead of ``packaging.utils``, whose import (``packaging.tags``)
    would dominate ``resolve-rc``'s start-up.
    """
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) not in {5, 6}:
            return None
        name, raw = parts[0], parts[1]
    else:
        stem = next((filename[: -len(x)] for x in _SDIST_SUFFIXES if filename.endswith(x)), None)
        if stem is None or "-" not in stem:
            return None
        name, _, raw = stem.rpartition("-")
    if package is not None and canonicalize_name(name) != canonicalize_name(package):
        return None
    try:
        return Version(raw)
    except InvalidVersion:
        return None


_SIMPLE_CLAUSE_RE = re.compile(r"^\s*(>=|<=|>|<|==|!=)\s*([0-9]+(?:\.[0-9]+)*)\s*$")
_OPS: Final = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _python_allowed(requires_python: str, python: Version) -> bool | None:
    """Return whether *python* satisfies *requires_python*; ``None`` when it is not a valid specifier.

    Plain numeric clauses (``>=3.11``, ``<4``) are compared directly; anything else
    (wildcards, ``~=``) goes through ``packaging.specifiers``, imported only then.
    """
    clauses = [c for c in requires_python.split(",") if c.strip()]
    matches = [_SIMPLE_CLAUSE_RE.match(c) for c in clauses]
    if clauses and all(matches):
        release = python.release
        for m in matches:
            assert m is not None  # noqa: S101 - all() above
            op, raw = m.group(1), tuple(int(p) for p in m.group(2).split("."))
            width = max(len(raw), len(release))
            left = release + (0,) * (width - len(release))
            right = raw + (0,) * (width - len(raw))
            if not _OPS[op](left, right):
                return False
        return True
    spec = _specifier(requires_python)
    if spec is None:
        return None
    return spec.contains(python, prereleases=True)


@functools.lru_cache(maxsize=64)
def _specifier(text: str) -> SpecifierSet | None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 - only when a file needs it

    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _series_release(series: str) -> tuple[int, ...]:
    if not _SERIES_RE.match(series):
        msg = f"series must look like '3.2.0', got {series!r}"
        raise ValueError(msg)
    return _trim(tuple(int(p) for p in series.split(".")))


def _trim(release: tuple[int, ...]) -> tuple[int, ...]:
    out = list(release)
    while len(out) > 1 and out[-1] == 0:
        out.pop()
    return tuple(out)


def _skip_reason(f: DistFile, python_version: Version) -> str | None:
    if f.yanked:
        return f"yanked (PEP 592): {f.yanked_reason}" if f.yanked_reason else "yanked (PEP 592)"
    if f.requires_python:
        allowed = _python_allowed(f.requires_python, python_version)
        if allowed is None:
            return f"requires-python {f.requires_python!r} is not a valid specifier"
        if not allowed:
            return f"requires-python {f.requires_python} excludes Python {python_version}"
    return None


def resolve_rc(
    files: Iterable[DistFile],
    baseline: str,
    series: str | None = None,
    *,
    package: str = "spec-kitty-cli",
    python_version: str = "3.11",
) -> Resolution:
    """Return the newest pre-release of *series* strictly newer than *baseline*.

    Only pre-releases of the baseline's kind (``rc`` for ``3.2.0rc15``) in the
    series count; finals, other series, other pre-release kinds, dev and post
    releases are ignored.  Files that are yanked or whose requires-python
    excludes *python_version* are skipped and reported; a version with no usable
    file is not chosen.  ``version`` is ``None`` when no candidate is usable.

    Raises:
        ValueError: *baseline*, *series* or *python_version* is not a version.
    """
    base = Version(baseline)
    kind = base.pre[0] if base.pre else "rc"
    wanted = _series_release(series) if series else _trim(base.release)
    py = Version(python_version)
    by_version: dict[Version, list[DistFile]] = {}
    for f in files:
        v = version_of(f.filename, package)
        if v is None or v.pre is None or v.pre[0] != kind or v.is_devrelease or v.is_postrelease or v.local:
            continue
        if _trim(v.release) != wanted or v <= base:
            continue
        by_version.setdefault(v, []).append(f)
    candidates = sorted(by_version, reverse=True)
    skipped: list[SkippedFile] = []
    chosen: Version | None = None
    usable: list[DistFile] = []
    for v in candidates:
        good: list[DistFile] = []
        for f in sorted(by_version[v], key=lambda f: (not f.is_wheel, f.filename)):
            why = _skip_reason(f, py)
            if why is None:
                good.append(f)
            else:
                skipped.append(SkippedFile(str(v), f.filename, why))
        if good and chosen is None:
            chosen, usable = v, good
    return Resolution(
        package=package,
        baseline=str(base),
        series=series or base.base_version,
        version=str(chosen) if chosen is not None else None,
        candidates=tuple(str(v) for v in candidates),
        skipped=tuple(skipped),
        files=tuple(usable),
    )


def no_newer_rc_reason(resolution: Resolution) -> str:
    """Return the stop's observed reason when :func:`resolve_rc` found nothing usable."""
    text = f"latest RC is still {resolution.baseline}; an operator must cut the next RC"
    if resolution.skipped:
        text += " (skipped: " + "; ".join(f"{s.filename}: {s.reason}" for s in resolution.skipped) + ")"
    return text


# --------------------------------------------------------------------------- install verdict

INSTALL_CONDITION: Final = "the RC breaks as users install it: dependency drift or broken (failed)"


def dependency_drift(before: Mapping[str, str], after: Mapping[str, str], *, exclude: str = "") -> tuple[str, ...]:
    """Return ``name a -> b`` for each dependency whose resolved version differs (or is in one side only)."""
    skip = canonicalize_name(exclude) if exclude else ""
    a = {canonicalize_name(k): v for k, v in before.items()}
    b = {canonicalize_name(k): v for k, v in after.items()}
    return tuple(
        f"{name} {a.get(name, '(absent)')} -> {b.get(name, '(absent)')}"
        for name in sorted(set(a) | set(b))
        if name != skip and a.get(name) != b.get(name)
    )


def _named_in(drifted: tuple[str, ...], error: str) -> tuple[str, ...]:
    """Return the drifted dependencies whose import name appears in *error* (the likely culprits)."""
    text = error.lower()
    out = []
    for line in drifted:
        name = line.split(" ", 1)[0]
        if re.search(rf"\b{re.escape(name.replace('-', '_'))}\b", text):
            out.append(line)
    return tuple(out)


def classify_install(users: InstallCheck, as_of_release: InstallCheck | None, *, package: str) -> InstallVerdict:
    """Classify the RC's install (WP02): verified, dependency-drift or broken.

    ``dependency-drift``: broken as users get it, works with dependencies as of the
    RC's upload time; the differing dependencies are named.  ``broken``: fails both ways.
    """
    from phase4gate.checks._install import InstallVerdict  # noqa: PLC0415 - attrs only when installing

    if users.verified:
        return InstallVerdict("verified", "installed as users get it and verified")
    if as_of_release is None:
        return InstallVerdict("broken", f"as users get it: {users.error}")
    if as_of_release.verified:
        drifted = dependency_drift(as_of_release.dependencies, users.dependencies, exclude=package)
        names = ", ".join(drifted) if drifted else "no dependency version differs"
        suspects = _named_in(drifted, users.error)
        named = f"; named in the error: {', '.join(suspects)}" if suspects else ""
        reason = (
            f"dependency drift: as users get it the RC fails ({users.error}){named}; with dependencies as of its "
            f"upload time it works. Dependencies that differ (as of release -> today): {names}"
        )
        return InstallVerdict("dependency-drift", reason, drifted)
    return InstallVerdict(
        "broken", f"broken both ways: as users get it: {users.error}; as of release: {as_of_release.error}"
    )


# --------------------------------------------------------------------------- fix containment

CONTAINMENT_CONDITION: Final = "the RC does not contain a blocker's fix commit (waiting)"


def fix_blockers(wp01_facts: Mapping[str, object], sha: str) -> tuple[str, ...]:
    """Return the blockers (``#1141``) whose recorded closer is commit *sha* (WP01's ``blocker_N_closer``)."""
    out: list[str] = []
    for key, value in wp01_facts.items():
        m = re.fullmatch(r"blocker_([0-9]+)_closer", key)
        if m and isinstance(value, str) and "@" in value:
            closer = value.rsplit("@", 1)[1]
            if closer and (closer.startswith(sha) or sha.startswith(closer)):
                out.append(f"#{m.group(1)}")
    return tuple(sorted(out))


def missing_fixes(
    rc_version: str, tag: str, contained: Mapping[str, bool], wp01_facts: Mapping[str, object]
) -> str | None:
    """Return the stop reason when a CLI fix commit is not an ancestor of the RC's tag, else ``None``."""
    missing = [sha for sha, ok in contained.items() if not ok]
    if not missing:
        return None
    parts = []
    for sha in missing:
        blockers = fix_blockers(wp01_facts, sha)
        who = f"blocker {', '.join(blockers)}" if blockers else "a blocker"
        parts.append(f"{who}'s fix {sha[:12]}")
    return f"RC {rc_version} (tag {tag}) does not contain " + "; ".join(parts) + "; an operator must cut an RC with it"


def __getattr__(name: str) -> object:
    # InstallCheck / InstallVerdict are attrs classes: loaded on first touch (PEP 562), not by `resolve-rc`.
    if name in {"InstallCheck", "InstallVerdict"}:
        from phase4gate.checks import _install  # noqa: PLC0415

        return getattr(_install, name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
