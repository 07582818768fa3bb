"""Realistic fake messages for `simulate`, varied from valid seed payloads.

Each fake starts from a payload the spec accepts: an example, or one the
generator synthesized. It gets new values where the schema leaves room, such
as an enum member, a number within its bounds, or a name, city or email
address chosen by the property's name. Values under a pattern, a const or a
oneOf/anyOf stay as they are. Every fake is checked with jsonschema against
the bundled schema.json; one that fails falls back to its seed payload.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from jsonschema import Draft7Validator

FIRST_NAMES: Final = ("Ada", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gus", "Hana")
LAST_NAMES: Final = ("Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia")
CITIES: Final = (
    ("Austin", "TX"),
    ("Boise", "ID"),
    ("Denver", "CO"),
    ("Madison", "WI"),
    ("Portland", "OR"),
    ("Raleigh", "NC"),
)
STREETS: Final = ("Oak St", "Maple Ave", "Pine Rd", "Cedar Ln", "Elm Dr", "Birch Ct")
WORDS: Final = ("website", "mobile app", "referral", "open house", "search", "email")
SENTENCES: Final = (
    "Is this home still available?",
    "I would like to schedule a showing this weekend.",
    "Please call me about selling my house.",
    "What are the HOA fees?",
)
# Ranges for numbers by property name, narrowed further by the schema's bounds.
NUMBER_RANGES: Final = {
    "latitude": (25.0, 49.0),
    "longitude": (-124.0, -67.0),
    "price": (80_000.0, 2_000_000.0),
    "value": (80_000.0, 2_000_000.0),
    "budget": (80_000.0, 2_000_000.0),
    "beds": (1.0, 6.0),
    "baths": (1.0, 4.0),
    "sqft": (400.0, 6_000.0),
    "days": (0.0, 365.0),
}
DEFAULT_RANGE: Final = (0.0, 1_000.0)


class FakeMessages:
    """Builds fake payloads for the messages of one schema document."""

    def __init__(
        self,
        schema_document: Mapping[str, Any],
        *,
        classes: Mapping[str, str],
        seeds: Mapping[str, Sequence[Any]],
        idempotency_fields: Mapping[str, str],
    ) -> None:
        self.document = dict(schema_document)
        self.defs: Mapping[str, Any] = self.document.get("$defs", {})
        self.classes = classes
        self.seeds = seeds
        self.idempotency_fields = idempotency_fields
        self._validators: dict[str, Draft7Validator] = {}

    def validator(self, message: str) -> Draft7Validator:
        """Return the jsonschema validator of one message's payload class."""
        if message not in self._validators:
            schema = {**self.document, "$ref": f"#/$defs/{self.classes[message]}"}
            self._validators[message] = Draft7Validator(
                schema, format_checker=Draft7Validator.FORMAT_CHECKER
            )
        return self._validators[message]

    def make(self, message: str, key: str, rng: random.Random) -> Any:
        """Return a valid fake payload whose idempotency field, if any, is `key`.

        Raises ValueError when even the seed payload fails validation, which
        means the package was edited after it was generated.
        """
        seed = rng.choice(list(self.seeds[message]))
        schema = self.defs[self.classes[message]]
        validator = self.validator(message)
        for candidate in (self._vary(schema, seed, rng, ""), seed):
            payload = self._with_key(message, candidate, key)
            if validator.is_valid(payload):
                return payload
        error = next(iter(validator.iter_errors(self._with_key(message, seed, key))))
        raise ValueError(
            f"the seed payload of {message} is invalid ({error.message}); "
            "regenerate the package"
        )

    def _with_key(self, message: str, payload: Any, key: str) -> Any:
        name = self.idempotency_fields.get(message)
        if name is None or not isinstance(payload, dict):
            return payload
        if not isinstance(payload.get(name, ""), str):
            return payload
        return {**payload, name: key}

    def _deref(self, schema: Any) -> Any:
        for _ in range(50):
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                return schema
            schema = self.defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return {}

    def _vary(self, schema: Any, value: Any, rng: random.Random, name: str) -> Any:
        schema = self._deref(schema)
        if not isinstance(schema, dict) or "const" in schema:
            return value
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return rng.choice(schema["enum"])
        if any(key in schema for key in ("oneOf", "anyOf", "not", "allOf")):
            return value
        if isinstance(value, bool):
            return rng.random() < 0.5
        if isinstance(value, int | float):
            return _number(schema, value, rng, name)
        if isinstance(value, str):
            return _string(schema, value, rng, name)
        if isinstance(value, list):
            items = schema.get("items", {})
            if not isinstance(items, dict):
                return value
            return [self._vary(items, item, rng, name) for item in value]
        if isinstance(value, dict):
            properties = schema.get("properties") or {}
            return {
                key: self._vary(properties.get(key, {}), item, rng, key)
                for key, item in value.items()
            }
        return value


def _number(
    schema: Mapping[str, Any], value: float, rng: random.Random, name: str
) -> float:
    if "multipleOf" in schema:
        return value
    low, high = next(
        (span for hint, span in NUMBER_RANGES.items() if hint in name.lower()),
        DEFAULT_RANGE,
    )
    for key in ("minimum", "exclusiveMinimum"):
        if isinstance(schema.get(key), int | float):
            low = max(low, float(schema[key]))
    for key in ("maximum", "exclusiveMaximum"):
        if isinstance(schema.get(key), int | float):
            high = min(high, float(schema[key]))
    if low > high:
        return value
    if isinstance(value, int):
        ceiling, floor = -int(-low // 1), int(high // 1)
        return rng.randint(ceiling, floor) if ceiling <= floor else value
    return round(rng.uniform(low, high), 2)


def _string(
    schema: Mapping[str, Any], value: str, rng: random.Random, name: str
) -> str:
    if "pattern" in schema:
        return value
    text = _text_for(schema.get("format"), name.lower(), rng)
    if text is None:
        return value
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", len(text))
    if not low <= len(text) <= high:
        return value
    return text


def _text_for(fmt: Any, name: str, rng: random.Random) -> str | None:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    number = rng.randint(1, 9999)

    if fmt in ("email", "idn-email") or (fmt is None and "email" in name):
        return f"{first}.{last}{number}@example.com".lower()
    if fmt == "date-time":
        return _moment(rng).strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "date":
        return _moment(rng).strftime("%Y-%m-%d")
    if fmt in ("uri", "iri", "url", "uri-reference"):
        return f"https://example.com/{name or 'item'}/{number}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt is not None:
        return None

    city, state = rng.choice(CITIES)
    by_name = {
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",
        "phone": f"555-01{number % 100:02d}",
        "city": city,
        "state": state,
        "zip": f"{rng.randint(10000, 99999)}",
        "address": f"{number} {rng.choice(STREETS)}",
        "message": rng.choice(SENTENCES),
    }
    for hint, text in by_name.items():
        if hint in name:
            return text
    return rng.choice(WORDS)


def _moment(rng: random.Random) -> datetime.datetime:
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    return start + datetime.timedelta(seconds=rng.randint(0, 365 * 24 * 3600))
