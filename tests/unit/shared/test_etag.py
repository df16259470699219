"""If-Match is client input like any other: whatever it holds, it names a version or it is a 409 problem."""

import pytest

from cercle_shared.errors import PreconditionRequired, StaleVersion
from cercle_shared.web.etag import etag, expected_version


def test_an_etag_round_trips():
    assert expected_version(etag(7)) == 7
    assert expected_version('"7"') == 7
    assert expected_version(None, body_version=3) == 3


@pytest.mark.parametrize(
    "if_match",
    ['W/"²"', "³", 'W/"١٢"', 'W/"' + "9" * 5000 + '"', "9" * 19, 'W/"-1"', "*", 'W/"1", W/"2"', "W/", '""', "x"],
)
def test_an_if_match_that_names_no_version_is_a_stale_version_not_an_error(if_match):
    with pytest.raises(StaleVersion):
        expected_version(if_match)


def test_without_if_match_or_version_a_precondition_is_required():
    with pytest.raises(PreconditionRequired):
        expected_version(None)
