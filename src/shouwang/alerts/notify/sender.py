"""Sending deliveries. Placeholder until the channel senders land: deliveries wait in the
database and are picked up by the periodic sweep."""

from __future__ import annotations


def wake() -> None:
    return None
