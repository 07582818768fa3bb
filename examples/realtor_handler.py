"""An example handler for the Realtor.com receiver, used by `make serve`.

Team code like this lives outside generated/ and implements the generated
`Handler` interface. This one only logs a line per lead; a real one would
create or update the contact in the CRM. It runs after the lead is stored, so
an exception here makes the receiver retry later instead of losing the lead.
"""

from __future__ import annotations

import logging

from realtor_connections_plus.handlers import Handler
from realtor_connections_plus.models import BuyerLeadPayload, SellerLeadPayload

log = logging.getLogger("examples.realtor_handler")


class LeadPrinter:
    """Logs the id of each lead; personal data stays out of the log."""

    def on_buyer_lead(self, payload: BuyerLeadPayload) -> None:
        log.warning("stored buyer lead %s", payload.lead_id)

    def on_seller_lead(self, payload: SellerLeadPayload) -> None:
        log.warning("stored seller lead %s", payload.lead_id)


def _conforms(handler: Handler) -> Handler:
    """Let mypy prove that LeadPrinter implements the generated interface."""
    return handler


_conforms(LeadPrinter())
