"""``phase4gate verify RUN``: is every evidence file as it was written?"""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Recompute the sha256 of every file listed in the run's MANIFEST.sha256 (and in each
attempt folder's manifest), the journal's hash chain and its sealed head, and check
that report.json, report.md and the attestation are what the journal projects.
Reports altered, missing, planted, re-moded and symlinked files, paths outside the
run folder, and a broken chain, each on its own line; exit 1 if any, 0 if the
evidence is intact. With --key PUB the attestation must be a DSSE envelope whose
ed25519 signature verifies with that public key (PEM).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``verify``'s options."""
    from phase4gate.commands._common import add_evidence_root  # noqa: PLC0415

    parser.add_argument("run_ref", metavar="RUN", help="run id, path or 'latest'")
    parser.add_argument(
        "--key",
        metavar="PUB",
        help="ed25519 public key (PEM): the attestation must be signed with its private key",
    )
    add_evidence_root(parser)


def run(args: argparse.Namespace) -> int:
    """Verify and print the findings."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from phase4gate.commands._common import evidence_root, load_config  # noqa: PLC0415
    from phase4gate.verify import verify_run  # noqa: PLC0415

    config = load_config(args)
    from phase4gate.gate import find_run  # noqa: PLC0415

    run_dir = find_run(evidence_root(args, config), args.run_ref)
    findings = verify_run(run_dir, key=Path(args.key) if args.key else None)
    if args.json:
        print(json.dumps(findings.to_json(), indent=2, sort_keys=True))
    else:
        print(findings.render())
    return 0 if findings.ok else 1
