"""Handlers for the fixture receiver that record each call in a JSON lines file.

The file is named by the FIXTURE_HANDLER_LOG environment variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

from .models import BuyerLead, ClosedEvent, CreatedEvent, SellerLead, StatusUpdate


def record_call(method: str, payload: BaseModel) -> None:
    """Append the method name and payload to the FIXTURE_HANDLER_LOG file."""
    entry = {
        "method": method,
        "type": type(payload).__name__,
        "payload": payload.model_dump(mode="json"),
    }
    with Path(os.environ["FIXTURE_HANDLER_LOG"]).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


class RecordingHandler:
    """Records every message. Mixes async and sync methods on purpose."""

    async def on_buyer_lead(self, payload: BuyerLead) -> None:
        """Record a buyer lead."""
        record_call("on_buyer_lead", payload)

    def on_seller_lead(self, payload: SellerLead) -> None:
        """Record a seller lead."""
        record_call("on_seller_lead", payload)

    def on_status_update(self, payload: StatusUpdate) -> None:
        """Record a status update."""
        record_call("on_status_update", payload)

    def on_created_event(self, payload: CreatedEvent) -> None:
        """Record a created event."""
        record_call("on_created_event", payload)

    def on_closed_event(self, payload: ClosedEvent) -> None:
        """Record a closed event."""
        record_call("on_closed_event", payload)


class FailingHandler:
    """Records every call, then raises."""

    def on_buyer_lead(self, payload: BuyerLead) -> None:
        """Record a buyer lead and fail."""
        record_call("on_buyer_lead", payload)
        raise RuntimeError("handler failed on purpose")

    async def on_seller_lead(self, payload: SellerLead) -> None:
        """Record a seller lead and fail."""
        record_call("on_seller_lead", payload)
        raise RuntimeError("handler failed on purpose")

    def on_status_update(self, payload: StatusUpdate) -> None:
        """Record a status update and fail."""
        record_call("on_status_update", payload)
        raise RuntimeError("handler failed on purpose")

    def on_created_event(self, payload: CreatedEvent) -> None:
        """Record a created event and fail."""
        record_call("on_created_event", payload)
        raise RuntimeError("handler failed on purpose")

    def on_closed_event(self, payload: ClosedEvent) -> None:
        """Record a closed event and fail."""
        record_call("on_closed_event", payload)
        raise RuntimeError("handler failed on purpose")
