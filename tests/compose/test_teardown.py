"""`docker compose down -v` leaves nothing of the project: no container, no network, no volume.

Run last (tests/compose/conftest.py orders it): it takes down the stack every other compose test used.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.compose


def test_down_with_volumes_leaves_no_container_network_or_volume(compose_stack):
    before = compose_stack.project.leftovers()
    assert before["containers"], before
    assert before["networks"], before
    assert before["volumes"], before
    compose_stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "30")
    assert compose_stack.project.leftovers() == {"containers": [], "networks": [], "volumes": []}
