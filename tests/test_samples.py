"""Valid sample payloads: the spec's examples first, synthesized ones otherwise."""

from __future__ import annotations

from typing import Any

from generator.samples import Samples

LEAD: dict[str, Any] = {
    "type": "object",
    "required": ["lead_id", "role"],
    "properties": {
        "lead_id": {"type": "string"},
        "role": {"type": "string", "enum": ["buyer"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
}


def test_schema_examples_are_valid_samples() -> None:
    schema = {
        **LEAD,
        "examples": [
            {"lead_id": "a", "role": "buyer"},
            {"lead_id": "b", "role": "seller"},
        ],
    }
    samples = Samples({"$defs": {"Lead": schema}}).valid("lead", "Lead", ())
    assert [(s.case, s.payload) for s in samples] == [
        ("schema_example_1", {"lead_id": "a", "role": "buyer"})
    ]


def test_message_examples_come_before_schema_examples() -> None:
    schema = {**LEAD, "examples": [{"lead_id": "a", "role": "buyer"}]}
    message_example = {"lead_id": "m", "role": "buyer", "score": 0.5}
    samples = Samples({"$defs": {"Lead": schema}}).valid(
        "lead", "Lead", (message_example,)
    )
    assert [s.case for s in samples] == ["example_1", "schema_example_1"]
    assert samples[0].payload == message_example


def test_without_examples_minimal_and_maximal_are_synthesized() -> None:
    samples = Samples({"$defs": {"Lead": LEAD}}).valid("lead", "Lead", ())
    assert [s.case for s in samples] == ["minimal", "maximal"]
    assert set(samples[0].payload) == {"lead_id", "role"}
    assert set(samples[1].payload) == {"lead_id", "role", "score"}
