"""The generic wake-on-commit hook as notifications uses it: the commit of the reaction that queues an email wakes
the "send-emails" job (instead of its next poll); a commit that queues nothing due does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cercle_shared.contracts.registration import CommunityCreated
from tests.support.harness import harness
from tests.unit.notifications.factories import confirmed, contact_changed, new_id, session_scheduled


def test_the_commit_that_queues_an_email_wakes_the_sender_and_other_commits_do_not(tmp_path, tmp_path_factory):
    for h in harness("notifications", tmp_path, tmp_path_factory.getbasetemp()):
        h.clock.now = datetime.now(UTC) + timedelta(minutes=1)  # the events' times are due on this clock
        woken: list[str] = []
        h.app.state.runtime.jobs.wake = woken.append
        member, session = new_id(), new_id()
        h.publish(
            CommunityCreated(
                community_id="c-1",
                name_fr="CoP SMET Laval",
                name_en="Laval workplace health CoP",
                kind="community_of_practice",
                regions=["13"],
                cadence=6,
                status="active",
                created_at=datetime.now(UTC),
            )
        )
        h.publish(contact_changed(member))
        h.publish(session_scheduled(session))
        assert woken == []  # nothing to send yet

        h.publish(confirmed(member, session))  # the confirmation email is queued

        assert woken == ["send-emails"]
