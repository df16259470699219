"""Path parameters, bounded by the columns that keep them: PostgreSQL refuses a longer value (a 500), SQLite not."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MemberId = Annotated[str, Path(min_length=1, max_length=36, description="Member id.")]
CommunityId = Annotated[str, Path(min_length=1, max_length=36, description="Community id.")]
OrganizationId = Annotated[str, Path(min_length=1, max_length=200, description="Organization id.")]
EndpointId = Annotated[str, Path(min_length=1, max_length=36, description="Webhook endpoint id.")]
MessageId = Annotated[str, Path(min_length=1, max_length=36, description="Webhook message id.")]
