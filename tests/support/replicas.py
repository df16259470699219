"""Wait until a service's replica holds the facts a test is about to rely on, through the service's own API.

Each fact comes on its own topic and key (a community on the communities topic, each membership keyed by its own id
on the memberships topic), so a service may hold one before another: having seen the community, or the first
member, says nothing of the others. These probes only read, so waiting on them changes nothing.

`client` is anything with `get(path, headers=...)` (a TestClient, or an httpx client of a running stack);
`member_headers(member_id)` and `operator_headers` are tokens signed with that service's secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from devtools.wait import wait_until


def wait_for_members_in_sessions(
    client: Any,
    community_id: str,
    member_ids: Iterable[str],
    member_headers: Callable[[str], dict[str, str]],
    timeout: float = 60.0,
) -> None:
    """Sessions lets a member list her community's sessions (200, not 403) once her membership is in its replica."""
    waiting = list(member_ids)

    def every_member_known() -> bool:
        waiting[:] = [
            m
            for m in waiting
            if client.get(f"/v1/communities/{community_id}/sessions", headers=member_headers(m)).status_code != 200
        ]
        return not waiting

    wait_until(
        every_member_known,
        timeout,
        interval=0.2,
        message=f"the memberships of {waiting} in community {community_id} in the sessions replica",
    )


def wait_for_community_in_notifications(
    client: Any, community_id: str, operator_headers: dict[str, str], timeout: float = 60.0
) -> None:
    """Notifications answers a community's reminder settings (200, not 404) once the community is in its replica;
    the same event, in the same transaction, gives it the community's regions that partner events are scoped by."""
    wait_until(
        lambda: client.get(f"/v1/communities/{community_id}/reminders", headers=operator_headers).status_code == 200,
        timeout,
        interval=0.2,
        message=f"community {community_id} in the notifications replica",
    )
