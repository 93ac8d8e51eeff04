"""The clients a step gets from its context, built once per step with injectable ``sleep`` and ``clock``.

Steps never call ``*.from_config`` themselves: :attr:`phase4gate.gate.StepContext.clients`
hands out the GitHub client (``[github]``, the one retry policy of
:mod:`phase4gate.retry`), the SaaS client (``[saas]``, ``read_only_policy``) and the
package index client (``adapters.index.index_client``, ``read_only_policy``), so a
test injects a ``sleep`` that records the delays a retry asked for instead of sleeping.
Imports stay lazy: github3 and urllib3 load only when a step asks for a client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from phase4gate.adapters.github import GitHubClient
    from phase4gate.adapters.http import ReadOnlyClient
    from phase4gate.config import GateConfig

__all__ = ["Clients", "stoppable_sleep"]


def stoppable_sleep(seconds: float) -> None:
    """The clients' default sleep: a retry's wait ends early when SIGINT/SIGTERM asks the gate to stop."""
    from phase4gate.adapters.proc import stoppable_sleep as wait  # noqa: PLC0415 - proc stays lazy

    wait(seconds)


@attrs.define
class Clients:
    """Build the clients of one step from the gate's configuration.

    ``sleep``, ``clock`` and ``epoch`` go into every client; ``delays`` (the sleeps
    requested through them, in order) is what reliability tests assert.
    """

    config: GateConfig
    environ: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    sleep: Callable[[float], None] = stoppable_sleep
    clock: Callable[[], float] = time.monotonic
    epoch: Callable[[], float] = time.time

    def github(self, token: str | None = None) -> GitHubClient:
        """Return a GitHub client for ``[github]`` with *token* (default: the configured token variable)."""
        from phase4gate.adapters.github import GitHubClient  # noqa: PLC0415 - github3 stays lazy

        chosen = token if token is not None else self.config.token(self.environ)
        return GitHubClient.from_config(self.config, chosen, sleep=self.sleep, clock=self.clock, epoch=self.epoch)

    def saas(self) -> ReadOnlyClient:
        """Return the read-only SaaS client for ``[saas]``."""
        from phase4gate.adapters.http import ReadOnlyClient  # noqa: PLC0415 - urllib3 stays lazy

        return ReadOnlyClient.from_config(self.config.saas, sleep=self.sleep, clock=self.clock, epoch=self.epoch)

    def index(self) -> ReadOnlyClient:
        """Return the GET-only package index client (WP02: the project page and the wheel)."""
        from phase4gate.adapters.index import index_client  # noqa: PLC0415 - urllib3 stays lazy

        return index_client(sleep=self.sleep, clock=self.clock, epoch=self.epoch)
