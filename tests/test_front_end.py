"""Loading, resolving and checking specs: one exact diagnostic per bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main

HEADER = 'asyncapi: 2.6.0\ninfo: {title: T, version: "1"}\n'
PAYLOAD_REF = """channels:
  a:
    publish:
      message:
        payload:
          $ref: '{ref}'
"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def validate(name: str, *extra: str) -> Result:
    return CliRunner().invoke(main, ["validate", name, *extra])


def write(name: str, text: str | bytes) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return name


def only_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


BAD_INPUTS = {
    "duplicate key": (
        'asyncapi: 2.6.0\ninfo:\n  title: T\n  version: "1"\n  title: U\n'
        "channels: {}\n",
        "spec.yml:5:3: error: duplicate key 'title'; keep only one "
        "(YAML would silently drop one)",
    ),
    "unquoted numeric info.version": (
        "asyncapi: 2.6.0\ninfo:\n  title: T\n  version: 1.0\nchannels: {}\n",
        "spec.yml:4:12: error: 'version' must be a string, not a number; put the "
        "value in quotes [at #/info/version]",
    ),
    "document is a list": (
        "- asyncapi: 2.6.0\n",
        "spec.yml:1:1: error: the document is not a mapping; an AsyncAPI document "
        "is a YAML or JSON object with an `asyncapi` key",
    ),
    "unknown version": (
        'asyncapi: 9.0.0\ninfo: {title: T, version: "1"}\nchannels: {}\n',
        "spec.yml:1:11: error: unsupported asyncapi version '9.0.0'; asyncapi-gen "
        "reads 2.0.0 to 2.6.0 and 3.0.x (quote the version so it stays a string)",
    ),
    "missing version": (
        'info: {title: T, version: "1"}\nchannels: {}\n',
        "spec.yml:1:1: error: missing `asyncapi` version; add `asyncapi: 2.6.0` or "
        "`asyncapi: 3.0.0` at the top",
    ),
    "remote ref": (
        HEADER + PAYLOAD_REF.format(ref="https://example.invalid/schema.json"),
        "spec.yml:8:17: error: remote $ref 'https://example.invalid/schema.json' is "
        "not allowed: asyncapi-gen never fetches from the network; download the "
        "file next to the spec and refer to it by a relative path "
        "[at #/channels/a/publish/message/payload]",
    ),
    "missing local ref": (
        HEADER
        + PAYLOAD_REF.format(ref="#/components/schemas/Lead")
        + "components:\n  schemas:\n    Leads: {type: object}\n",
        "spec.yml:8:17: error: unresolvable $ref '#/components/schemas/Lead': no key "
        "'Lead' at /components/schemas; did you mean 'Leads'? "
        "[at #/channels/a/publish/message/payload]",
    ),
    "ref cycle without a schema": (
        HEADER
        + PAYLOAD_REF.format(ref="#/components/schemas/A")
        + "components:\n  schemas:\n"
        "    A:\n      $ref: '#/components/schemas/B'\n"
        "    B:\n      $ref: '#/components/schemas/A'\n",
        "spec.yml:12:7: error: $ref cycle with no schema in it: "
        "spec.yml#/components/schemas/A -> spec.yml#/components/schemas/B -> "
        "spec.yml#/components/schemas/A; make one of them a schema "
        "[at #/components/schemas/A]",
    ),
    "ref to $defs inside a payload": (
        HEADER + PAYLOAD_REF.format(ref="#/$defs/Address"),
        "spec.yml:8:17: error: unresolvable $ref '#/$defs/Address': no key '$defs' "
        "at the document root; in an AsyncAPI document '#' is the document root, "
        "so move the definition under components/schemas and refer to "
        "'#/components/schemas/<Name>' [at #/channels/a/publish/message/payload]",
    ),
    "alias expansion bomb": (
        HEADER
        + "channels: {}\nx-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"x-a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
        ),
        "spec.yml:10:7: error: aliases expand this document past 2000000 nodes; "
        "replace repeated aliases with $refs",
    ),
    "deep nesting": (
        HEADER + "channels: {}\nx-deep: " + "[" * 5000 + "]" * 5000 + "\n",
        "spec.yml:1:1: error: nesting is deeper than 200 levels; no AsyncAPI "
        "document needs that, so check the file for runaway brackets",
    ),
    "channel parameter missing": (
        HEADER + "channels:\n  users/{userId}:\n    publish:\n      message:\n"
        "        payload: {type: string}\n",
        "spec.yml:4:3: error: channel 'users/{userId}' uses parameter {userId} but "
        "does not declare it under `parameters`; add `userId` there",
    ),
    "example that breaks its payload": (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n"
        "        name: Ping\n"
        "        payload: {type: object, required: [id]}\n"
        "        examples:\n          - payload: {other: 1}\n",
        "spec.yml:7:9: error: example 1 of message 'Ping' does not match its "
        "payload schema at /: 'id' is a required property; fix the example or the "
        "schema [at #/channels/a/publish/message]",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_gives_one_exact_line(kind: str) -> None:
    text, expected = BAD_INPUTS[kind]
    assert only_error(validate(write("spec.yml", text))) == expected


def test_non_utf8_file_is_rejected_at_its_line() -> None:
    text = HEADER.replace("title: T", "title: caf\xe9").encode("latin-1")
    name = write("spec.yml", text + b"channels: {}\n")
    assert only_error(validate(name)) == (
        "spec.yml:2:1: error: file is not valid UTF-8 (byte 33); save it as UTF-8"
    )


def test_file_over_the_size_limit_is_rejected() -> None:
    name = write("spec.yml", HEADER + "channels: {}\n" + "x-pad: " + "a" * 2000 + "\n")
    line = only_error(validate(name, "--max-spec-bytes", "1000"))
    assert line.startswith("spec.yml:1:1: error: file is 2068 bytes, over the limit")


def test_ref_outside_the_spec_folder_needs_permission() -> None:
    write("shared.yml", "Thing:\n  type: object\n")
    name = write(
        "specs/spec.yml", HEADER + PAYLOAD_REF.format(ref="../shared.yml#/Thing")
    )
    assert only_error(validate(name)) == (
        "specs/spec.yml:8:17: error: $ref '../shared.yml#/Thing' points outside the "
        "spec's folder specs; move the file inside it or pass --allow-outside-refs "
        "[at #/channels/a/publish/message/payload]"
    )
    assert validate(name, "--allow-outside-refs").exit_code == 0


def test_yaml_1_2_scalars_stay_strings(tmp_path: Path) -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n        name: Flags\n"
        "        payload:\n          type: object\n          properties:\n"
        "            answer: {type: string, enum: [on, no, NO, 2024-05-01]}\n"
    )
    result = CliRunner().invoke(
        main, ["context", write("spec.yml", text), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert '"on",' in result.stdout
    assert '"NO",' in result.stdout
    assert '"2024-05-01"' in result.stdout


def test_json_with_tabs_is_read_as_json() -> None:
    text = '{\n\t"asyncapi": "2.6.0",\n\t"info": {"title": "T", "version": "1"},\n'
    name = write("spec.json", text + '\t"channels": {}\n}\n')
    result = validate(name)
    assert result.exit_code == 0, result.output


def test_pointer_escapes_and_percent_encoding_resolve() -> None:
    text = (
        HEADER
        + PAYLOAD_REF.format(ref="#/components/schemas/with~1slash%20and~0tilde")
        + "components:\n  schemas:\n    with/slash and~tilde:\n"
        "      type: object\n      properties: {x: {type: string}}\n"
    )
    result = validate(write("spec.yml", text))
    assert result.exit_code == 0, result.output


def test_traits_merge_into_messages(tmp_path: Path) -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n"
        "        name: Ping\n        payload: {type: object}\n"
        "        traits:\n          - contentType: application/vnd.ping+json\n"
        "            title: From trait\n"
    )
    result = CliRunner().invoke(
        main, ["context", write("spec.yml", text), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert '"content_type": "application/vnd.ping+json"' in result.stdout
    assert '"title": "From trait"' in result.stdout


def context_of(text: str, tmp_path: Path) -> str:
    result = CliRunner().invoke(
        main, ["context", write("spec.yml", text), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_traits_merge_recursively_and_trait_wins_in_2x(tmp_path: Path) -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n"
        "        name: Ping\n        title: Own title\n"
        "        payload: {type: object}\n"
        "        traits:\n          - title: Trait title\n"
        "            summary: From trait\n"
    )
    output = context_of(text, tmp_path)
    assert '"title": "Trait title"' in output
    assert '"summary": "From trait"' in output


def test_traits_lose_to_the_message_in_3x(tmp_path: Path) -> None:
    text = (
        'asyncapi: 3.0.0\ninfo: {title: T, version: "1"}\n'
        "channels:\n  a:\n    address: /a\n    messages:\n      ping:\n"
        "        name: Ping\n        title: Own title\n"
        "        payload: {type: object}\n"
        "        traits:\n          - title: Trait title\n"
        "            summary: From trait\n"
        "operations:\n  onPing:\n    action: receive\n"
        "    channel: {$ref: '#/channels/a'}\n"
    )
    output = context_of(text, tmp_path)
    assert '"title": "Own title"' in output
    assert '"summary": "From trait"' in output


RAML_SPEC = (
    HEADER + "channels:\n  a:\n    publish:\n      message:\n"
    "        name: Ping\n"
    "        schemaFormat: application/raml+yaml;version=1.0\n"
    "        payload: {type: object}\n"
)
RAML_PROBLEM = (
    "spec.yml:7:9: {severity}: unsupported schema format "
    "'application/raml+yaml;version=1.0' for the payload of message 'Ping'; "
    "asyncapi-gen generates models from AsyncAPI, JSON Schema, OpenAPI 3.0 and "
    "Avro schemas only, so this payload is not checked "
    "[at #/channels/a/publish/message]"
)


def test_unsupported_schema_format_is_a_warning_for_validate() -> None:
    result = validate(write("spec.yml", RAML_SPEC))
    assert result.exit_code == 0, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0] == RAML_PROBLEM.format(severity="warning")


def test_unsupported_schema_format_is_an_error_for_generate(tmp_path: Path) -> None:
    name = write("spec.yml", RAML_SPEC)
    result = CliRunner().invoke(main, ["generate", name, "-o", "out"])
    assert only_error(result) == RAML_PROBLEM.format(severity="error")
    assert not Path("out").exists()


def test_colliding_names_are_warned_about() -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n        oneOf:\n"
        "          - $ref: '#/components/messages/LeadIn'\n"
        "          - $ref: '#/components/messages/lead-in'\n"
        "components:\n  messages:\n"
        "    LeadIn:\n      payload: {$ref: '#/components/schemas/LeadContact'}\n"
        "    lead-in:\n      payload: {$ref: '#/components/schemas/lead-contact'}\n"
        "  schemas:\n"
        "    LeadContact: {type: object, properties: {a: {type: string}}}\n"
        "    lead-contact: {type: object, properties: {b: {type: string}}}\n"
    )
    result = validate(write("spec.yml", text))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[:2] == [
        "spec.yml:15:7: warning: message 'lead-in' gets handler on_lead_in2 because "
        "another message already uses on_lead_in; give the messages distinct names "
        "[at #/components/messages/lead-in]",
        "spec.yml:18:19: warning: schema 'lead-contact' becomes class 'LeadContact2' "
        "because another schema already has the class name 'LeadContact'; rename "
        "one of them to choose the names [at #/components/schemas/lead-contact]",
    ]


def test_dynamic_ref_is_rejected() -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n        payload:\n"
        "          type: object\n          properties:\n"
        "            p: {$dynamicRef: /etc/passwd}\n"
    )
    assert only_error(validate(write("spec.yml", text))) == (
        "spec.yml:10:30: error: $dynamicRef is not supported; use $ref, which "
        "asyncapi-gen resolves within the spec's folder "
        "[at #/channels/a/publish/message/payload/properties/p]"
    )


def test_unknown_server_on_a_channel_is_an_error() -> None:
    text = (
        HEADER + "servers:\n  prod: {url: example.com, protocol: https, "
        "security: [{key: []}]}\n"
        "channels:\n  a:\n    servers: [production]\n    publish:\n"
        "      message: {payload: {type: object}}\n"
        "components:\n  securitySchemes:\n"
        "    key: {type: httpApiKey, name: X-Key, in: header}\n"
    )
    line = only_error(validate(write("spec.yml", text)))
    assert line.startswith("spec.yml:7:14: error: channel lists server 'production'")


def test_inline_security_scheme_in_3x_is_enforced(tmp_path: Path) -> None:
    text = (
        'asyncapi: 3.0.0\ninfo: {title: T, version: "1"}\n'
        "channels:\n  lead:\n    address: /lead\n    messages:\n"
        "      ping: {payload: {type: object}}\n"
        "operations:\n  onPing:\n    action: receive\n"
        "    channel: {$ref: '#/channels/lead'}\n"
        "    security:\n      - {type: httpApiKey, name: X-API-Key, in: header}\n"
    )
    write("spec.yml", text)
    result = CliRunner().invoke(main, ["generate", "spec.yml", "-o", "out"])
    assert result.exit_code == 0, result.output
    app = Path("out/spec/app.py").read_text(encoding="utf-8")
    assert 'name="X-API-Key"' in app
    assert 'security=(("onPingSecurity1",),)' in app


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEADER.replace("title: T", "title: a\x00b") + "channels: {}\n",
            "spec.yml:2:16: error: invalid YAML: control character U+0000",
        ),
        (
            HEADER + "channels: {}\nx-n: .nan\n",
            "spec.yml:4:6: error: nan is not a number JSON can carry",
        ),
    ],
)
def test_unusable_values_are_rejected(text: str, expected: str) -> None:
    assert only_error(validate(write("spec.yml", text))).startswith(expected)


def test_stdlib_module_name_is_not_used_as_package(tmp_path: Path) -> None:
    write("http-asyncapi.yml", HEADER + "channels: {}\n")
    result = CliRunner().invoke(main, ["generate", "http-asyncapi.yml", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert Path("out/http_api/app.py").is_file()


def test_dates_in_names_and_values_survive_wrapping(tmp_path: Path) -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n        name: Out\n"
        "        payload:\n          type: object\n          properties:\n"
        "            kind: {type: string, enum: [date, time]}\n"
        "            date: {type: string, format: date}\n"
    )
    write("spec.yml", text)
    result = CliRunner().invoke(main, ["generate", "spec.yml", "-o", "out"])
    assert result.exit_code == 0, result.output
    models = Path("out/spec/models.py").read_text(encoding="utf-8")
    assert 'date = "date"' in models
    assert "date: DateString | MISSING = MISSING" in models


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (
            "Pong=id",
            "error: --idempotency-key names message 'Pong', which the spec does not "
            "define (messages: Ping)",
        ),
        (
            "Ping=missing",
            "spec.yml:7:9: error: --idempotency-key Ping=missing: the payload of "
            "'Ping' has no top-level property 'missing' "
            "[at #/channels/a/publish/message]",
        ),
    ],
)
def test_idempotency_key_must_name_a_payload_property(flag: str, expected: str) -> None:
    text = (
        HEADER + "channels:\n  a:\n    publish:\n      message:\n        name: Ping\n"
        "        payload: {type: object, properties: {id: {type: string}}}\n"
    )
    write("spec.yml", text)
    result = CliRunner().invoke(
        main, ["generate", "spec.yml", "-o", "out", "--idempotency-key", flag]
    )
    assert only_error(result) == expected
    assert not Path("out").exists()


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("x" * 300, "is 300 characters long; pass --package with a name of at most"),
        ("os", "would hide the module of that name"),
        ("pydantic", "would hide the module of that name"),
    ],
)
def test_unusable_package_names_are_rejected(package: str, expected: str) -> None:
    write("spec.yml", HEADER + "channels: {}\n")
    result = CliRunner().invoke(
        main, ["generate", "spec.yml", "-o", "out", "--package", package]
    )
    assert expected in only_error(result)
    assert not Path("out").exists()


@pytest.mark.parametrize(
    ("channel", "reason"),
    [
        ("/lead?x=1", "contains '?'"),
        ("/a#b", "contains '#'"),
        ("/%41", "contains '%'"),
        ("/a b", "contains ' '"),
        ("/a/../b", "'..' segment"),
    ],
)
def test_unservable_http_path_is_rejected(channel: str, reason: str) -> None:
    text = (
        HEADER
        + f"channels:\n  '{channel}':\n    publish:\n      operationId: r\n"
        + "      message:\n        name: M\n        payload: {type: object}\n"
    )
    line = only_error(validate(write("spec.yml", text)))
    assert line.startswith("spec.yml:6:7: error: operation 'r' receives at HTTP path")
    assert reason in line


WHOLE_DOCUMENT_REFS = {
    "message is '#'": ("message: {$ref: '#'}", "'#'"),
    "message is the spec file": ("message: {$ref: './spec.yml'}", "'./spec.yml'"),
    "message is another spec": ("message: {$ref: './other.yml'}", "'./other.yml'"),
    "payload is '#'": ("message: {payload: {$ref: '#'}}", "'#'"),
}


@pytest.mark.parametrize("case", sorted(WHOLE_DOCUMENT_REFS))
def test_ref_to_whole_document_is_rejected(case: str) -> None:
    message, ref = WHOLE_DOCUMENT_REFS[case]
    write("other.yml", HEADER + "channels: {}\n")
    spec = write(
        "spec.yml",
        HEADER + f"channels:\n  a:\n    publish:\n      {message}\n",
    )
    for command in ("validate", "generate"):
        result = CliRunner().invoke(main, [command, spec, "-o", "out"])
        line = only_error(result)
        assert line.startswith("spec.yml:6:"), line
        assert f"error: $ref {ref} points to a whole AsyncAPI document" in line
        assert "[at #/channels/a/publish/message" in line
    assert not Path("out").exists()


LONG = "9" * 5000


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "spec.yml",
            HEADER + f"x-big: {LONG}\n",
            "spec.yml:3:8: error: an integer of 5000 digits is longer than Python "
            "converts; quote it to keep it as a string",
        ),
        (
            "spec.json",
            '{"asyncapi": "2.6.0",\n "x-big": ' + LONG + "}\n",
            "spec.json:2:11: error: an integer of 5000 digits is longer than Python "
            "converts; quote it to keep it as a string",
        ),
        (
            "flow.yml",
            'info: {title: T, version: "1", ' + LONG + ": x: y}\n",
            "flow.yml:1:5032: error: invalid YAML: expected ',' or '}', but got ':'",
        ),
    ],
    ids=["yaml", "json", "syntax-error-after"],
)
def test_overlong_integer_is_one_line(name: str, text: str, expected: str) -> None:
    assert only_error(validate(write(name, text))) == expected
