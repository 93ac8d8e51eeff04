"""GitHub Actions as a canary executor: the REST calls, the transport, and the two executors.

* :mod:`.transport`: urllib3 with the one retry policy; requests counted by kind (304s apart);
* :mod:`.client`: :class:`~.client.ActionsClient`, the Actions calls of one repository;
* :mod:`.executor`: :class:`~.executor.ActionsCanaryExecutor` (WP04/WP05) and
  :class:`~.executor.ActionsTeamspaceExecutor` (WP07), the canary seam over Actions.
"""

from __future__ import annotations

__all__: list[str] = []
