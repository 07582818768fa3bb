"""Write synthetic AsyncAPI 3.0 specs with a chosen number of messages.

Each message is a domain event (`OrderCreatedV1`, `PaymentFailedV3`, ...) on a
channel of its own, received by one operation. Payloads look like those of a
real event catalogue: they refer to shared `Address`, `Money` and `Customer`
schemas, which refer to each other, and carry inline enums, arrays of nested
objects, a nested metadata object, string formats and bounds. Every third
payload also lists related customers, and every fifth has an optional,
nullable refund block, so payloads differ in shape as well as in name.

The output depends only on the message count, so the same count always gives
the same bytes.

Run from the repository root:
    .venv/bin/python bench/synth.py --output bench/.specs 10 100 1000 5000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

DEFAULT_COUNTS = (10, 100, 1000, 5000)
ENTITIES = (
    "Order",
    "Payment",
    "Shipment",
    "Invoice",
    "Customer",
    "Product",
    "Refund",
    "Subscription",
    "Cart",
    "Review",
)
ACTIONS = ("Created", "Updated", "Cancelled", "Completed", "Failed")
STATUSES = ("pending", "active", "on_hold", "closed", "archived", "disputed")


def event_name(index: int) -> tuple[str, str, str, int]:
    """Return the message name, entity, action and version of event `index`."""
    entity = ENTITIES[index % len(ENTITIES)]
    action = ACTIONS[(index // len(ENTITIES)) % len(ACTIONS)]
    version = index // (len(ENTITIES) * len(ACTIONS)) + 1
    return f"{entity}{action}V{version}", entity, action, version


def shared_schemas() -> dict[str, Any]:
    """Return the component schemas that every payload refers to."""
    return {
        "Money": {
            "type": "object",
            "description": "An amount in one currency, as a decimal string.",
            "required": ["amount", "currency"],
            "properties": {
                "amount": {"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,4})?$"},
                "currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY"]},
            },
        },
        "Address": {
            "type": "object",
            "required": ["lines", "city", "country"],
            "properties": {
                "lines": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 120},
                    "minItems": 1,
                    "maxItems": 4,
                },
                "city": {"type": "string", "minLength": 1},
                "postal_code": {"type": "string", "pattern": r"^[A-Z0-9 -]{3,10}$"},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "location": {
                    "type": "object",
                    "properties": {
                        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                        "longitude": {
                            "type": "number",
                            "minimum": -180,
                            "maximum": 180,
                        },
                    },
                },
            },
        },
        "Customer": {
            "type": "object",
            "required": ["customer_id", "email"],
            "properties": {
                "customer_id": {"type": "string", "format": "uuid"},
                "email": {"type": "string", "format": "email"},
                "name": {"type": "string", "maxLength": 200},
                "tier": {"type": "string", "enum": ["free", "standard", "premium"]},
                "billing_address": {"$ref": "#/components/schemas/Address"},
                "lifetime_value": {"$ref": "#/components/schemas/Money"},
            },
        },
    }


def payload_schema(index: int) -> dict[str, Any]:
    """Return the payload schema of event `index`."""
    name, entity, action, version = event_name(index)
    kind = f"{entity.lower()}.{action.lower()}.v{version}"
    statuses = list(STATUSES[: 3 + index % 4])
    properties: dict[str, Any] = {
        "event_id": {"type": "string", "format": "uuid"},
        "event_type": {"type": "string", "enum": [kind]},
        "occurred_at": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": statuses},
        "customer": {"$ref": "#/components/schemas/Customer"},
        "total": {"$ref": "#/components/schemas/Money"},
        "shipping_address": {"$ref": "#/components/schemas/Address"},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "quantity", "unit_price"],
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z0-9-]{4,32}$"},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "unit_price": {"$ref": "#/components/schemas/Money"},
                    "attributes": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                    },
                },
            },
        },
        "metadata": {
            "type": "object",
            "properties": {
                "source": {"type": "string", "enum": ["web", "mobile", "api"]},
                "trace_id": {"type": "string", "maxLength": 64},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "notes": {"type": "string", "maxLength": 500},
    }
    if index % 3 == 0:
        properties["related_customers"] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Customer"},
            "maxItems": 10,
        }
    if index % 5 == 0:
        properties["refund"] = {
            "type": ["object", "null"],
            "properties": {
                "amount": {"$ref": "#/components/schemas/Money"},
                "reason": {
                    "type": "string",
                    "enum": ["damaged", "late", "duplicate", "other"],
                },
            },
        }
    return {
        "type": "object",
        "description": f"Payload of the {kind} event.",
        "required": ["event_id", "event_type", "occurred_at", "status", "customer"],
        "properties": properties,
    }


def synthetic_spec(count: int) -> dict[str, Any]:
    """Return an AsyncAPI 3.0 document with `count` messages."""
    schemas = shared_schemas()
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for index in range(count):
        name, entity, action, version = event_name(index)
        schemas[f"{name}Payload"] = payload_schema(index)
        messages[name] = {
            "name": name,
            "title": f"{entity} {action.lower()} (version {version})",
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}Payload"},
        }
        channel = f"{entity.lower()}{action}V{version}"
        channels[channel] = {
            "address": f"/events/{entity.lower()}/{action.lower()}/v{version}",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"receive{name}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Receive {name} events.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Synthetic event catalogue with {count} messages",
            "version": "1.0.0",
        },
        "servers": {
            "webhook": {
                "host": "events.example.com",
                "protocol": "https",
                "security": [{"$ref": "#/components/securitySchemes/apiKey"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "apiKey": {"type": "httpApiKey", "name": "X-API-Key", "in": "header"}
            },
        },
    }


def write_spec(count: int, folder: Path) -> Path:
    """Write the spec with `count` messages into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic-{count}-asyncapi.yml"
    text = yaml.safe_dump(synthetic_spec(count), sort_keys=False, width=88)
    path.write_text(text, encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "counts",
        nargs="*",
        type=int,
        default=list(DEFAULT_COUNTS),
        help="message counts, one spec each (default: 10 100 1000 5000)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("bench/.specs"),
        help="folder to write the specs into (default: bench/.specs)",
    )
    args = parser.parse_args()
    if any(count < 1 for count in args.counts):
        parser.error("each message count must be at least 1")
    for count in args.counts:
        print(write_spec(count, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
