"""Template filters and globals for the Kafka overlay example."""

from __future__ import annotations

import re

TOPIC_PREFIX = "leads"


def topic(name: str) -> str:
    """Return the Kafka topic of a message: `BuyerLead` becomes `leads.buyer-lead`."""
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    return f"{TOPIC_PREFIX}." + "-".join(word.lower() for word in words)


FILTERS = {"topic": topic}
GLOBALS = {"topic_prefix": TOPIC_PREFIX}
