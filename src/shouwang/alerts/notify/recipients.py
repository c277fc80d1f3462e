"""Recipients other than a channel's own: people an app knows of, told through a channel.

A channel has its own recipients (a group chat, a mailbox, the SMS numbers in its settings).
An app above `alerts` may add a kind of recipient found from the alert itself; the dispatch
plans one delivery per such recipient, through the nearest channel of the kind the source
names, and the sender sends it like any other (leases, rate limits, retries, translated
errors), never joined into a digest with anyone else's messages.

Registered (in the app's `AppConfig.ready()`, with `register`):
- "family" by `shouwang.quarantine` (`quarantine.services.family.FamilyContacts`): the family
  contacts of the alert's person, by template SMS.
"""

from __future__ import annotations

from typing import Protocol

from shouwang.alerts.models import Alert


class RecipientSource(Protocol):
    # Stored in Delivery.recipient_kind: at most 10 characters, never "".
    kind: str
    # The channel kind that carries these messages (ChannelKind.SMS for phone numbers).
    channel_kind: str

    def recipients(self, alert: Alert, reason: str) -> list[int]:
        """Ids of the recipients to tell of this change (often none), inside its transaction."""
        ...

    def address(self, ref: int) -> str | None:
        """Where to reach recipient `ref` now (a phone number), or None if they are gone."""
        ...

    def label(self, ref: int) -> str:
        """The recipient as staff may see them (masked)."""
        ...


_sources: dict[str, RecipientSource] = {}


def register(source: RecipientSource) -> None:
    """Called once per kind, from the owning app's ready(); a second call is a mistake."""
    if not source.kind or len(source.kind) > 10:
        raise ValueError(f"recipient kind {source.kind!r}: 1 to 10 characters")
    if source.kind in _sources:
        raise ValueError(f"recipient kind {source.kind!r} is already registered")
    _sources[source.kind] = source


def sources() -> list[RecipientSource]:
    return list(_sources.values())


def source(kind: str) -> RecipientSource | None:
    return _sources.get(kind)
