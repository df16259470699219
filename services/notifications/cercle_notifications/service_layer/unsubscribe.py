"""One-click unsubscribe (RFC 8058) per category, and the one question every sender asks: may I send category X
to member M?

A link names a member and a category, signed with HMAC-SHA256 under a key of this service: it works without
signing in (mail providers POST to it, members click it), cannot be forged for another member or category, and
stops exactly that category. It does not expire: an email read months later still unsubscribes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from cercle_shared.errors import NotFound

from ..config import Settings
from ..domain import model
from ..domain.model import Category
from .unit_of_work import NotificationsUnitOfWork

_PURPOSE = b"cercle-notifications/unsubscribe/v1\x00"
_SIGNATURE_BYTES = 16  # 128 bits: forging one is out of reach, and the URL stays short


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str) -> bytes:
    """A key of its own from a service secret, so that an unsubscribe signature is never a valid JWT one."""
    return hmac.new(secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Makes and reads the signed links of one service instance (key, public address, mailto address)."""

    key: bytes
    base_url: str
    mailto: str

    def _signature(self, payload: bytes) -> bytes:
        return hmac.new(self.key, _PURPOSE + payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def token(self, member_id: str, category: Category) -> str:
        payload = f"{member_id}\x00{category}".encode()
        return f"{_b64(payload)}.{_b64(self._signature(payload))}"

    def read(self, token: str) -> tuple[str, Category]:
        """The member and category a token names; NotFound (404) for anything not signed by us: a tampered token
        reveals nothing, not even that it was nearly right."""
        try:
            encoded, _, signature = token.partition(".")
            payload, given = _unb64(encoded), _unb64(signature)
            if not hmac.compare_digest(given, self._signature(payload)):
                raise ValueError("bad signature")
            member_id, _, category = payload.decode("utf-8").partition("\x00")
            return member_id, Category(category)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise NotFound("no such unsubscribe link") from exc

    def url(self, member_id: str, category: Category) -> str:
        return f"{self.base_url.rstrip('/')}/v1/unsubscribe/{self.token(member_id, category)}"

    def headers(self, member_id: str, category: Category) -> dict[str, str]:
        """RFC 2369 and RFC 8058 headers: the HTTPS link (one-click POST) first, then the mailto alternative."""
        token = self.token(member_id, category)
        mailto = f"mailto:{self.mailto}?subject={quote('unsubscribe ' + token)}"
        return {
            "List-Unsubscribe": f"<{self.url(member_id, category)}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }


@dataclass(frozen=True)
class Unsubscribed:
    category: Category
    language: str
    changed: bool  # False: it was already stopped (a second click, a provider's retry)


def unsubscribe(token: str, links: UnsubscribeLinks, uow: NotificationsUnitOfWork, at: datetime) -> Unsubscribed:
    """Stop exactly the category the link names, for exactly its member; the same link twice changes nothing."""
    member_id, category = links.read(token)
    with uow:
        contact = uow.contacts.get(member_id)
        if member_id in uow.erased_members:
            return Unsubscribed(category, model.DEFAULT_LANGUAGE, False)  # nothing of hers is kept, nor re-created
        preferences = uow.preferences.get_for_update(member_id)
        if preferences is None:
            preferences = model.Preferences(member_id=member_id, updated_at=at)
            uow.preferences.add(preferences)
        changed = preferences.stop(category, at)
        language = preferences.language or (contact.language if contact else None) or model.DEFAULT_LANGUAGE
        uow.commit()
        return Unsubscribed(category, language if language in model.LANGUAGES else model.DEFAULT_LANGUAGE, changed)


def language_of_link(token: str, links: UnsubscribeLinks, uow: NotificationsUnitOfWork) -> tuple[Category, str]:
    """What the confirmation page needs (GET changes nothing: link scanners open every link)."""
    member_id, category = links.read(token)
    with uow:
        preferences = uow.preferences.get(member_id)
        contact = uow.contacts.get(member_id)
        language = (preferences.language if preferences else None) or (contact.language if contact else None)
    return category, language if language in model.LANGUAGES else model.DEFAULT_LANGUAGE


def may_send(uow: NotificationsUnitOfWork, member_id: str, category: Category | str | None) -> bool:
    """May a message of this category (None: transactional) go to this member now? Her email consent, then the
    category she may have stopped. Call it inside an open unit of work; the sender checks again at sending."""
    if member_id in uow.erased_members:
        return False
    contact = uow.contacts.get(member_id)
    if contact is None or not contact.accepts_email():
        return False
    preferences = uow.preferences.get(member_id)
    return category is None or preferences is None or preferences.wants(str(category))


def links_for(settings: Settings) -> UnsubscribeLinks:
    secret = settings.unsubscribe_key or settings.jwt_secret
    return UnsubscribeLinks(derive_key(secret.get_secret_value()), settings.public_url, settings.unsubscribe_mailto)
