"""The broker's principals, ACLs and topics, applied as the admin principal (kafka-python's admin API).

`bootstrap` is idempotent: it creates the topics, sets each service's SCRAM-SHA-512 credential, adds the ACLs of
cercle_shared.contracts.access and removes any other ACL a service principal holds (so that a grant dropped from
the table is dropped from the broker too).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError

from cercle_shared.contracts import access
from cercle_shared.contracts.topics import SERVICES
from cercle_shared.messaging.admin import ensure_topics
from cercle_shared.messaging.security import kafka_python_config
from cercle_shared.settings import KafkaSettings

PASSWORD_ENV = "CERCLE_KAFKA_PASSWORD_{service}"


def admin_client(settings: KafkaSettings, **extra: Any) -> KafkaAdminClient:
    extra.setdefault("bootstrap_timeout_ms", 15000)  # an unreachable broker is said within 15 s, not 40
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="cercle-ops",
        request_timeout_ms=10000,
        **kafka_python_config(settings),
        **extra,
    )


def to_acl(grant: access.Grant) -> ACL:
    return ACL(
        principal=grant.principal,
        host="*",
        operation=ACLOperation[grant.operation.value],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource.value],
            grant.name,
            ACLResourcePatternType[grant.pattern.value],
        ),
    )


def from_acl(acl: ACL) -> access.Grant | None:
    """The grant an ACL on the broker stands for; None for what the table never grants (e.g. a DENY)."""
    try:
        return access.Grant(
            principal=acl.principal,
            resource=access.Resource(acl.resource_pattern.resource_type.name),
            name=acl.resource_pattern.resource_name,
            operation=access.Operation(acl.operation.name),
            pattern=access.Pattern(acl.resource_pattern.pattern_type.name),
        )
    except ValueError:
        return None


def _principal_filter(principal: str) -> ACLFilter:
    return ACLFilter(
        principal=principal,
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )


def acls_of(admin: KafkaAdminClient, principal: str) -> list[ACL]:
    acls, _ = admin.describe_acls(_principal_filter(principal))  # raises on an error
    return list(acls)


def _exact_filter(acl: ACL) -> ACLFilter:
    return ACLFilter(
        principal=acl.principal,
        host=acl.host,
        operation=acl.operation,
        permission_type=acl.permission_type,
        resource_pattern=ResourcePatternFilter(
            acl.resource_pattern.resource_type,
            acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type,
        ),
    )


def converge(admin: KafkaAdminClient, principal: str, wanted: Iterable[access.Grant]) -> tuple[int, int]:
    """Make `principal`'s ACLs exactly `wanted`; returns (added, removed)."""
    wanted_set = set(wanted)
    present = acls_of(admin, principal)
    present_grants = {from_acl(acl) for acl in present}
    stale = [acl for acl in present if from_acl(acl) not in wanted_set]
    missing = sorted(wanted_set - present_grants)
    if missing:
        result = admin.create_acls([to_acl(g) for g in missing])
        if result["failed"]:
            raise RuntimeError(f"creating ACLs for {principal} failed: {result['failed']}")
    if stale:
        admin.delete_acls([_exact_filter(acl) for acl in stale])
    return len(missing), len(stale)


def _has_credential(admin: KafkaAdminClient, user: str) -> bool:
    try:
        described = admin.describe_user_scram_credentials([user]).get(user) or {}
    except KafkaError:
        return False
    return any(info["mechanism"] is ScramMechanism.SCRAM_SHA_512 for info in described.get("credential_infos", []))


def set_password(admin: KafkaAdminClient, user: str, password: str, *, timeout: float = 15.0) -> None:
    """Set the user's SCRAM-SHA-512 credential and wait until the broker knows it (the controller writes it to the
    metadata log; a client authenticating a moment too early would be refused)."""
    errors = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password)]
    )
    if errors.get(user):
        raise RuntimeError(f"setting the SCRAM credential of {user} failed: {errors[user]}")
    deadline = time.monotonic() + timeout
    while not _has_credential(admin, user):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker does not show {user}'s credential after {timeout:.0f}s")
        time.sleep(0.1)


def delete_password(admin: KafkaAdminClient, user: str, *, timeout: float = 15.0) -> bool:
    """Delete the user's credential and wait until the broker forgets it; False when there was none."""
    errors = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)])
    deadline = time.monotonic() + timeout
    while _has_credential(admin, user):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the broker still shows {user}'s credential after {timeout:.0f}s")
        time.sleep(0.1)
    return not errors.get(user)


@dataclass
class BootstrapReport:
    topics_created: list[str] = field(default_factory=list)
    credentials_set: list[str] = field(default_factory=list)
    acls_added: int = 0
    acls_removed: int = 0


def service_passwords_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Each service's password from CERCLE_KAFKA_PASSWORD_<SERVICE>; a missing one is an error naming it."""
    names = {service: PASSWORD_ENV.format(service=service.upper()) for service in SERVICES}
    missing = [name for name in names.values() if not environ.get(name)]
    if missing:
        raise ValueError("missing service passwords: " + ", ".join(missing))
    return {service: environ[name] for service, name in names.items()}


def bootstrap(
    settings: KafkaSettings,
    passwords: Mapping[str, str],
    *,
    groups: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> BootstrapReport:
    """Topics, the services' SCRAM credentials and their ACLs, as the table says; safe to run again."""
    report = BootstrapReport()
    report.topics_created = ensure_topics(settings.kafka_bootstrap, timeout=timeout, security=settings)
    admin = admin_client(settings)
    try:
        for service in SERVICES:
            user = access.service_user(service)
            if service in passwords:
                set_password(admin, user, passwords[service])
                report.credentials_set.append(user)
            group = (groups or {}).get(service)
            added, removed = converge(admin, access.principal(user), access.service_grants(service, group))
            report.acls_added += added
            report.acls_removed += removed
    finally:
        admin.close()
    return report


@dataclass(frozen=True)
class PartnerCredentials:
    org: str
    username: str
    password: str
    group_prefix: str
    topics: tuple[str, ...]


def grant_partner(settings: KafkaSettings, org: str) -> PartnerCredentials:
    """A new SCRAM credential for the partner (a previous one stops working) and its read-only ACLs."""
    user = access.partner_user(org)
    password = secrets.token_urlsafe(24)
    admin = admin_client(settings)
    try:
        set_password(admin, user, password)
        converge(admin, access.principal(user), access.partner_grants(org))
    finally:
        admin.close()
    return PartnerCredentials(
        org=org,
        username=user,
        password=password,
        group_prefix=f"{access.PARTNER_GROUP_PREFIX}{org}.",
        topics=tuple(sorted(access.partner_topics())),
    )


def revoke_partner(settings: KafkaSettings, org: str) -> tuple[bool, int]:
    """Delete the partner's credential and every ACL of its principal; returns (had a credential, ACLs removed)."""
    user = access.partner_user(org)
    admin = admin_client(settings)
    try:
        had = delete_password(admin, user)
        _, removed = converge(admin, access.principal(user), [])
    finally:
        admin.close()
    return had, removed
