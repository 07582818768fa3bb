"""Payload models of the test fixture, shaped like generated models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictStr,
    field_validator,
    model_validator,
)


class Contact(BaseModel):
    """Contact details of a lead."""

    model_config = ConfigDict(extra="allow")

    email: EmailStr
    name: StrictStr | None = None

    @field_validator("name")
    @classmethod
    def reject_reserved_name(cls, name: str | None) -> str | None:
        """Reject names starting with "zq-", quoting the input in the message.

        Custom validators may quote input like this, and the receiver must not
        pass such a message on.
        """
        if name is not None and name.startswith("zq-"):
            raise ValueError(f"name {name!r} is reserved")
        return name


class BuyerLead(BaseModel):
    """Lead from a buyer."""

    model_config = ConfigDict(extra="allow")

    role: Literal["buyer"]
    lead_id: StrictStr
    contact: Contact


class SellerLead(BaseModel):
    """Lead from a seller."""

    model_config = ConfigDict(extra="allow")

    role: Literal["seller"]
    lead_id: StrictStr
    contact: Contact


class StatusUpdate(BaseModel):
    """Status change of a lead, sent to an endpoint with a single message."""

    lead_id: StrictStr
    state: Literal["open", "closed"]


Lead = Annotated[BuyerLead | SellerLead, Field(discriminator="role")]


class EventDetails(BaseModel):
    """Details of a created record."""

    name: StrictStr


class CreatedEvent(BaseModel):
    """Event that a record was created, one member of a union without discriminator."""

    id: StrictStr
    details: EventDetails


class ClosedEvent(BaseModel):
    """Event that a record was closed, the other member of that union."""

    id: StrictStr
    reason: StrictStr

    @model_validator(mode="after")
    def reject_blank_reason(self) -> ClosedEvent:
        """Reject a reason of only white space.

        Because of this model validator, pydantic labels this union member
        "function-after[...]" in error locations instead of with the class name.
        """
        if not self.reason.strip():
            raise ValueError("reason is blank")
        return self


Event = CreatedEvent | ClosedEvent
"""Union without discriminator, which pydantic validates by trying each member."""
