"""Shape checks of AsyncAPI documents: one spec per rule, exact diagnostics."""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from generator.errors import InputError
from generator.load import load_file
from generator.structure import check_structure

from .conftest import shared_folder

Check = Callable[[str], list[str]]

# Documents the official parser rejects for reasons outside the document's own
# objects, so the structure check cannot match them.
UNMATCHED: dict[str, str] = {
    "asyncapi-spec/v3.0.0/examples/adeo-kafka-request-reply-asyncapi.yml": (
        "the error is inside a Kafka message binding and follows from remote "
        "$refs that fail offline; bindings are not checked"
    ),
    "parser-js/master/packages/openapi-schema-parser/test/documents/"
    "invalid-asyncapi.yaml": (
        "the payload is an invalid OpenAPI schema; payloads are not checked"
    ),
    "parser-js/v1.18.1/test/wrong/invalid-payload-asyncapi-format.json": (
        "the payload schema has an array as 'additionalProperties'; payloads "
        "are not checked"
    ),
}


@pytest.fixture
def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Check:
    """Return a function that checks a YAML spec and formats each diagnostic."""
    monkeypatch.chdir(tmp_path)

    def run(text: str) -> list[str]:
        path = tmp_path / "spec.yaml"
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        loaded = load_file(path)
        version = loaded.root["asyncapi"]
        found = check_structure(loaded.root, version, loaded.display_name)
        return [diagnostic.format() for diagnostic in found]

    return run


def test_root_v2_keys(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.6.0
        info:
          title: Shop
        version: 1.0.0
        operations: {}
        """
    )
    assert found == [
        "spec.yaml:3:3: error: missing required key 'version' in info [at #/info]",
        "spec.yaml:4:10: error: unexpected key 'version' in the root object; "
        "AsyncAPI 2.6.0 documents allow asyncapi, id, info, servers, "
        "defaultContentType, channels, components, tags, externalDocs and x- "
        "extensions; 'version' belongs in 'info'; indent it there [at #/version]",
        "spec.yaml:5:13: error: unexpected key 'operations' in the root object; "
        "AsyncAPI 2.6.0 documents allow asyncapi, id, info, servers, "
        "defaultContentType, channels, components, tags, externalDocs and x- "
        "extensions; root 'operations' are AsyncAPI 3.0; in 2.x put 'publish' "
        "and 'subscribe' operations in each channel item [at #/operations]",
        "spec.yaml:1:1: error: missing required key 'channels' in the root object",
    ]


def test_info_contact_license(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.0.0
        info:
          title: 1.5
          version: '1'
          contact:
            phone: '123'
          license:
            url: https://example.com
        channels: {}
        """
    )
    assert found == [
        "spec.yaml:3:10: error: 'title' must be a string, not a number; "
        "put the value in quotes "
        "[at #/info/title]",
        "spec.yaml:6:12: error: unexpected key 'phone' in contact object; "
        "AsyncAPI 2.0.0 contact objects allow name, url, email and x- extensions "
        "[at #/info/contact/phone]",
        "spec.yaml:8:5: error: missing required key 'name' in license object "
        "[at #/info/license]",
    ]


def test_servers_list_rejected(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.0.0
        info: {title: Shop, version: '1'}
        servers:
          - url: mqtt://example.com
        channels: {}
        """
    )
    assert found == [
        "spec.yaml:4:3: error: 'servers' must be a mapping of server objects, "
        "not a list [at #/servers]",
    ]


def test_server_v2_fields(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.4.0
        info: {title: Shop, version: '1'}
        servers:
          production:
            protocol: mqtt
            tags:
              - name: public
            variables:
              port:
                enum: [8883]
                default: '8883'
            security:
              - oauth: read
        channels: {}
        """
    )
    assert found == [
        "spec.yaml:7:7: error: unexpected key 'tags' in server object; AsyncAPI "
        "2.4.0 servers allow url, protocol, protocolVersion, description, "
        "variables, security, bindings and x- extensions; 'tags' needs AsyncAPI "
        "2.5.0 or later [at #/servers/production/tags]",
        "spec.yaml:10:16: error: 'enum' item 0 must be a string, not a number; "
        "put the value in quotes "
        "[at #/servers/production/variables/port/enum/0]",
        "spec.yaml:13:16: error: 'security' item 0 entry 'oauth' must be a list "
        "of strings, not a string [at #/servers/production/security/0/oauth]",
        "spec.yaml:5:5: error: missing required key 'url' in server object "
        "[at #/servers/production]",
    ]


def test_channel_item_and_parameter(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.1.0
        info: {title: Shop, version: '1'}
        channels:
          user/{userId}:
            servers: [production]
            parameters:
              userId:
                name: userId
                schema: {type: string}
        """
    )
    assert found == [
        "spec.yaml:5:14: error: unexpected key 'servers' in channel item object; "
        "AsyncAPI 2.1.0 channel items allow $ref, description, subscribe, "
        "publish, parameters, bindings and x- extensions; 'servers' needs "
        "AsyncAPI 2.2.0 or later [at #/channels/user~1{userId}/servers]",
        "spec.yaml:8:15: error: unexpected key 'name' in parameter object; "
        "AsyncAPI 2.1.0 parameters allow description, schema, location and x- "
        "extensions; the parameter's key under 'parameters' is its name "
        "[at #/channels/user~1{userId}/parameters/userId/name]",
    ]


def test_operation_v2_traits_and_one_of(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.3.0
        info: {title: Shop, version: '1'}
        channels:
          orders:
            publish:
              operationId: 7
              security: []
              traits:
                - $ref: '#/components/operationTraits/kafka'
                - [{bindings: {}}, {}]
                - message: {}
              message:
                oneOf:
                  - $ref: '#/components/messages/placed'
                  - payload: {type: string}
                payload: {}
        """
    )
    assert found == [
        "spec.yaml:6:20: error: 'operationId' must be a string, not a number; "
        "put the value in quotes "
        "[at #/channels/orders/publish/operationId]",
        "spec.yaml:7:17: error: unexpected key 'security' in operation object; "
        "AsyncAPI 2.3.0 operations allow operationId, summary, description, tags, "
        "externalDocs, bindings, traits, message and x- extensions; 'security' "
        "needs AsyncAPI 2.4.0 or later [at #/channels/orders/publish/security]",
        "spec.yaml:11:20: error: unexpected key 'message' in operation trait "
        "object; AsyncAPI 2.3.0 operation traits allow operationId, summary, "
        "description, tags, externalDocs, bindings and x- extensions "
        "[at #/channels/orders/publish/traits/2/message]",
        "spec.yaml:16:18: error: unexpected key 'payload' beside 'oneOf' in a "
        "message; a message with 'oneOf' contains only the list of alternative "
        "messages [at #/channels/orders/publish/message/payload]",
    ]


def test_message_v2_fields(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.3.0
        info: {title: Shop, version: '1'}
        channels:
          orders:
            subscribe:
              message:
                messageId: orderPlaced
                correlationId:
                  description: no location
                examples:
                  - name: only-a-name
                  - payload: {id: 1}
                    x-note: extra
                deprecated: 'yes'
        """
    )
    pointer = "#/channels/orders/subscribe/message"
    assert found == [
        "spec.yaml:7:20: error: unexpected key 'messageId' in message object; "
        "AsyncAPI 2.3.0 messages allow headers, payload, correlationId, "
        "schemaFormat, contentType, name, title, summary, description, tags, "
        "externalDocs, bindings, examples, traits, deprecated and x- extensions; "
        f"'messageId' needs AsyncAPI 2.4.0 or later [at {pointer}/messageId]",
        "spec.yaml:9:11: error: missing required key 'location' in correlation "
        f"ID object [at {pointer}/correlationId]",
        "spec.yaml:11:13: error: missing 'payload' or 'headers' in message "
        f"example; give at least one of them [at {pointer}/examples/0]",
        "spec.yaml:13:21: error: unexpected key 'x-note' in message example; "
        "AsyncAPI 2.3.0 message examples allow headers, payload, name and "
        f"summary [at {pointer}/examples/1/x-note]",
        "spec.yaml:14:21: error: 'deprecated' must be a boolean, not a string "
        f"[at {pointer}/deprecated]",
    ]


def test_message_examples_v2_0_free_form(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.0.0
        info: {title: Shop, version: '1'}
        channels:
          orders:
            subscribe:
              message:
                examples:
                  - anything: goes
                  - just a string
        """
    )
    assert found == [
        "spec.yaml:9:13: error: 'examples' item 1 must be a mapping, not a string "
        "[at #/channels/orders/subscribe/message/examples/1]",
    ]


def test_components_v2_versions(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.2.0
        info: {title: Shop, version: '1'}
        channels: {}
        components:
          servers: {}
          serverVariables: {}
          operations: {}
          messageTraits:
            common:
              payload: {}
        """
    )
    allowed = (
        "AsyncAPI 2.2.0 components objects allow schemas, messages, "
        "securitySchemes, parameters, correlationIds, operationTraits, "
        "messageTraits, serverBindings, channelBindings, operationBindings, "
        "messageBindings and x- extensions"
    )
    assert found == [
        f"spec.yaml:5:12: error: unexpected key 'servers' in components object; "
        f"{allowed}; 'servers' needs AsyncAPI 2.3.0 or later "
        "[at #/components/servers]",
        "spec.yaml:6:20: error: unexpected key 'serverVariables' in components "
        f"object; {allowed}; 'serverVariables' needs AsyncAPI 2.5.0 or later "
        "[at #/components/serverVariables]",
        "spec.yaml:7:15: error: unexpected key 'operations' in components "
        f"object; {allowed} [at #/components/operations]",
        "spec.yaml:10:16: error: unexpected key 'payload' in message trait "
        "object; AsyncAPI 2.2.0 message traits allow headers, correlationId, "
        "schemaFormat, contentType, name, title, summary, description, tags, "
        "externalDocs, bindings, examples, deprecated and x- extensions "
        "[at #/components/messageTraits/common/payload]",
    ]


def test_security_schemes_by_type(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.6.0
        info: {title: Shop, version: '1'}
        channels: {}
        components:
          securitySchemes:
            key:
              type: httpApiKey
              name: api_key
              in: body
            user:
              type: apiKey
            token:
              type: http
              scheme: Bearer
              bearerFormat: JWT
            oauth:
              type: oauth2
              scopes: [read]
            oidc:
              type: openIdConnect
            magic:
              type: magic
            untyped:
              description: no type
            listed:
              type: [http]
            flows:
              type: oauth2
              flows:
                implicit:
                  scopes: {}
                password:
                  tokenUrl: https://example.com/token
                  scopes: {read: 1}
                device: {}
        """
    )
    pointer = "#/components/securitySchemes"
    types = (
        "userPassword, apiKey, X509, symmetricEncryption, asymmetricEncryption, "
        "httpApiKey, http, oauth2, openIdConnect, plain, scramSha256, "
        "scramSha512, gssapi"
    )
    assert found == [
        "spec.yaml:9:11: error: 'in' of an httpApiKey security scheme must be "
        f"one of query, header, cookie, not 'body' [at {pointer}/key/in]",
        "spec.yaml:11:7: error: missing required key 'in' in apiKey security "
        f"scheme [at {pointer}/user]",
        "spec.yaml:15:21: error: unexpected key 'bearerFormat' in http security "
        "scheme; 'bearerFormat' applies only to 'scheme: bearer' (lower case) "
        f"[at {pointer}/token/bearerFormat]",
        "spec.yaml:18:15: error: unexpected key 'scopes' in oauth2 security "
        "scheme; AsyncAPI 2.6.0 oauth2 security schemes allow type, description, "
        "flows and x- extensions; 'scopes' on a security scheme are AsyncAPI "
        "3.0; in 2.x list the scopes in each security requirement "
        f"[at {pointer}/oauth/scopes]",
        "spec.yaml:17:7: error: missing required key 'flows' in oauth2 security "
        f"scheme [at {pointer}/oauth]",
        "spec.yaml:20:7: error: missing required key 'openIdConnectUrl' in "
        f"openIdConnect security scheme [at {pointer}/oidc]",
        f"spec.yaml:22:13: error: 'type' of a security scheme must be one of "
        f"{types}, not 'magic' [at {pointer}/magic/type]",
        "spec.yaml:24:7: error: missing required key 'type' in security scheme "
        f"[at {pointer}/untyped]",
        f"spec.yaml:26:13: error: 'type' of a security scheme must be one of "
        f"{types}, not a list [at {pointer}/listed/type]",
        "spec.yaml:31:11: error: missing required key 'authorizationUrl' in "
        f"implicit OAuth flow [at {pointer}/flows/flows/implicit]",
        "spec.yaml:34:26: error: 'scopes' entry 'read' must be a string, not a "
        f"number; put the value in quotes [at {pointer}/flows/flows/password/scopes/"
        "read]",
        "spec.yaml:35:17: error: unexpected key 'device' in OAuth flows object; "
        "AsyncAPI 2.6.0 OAuth flows objects allow implicit, password, "
        "clientCredentials, authorizationCode and x- extensions "
        f"[at {pointer}/flows/flows/device]",
    ]


def test_sasl_scheme_needs_2_1(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.0.0
        info: {title: Shop, version: '1'}
        channels: {}
        components:
          securitySchemes:
            sasl:
              type: plain
        """
    )
    assert found == [
        "spec.yaml:7:13: error: 'type' of a security scheme must be one of "
        "userPassword, apiKey, X509, symmetricEncryption, asymmetricEncryption, "
        "httpApiKey, http, oauth2, openIdConnect, not 'plain'; 'plain' needs "
        "AsyncAPI 2.1.0 or later [at #/components/securitySchemes/sasl/type]",
    ]


def test_tags_and_external_docs(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.6.0
        info: {title: Shop, version: '1'}
        channels: {}
        tags:
          - name: user
          - name: user
          - description: no name
            externalDocs:
              description: no url
        externalDocs: https://example.com
        """
    )
    assert found == [
        "spec.yaml:9:7: error: missing required key 'url' in external "
        "documentation object [at #/tags/2/externalDocs]",
        "spec.yaml:7:5: error: missing required key 'name' in tag object [at #/tags/2]",
        "spec.yaml:6:11: error: duplicate tag name 'user'; tag names must be "
        "unique in a list [at #/tags/1/name]",
        "spec.yaml:10:15: error: 'externalDocs' must be an external "
        "documentation object (a mapping), not a string [at #/externalDocs]",
    ]


def test_references_skipped_where_allowed(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.6.0
        info:
          $ref: info.yaml
        servers:
          production:
            $ref: '#/components/servers/production'
        channels:
          orders:
            $ref: channels.yaml#/orders
            description: Orders.
            parameters:
              id:
                $ref: 5
            subscribe:
              traits:
                - $ref: '#/components/operationTraits/common'
              message:
                $ref: '#/components/messages/placed'
        components:
          messages:
            placed:
              correlationId:
                $ref: '#/components/correlationIds/id'
              traits:
                - $ref: '#/components/messageTraits/common'
        """
    )
    assert found == [
        "spec.yaml:3:9: error: unexpected key '$ref' in info; AsyncAPI 2.6.0 "
        "info objects allow title, version, description, termsOfService, "
        "contact, license and x- extensions; AsyncAPI 2.6.0 allows no Reference "
        "Object here [at #/info/$ref]",
        "spec.yaml:3:3: error: missing required key 'title' in info [at #/info]",
        "spec.yaml:3:3: error: missing required key 'version' in info [at #/info]",
        "spec.yaml:13:15: error: '$ref' must be a string, not a number "
        "[at #/channels/orders/parameters/id/$ref]",
    ]


def test_root_and_channel_v3(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        tags: []
        channels:
          user:
            address: users.{id}
            publish: {}
            servers:
              - production
        """
    )
    assert found == [
        "spec.yaml:2:7: error: unexpected key 'tags' in the root object; AsyncAPI "
        "3.0.0 documents allow asyncapi, id, info, servers, defaultContentType, "
        "channels, operations, components and x- extensions; AsyncAPI 3.0 moved "
        "'tags' into 'info' [at #/tags]",
        "spec.yaml:6:14: error: unexpected key 'publish' in channel object; "
        "AsyncAPI 3.0.0 channels allow address, messages, title, summary, "
        "description, servers, parameters, tags, externalDocs, bindings and x- "
        "extensions; AsyncAPI 3.0 describes operations under the root "
        "'operations' with 'action: receive' [at #/channels/user/publish]",
        "spec.yaml:8:9: error: 'servers' item 0 must be a Reference Object "
        "({$ref: ...}), not a string [at #/channels/user/servers/0]",
        "spec.yaml:1:1: error: missing required key 'info' in the root object",
    ]


def test_server_and_oauth_v3(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        info: {title: Shop, version: '1'}
        servers:
          production:
            url: mqtt://example.com
            protocol: mqtt
            security:
              - $ref: '#/components/securitySchemes/oauth'
              - type: oauth2
                flows:
                  clientCredentials:
                    tokenUrl: https://example.com/token
                    scopes: {read: Read}
                scopes: [read]
        """
    )
    pointer = "#/servers/production"
    assert found == [
        "spec.yaml:5:10: error: unexpected key 'url' in server object; AsyncAPI "
        "3.0.0 servers allow host, protocol, protocolVersion, pathname, "
        "description, title, summary, variables, security, tags, externalDocs, "
        "bindings and x- extensions; AsyncAPI 3.0 splits the URL into 'host' and "
        f"'pathname' [at {pointer}/url]",
        "spec.yaml:13:21: error: unexpected key 'scopes' in clientCredentials "
        "OAuth flow; AsyncAPI 3.0.0 clientCredentials OAuth flows allow "
        "authorizationUrl, tokenUrl, refreshUrl, availableScopes and x- "
        f"extensions [at {pointer}/security/1/flows/clientCredentials/scopes]",
        "spec.yaml:12:13: error: missing required key 'availableScopes' in "
        "clientCredentials OAuth flow "
        f"[at {pointer}/security/1/flows/clientCredentials]",
        f"spec.yaml:5:5: error: missing required key 'host' in server object "
        f"[at {pointer}]",
    ]


def test_operation_and_reply_v3(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        info: {title: Shop, version: '1'}
        operations:
          placeOrder:
            action: publish
            operationId: placeOrder
            channel:
              $ref: '#/channels/orders'
            messages:
              - $ref: '#/channels/orders/messages/placed'
            reply:
              address:
                description: no location
              channel:
                address: replies
          noChannel:
            action: send
            traits:
              - action: send
        """
    )
    assert found == [
        "spec.yaml:5:13: error: 'action' of an operation object must be one of "
        "send, receive, not 'publish' [at #/operations/placeOrder/action]",
        "spec.yaml:6:18: error: unexpected key 'operationId' in operation object; "
        "AsyncAPI 3.0.0 operations allow action, channel, title, summary, "
        "description, security, tags, externalDocs, bindings, traits, messages, "
        "reply and x- extensions; in AsyncAPI 3.0 the operation's key under "
        "'operations' is its id [at #/operations/placeOrder/operationId]",
        "spec.yaml:13:9: error: missing required key 'location' in reply address "
        "object [at #/operations/placeOrder/reply/address]",
        "spec.yaml:15:9: error: 'channel' must be a Reference Object ({$ref: "
        "...}), not a mapping [at #/operations/placeOrder/reply/channel]",
        "spec.yaml:19:17: error: unexpected key 'action' in operation trait "
        "object; AsyncAPI 3.0.0 operation traits allow title, summary, "
        "description, security, tags, externalDocs, bindings and x- extensions "
        "[at #/operations/noChannel/traits/0/action]",
        "spec.yaml:17:5: error: missing required key 'channel' in operation "
        "object [at #/operations/noChannel]",
    ]


def test_message_and_components_v3(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        info: {title: Shop, version: '1'}
        channels:
          orders:
            address: orders
            messages:
              placed:
                schemaFormat: application/vnd.apache.avro;version=1.9.0
                payload: {type: record}
                examples:
                  - headers: text
              either:
                oneOf: []
        components:
          messageTraits:
            common:
              payload: {}
          parameters:
            id:
              schema: {type: string}
              enum: [a, 1]
          replyAddresses:
            byHeader:
              location: $message.header#/replyTo
              x-note: fine
          replies:
            direct:
              messages: {}
          schemaFormats: {}
        """
    )
    messages = (
        "AsyncAPI 3.0.0 messages allow headers, payload, correlationId, "
        "contentType, name, title, summary, description, tags, externalDocs, "
        "bindings, examples, traits, deprecated and x- extensions"
    )
    assert found == [
        "spec.yaml:8:23: error: unexpected key 'schemaFormat' in message object; "
        f"{messages}; AsyncAPI 3.0 puts 'schemaFormat' next to 'schema' in a "
        "multi format schema object under 'payload' "
        "[at #/channels/orders/messages/placed/schemaFormat]",
        "spec.yaml:11:22: error: 'headers' must be a mapping, not a string "
        "[at #/channels/orders/messages/placed/examples/0/headers]",
        "spec.yaml:13:16: error: unexpected key 'oneOf' in message object; "
        f"{messages}; in AsyncAPI 3.0 list the alternatives under the channel's "
        "'messages' [at #/channels/orders/messages/either/oneOf]",
        "spec.yaml:17:16: error: unexpected key 'payload' in message trait "
        "object; AsyncAPI 3.0.0 message traits allow headers, correlationId, "
        "contentType, name, title, summary, description, tags, externalDocs, "
        "bindings, examples, deprecated and x- extensions "
        "[at #/components/messageTraits/common/payload]",
        "spec.yaml:20:15: error: unexpected key 'schema' in parameter object; "
        "AsyncAPI 3.0.0 parameters allow enum, default, description, examples, "
        "location and x- extensions; AsyncAPI 3.0 parameters are strings "
        "described by 'enum', 'default' and 'examples' "
        "[at #/components/parameters/id/schema]",
        "spec.yaml:21:17: error: 'enum' item 1 must be a string, not a number; "
        "put the value in quotes "
        "[at #/components/parameters/id/enum/1]",
        "spec.yaml:28:17: error: 'messages' must be a list of Reference Objects, "
        "not a mapping [at #/components/replies/direct/messages]",
        "spec.yaml:29:18: error: unexpected key 'schemaFormats' in components "
        "object; AsyncAPI 3.0.0 components objects allow schemas, servers, "
        "channels, operations, messages, securitySchemes, serverVariables, "
        "parameters, correlationIds, replies, replyAddresses, externalDocs, "
        "tags, operationTraits, messageTraits, serverBindings, channelBindings, "
        "operationBindings, messageBindings and x- extensions "
        "[at #/components/schemaFormats]",
    ]


def test_info_tags_v3_duplicates(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        info:
          title: Shop
          version: '1'
          tags:
            - $ref: '#/components/tags/user'
            - name: user
            - name: user
          externalDocs:
            $ref: '#/components/externalDocs/main'
        """
    )
    assert found == [
        "spec.yaml:8:13: error: duplicate tag name 'user'; tag names must be "
        "unique in a list [at #/info/tags/2/name]",
    ]


def test_full_v2_document_passes(check: Check) -> None:
    found = check(
        """
        asyncapi: 2.6.0
        id: urn:example:shop
        info:
          title: Shop
          version: 1.0.0
          description: Orders.
          termsOfService: https://example.com/terms
          contact: {name: Team, url: https://example.com, email: a@example.com}
          license: {name: Apache-2.0, url: https://example.com/license}
          x-audience: internal
        servers:
          production:
            url: '{host}:1883'
            protocol: mqtt
            protocolVersion: '5'
            description: Broker.
            variables:
              host:
                enum: [a.example.com, b.example.com]
                default: a.example.com
                description: Host.
                examples: [a.example.com]
              port:
                $ref: '#/components/serverVariables/port'
            security:
              - oauth: [orders:read]
              - key: []
            bindings: {mqtt: {clientId: shop}}
            tags: [{name: broker}]
        defaultContentType: application/json
        channels:
          orders/{id}:
            description: Orders.
            servers: [production]
            parameters:
              id:
                description: Order id.
                schema: {type: string}
                location: $message.payload#/id
            bindings: {mqtt: {}}
            publish:
              operationId: placeOrder
              summary: Place.
              description: Place an order.
              security: [{oauth: []}]
              tags: [{name: orders}, {name: write}]
              externalDocs: {url: https://example.com/docs}
              bindings: {mqtt: {qos: 1}}
              traits:
                - $ref: '#/components/operationTraits/common'
              message:
                oneOf:
                  - $ref: '#/components/messages/placed'
                  - messageId: cancelled
                    name: cancelled
                    payload: {type: object}
            subscribe:
              message:
                $ref: '#/components/messages/placed'
        components:
          schemas:
            Order: {type: object}
          servers:
            backup: {url: b.example.com, protocol: mqtt}
          serverVariables:
            port: {default: '1883'}
          channels:
            audit: {description: Audit.}
          messages:
            placed:
              headers: {type: object}
              payload: {$ref: '#/components/schemas/Order'}
              correlationId: {description: Id., location: $message.header#/id}
              schemaFormat: application/vnd.aai.asyncapi+json;version=2.6.0
              contentType: application/json
              name: placed
              title: Placed
              summary: Placed.
              description: An order was placed.
              tags: [{name: orders, externalDocs: {url: https://example.com}}]
              externalDocs: {description: Docs., url: https://example.com}
              bindings: {mqtt: {}}
              examples:
                - {name: small, summary: Small., headers: {id: '1'}, payload: 1}
              traits: [{$ref: '#/components/messageTraits/common'}]
          securitySchemes:
            oauth:
              type: oauth2
              flows:
                implicit:
                  authorizationUrl: https://example.com/auth
                  scopes: {orders:read: Read orders.}
                authorizationCode:
                  authorizationUrl: https://example.com/auth
                  tokenUrl: https://example.com/token
                  refreshUrl: https://example.com/refresh
                  scopes: {}
            key: {type: httpApiKey, name: api_key, in: header}
            user: {type: apiKey, in: user}
            jwt: {type: http, scheme: bearer, bearerFormat: JWT}
            oidc: {type: openIdConnect, openIdConnectUrl: https://example.com}
            sasl: {type: scramSha512, description: SASL.}
          parameters:
            id: {schema: {type: string}}
          correlationIds:
            id: {location: $message.header#/id}
          operationTraits:
            common: {bindings: {mqtt: {qos: 1}}, security: [{key: []}]}
          messageTraits:
            common: {contentType: application/json, examples: [{anything: 1}]}
          serverBindings: {mqtt: {mqtt: {}}}
          channelBindings: {mqtt: {mqtt: {}}}
          operationBindings: {mqtt: {mqtt: {}}}
          messageBindings: {mqtt: {mqtt: {}}}
        tags:
          - name: orders
            description: Orders.
            externalDocs: {url: https://example.com}
        externalDocs: {url: https://example.com}
        """
    )
    assert found == []


def test_full_v3_document_passes(check: Check) -> None:
    found = check(
        """
        asyncapi: 3.0.0
        id: urn:example:shop
        info:
          title: Shop
          version: 1.0.0
          tags: [{name: orders}]
          externalDocs: {url: https://example.com}
        servers:
          production:
            host: broker.example.com
            protocol: mqtt
            pathname: /v1
            title: Production
            summary: Broker.
            variables:
              port: {$ref: '#/components/serverVariables/port'}
            security:
              - $ref: '#/components/securitySchemes/oauth'
              - type: openIdConnect
                openIdConnectUrl: https://example.com
                scopes: [orders:read]
            tags: [{$ref: '#/components/tags/broker'}]
            externalDocs: {$ref: '#/components/externalDocs/main'}
            bindings: {$ref: '#/components/serverBindings/mqtt'}
        defaultContentType: application/json
        channels:
          orders:
            address: orders/{id}
            title: Orders
            messages:
              placed: {$ref: '#/components/messages/placed'}
            servers: [{$ref: '#/servers/production'}]
            parameters:
              id:
                enum: ['1', '2']
                default: '1'
                examples: ['1']
                location: $message.payload#/id
          replies:
            address: null
        operations:
          placeOrder:
            action: send
            channel: {$ref: '#/channels/orders'}
            title: Place
            security: [{$ref: '#/components/securitySchemes/oauth'}]
            traits: [{$ref: '#/components/operationTraits/common'}]
            messages: [{$ref: '#/channels/orders/messages/placed'}]
            reply:
              address: {location: $message.header#/replyTo}
              channel: {$ref: '#/channels/replies'}
              messages: [{$ref: '#/channels/replies/messages/ack'}]
          ackOrder: {$ref: '#/components/operations/ack'}
        components:
          schemas:
            Order: {type: object}
            Avro:
              schemaFormat: application/vnd.apache.avro;version=1.9.0
              schema: {type: record, name: Order, fields: []}
          servers:
            backup: {host: b.example.com, protocol: mqtt}
          channels:
            audit: {address: audit}
          operations:
            ack: {action: receive, channel: {$ref: '#/channels/replies'}}
          messages:
            placed:
              headers: {type: object}
              payload:
                schemaFormat: application/vnd.aai.asyncapi+json;version=3.0.0
                schema: {$ref: '#/components/schemas/Order'}
              correlationId: {$ref: '#/components/correlationIds/id'}
              examples: [{headers: {id: '1'}}]
              traits: [{$ref: '#/components/messageTraits/common'}]
          securitySchemes:
            oauth:
              type: oauth2
              flows:
                clientCredentials:
                  tokenUrl: https://example.com/token
                  availableScopes: {orders:read: Read orders.}
              scopes: [orders:read]
          serverVariables:
            port: {default: '1883'}
          parameters:
            id: {description: Order id.}
          correlationIds:
            id: {location: $message.header#/id}
          replies:
            direct: {channel: {$ref: '#/channels/replies'}}
          replyAddresses:
            header: {description: Reply to., location: $message.header#/replyTo}
          externalDocs:
            main: {url: https://example.com}
          tags:
            broker: {name: broker}
          operationTraits:
            common: {bindings: {mqtt: {qos: 1}}}
          messageTraits:
            common: {contentType: application/json, deprecated: false}
          serverBindings: {mqtt: {mqtt: {}}}
          channelBindings: {mqtt: {mqtt: {}}}
          operationBindings: {mqtt: {mqtt: {}}}
          messageBindings: {mqtt: {mqtt: {}}}
        """
    )
    assert found == []


@pytest.mark.parametrize("version", ["1.2.0", "2.7.0", "3.1.0", "latest"])
def test_other_versions_not_checked(version: str) -> None:
    assert check_structure({"asyncapi": version, "bogus": 1}, version, "x.yaml") == []


def test_version_not_string_skipped() -> None:
    root = {"asyncapi": 2.0, "bogus": 1}
    assert check_structure(root, root["asyncapi"], "x.yaml") == []  # type: ignore[arg-type]


def test_plain_dicts_use_file_label() -> None:
    root = {"asyncapi": "2.0.0", "info": {"title": "Shop"}, "channels": {}}
    found = [d.format() for d in check_structure(root, "2.0.0", "spec.json")]
    assert found == [
        "spec.json:1:1: error: missing required key 'version' in info [at #/info]",
    ]


def test_json_file_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "spec.json"
    path.write_text(
        '{\n  "asyncapi": "3.0.0",\n  "info": {"title": "Shop", "version": 1}\n}\n',
        encoding="utf-8",
    )
    loaded = load_file(path)
    found = [d.format() for d in check_structure(loaded.root, "3.0.0", "spec.json")]
    # The JSON loader records positions of objects and arrays only, so a
    # scalar is reported where its enclosing object starts.
    assert found == [
        "spec.json:3:11: error: 'version' must be a string, not a number; "
        "put the value in quotes "
        "[at #/info/version]",
    ]


def test_deep_one_of_within_stack(check: Check) -> None:
    # The loader accepts 200 levels of nesting; 2.x message alternatives are
    # the one place where this check recurses as deep as the document goes.
    message = "{payload: {type: string}}"
    for _ in range(96):
        message = f"{{oneOf: [{message}]}}"
    found = check(
        f"""
        asyncapi: 2.0.0
        info: {{title: Shop, version: '1'}}
        channels:
          orders:
            publish:
              message: {message}
        """
    )
    assert found == []


def corpus_entries() -> list[dict[str, str]]:
    try:
        folder = shared_folder()
    except pytest.skip.Exception:
        return []
    with open(folder / "corpus" / "MANIFEST.tsv", encoding="utf-8") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


ENTRIES = corpus_entries()
# Official error codes for problems in the document's shape, which this module
# checks.
STRUCTURAL_CODES = ("asyncapi-document-resolved:", "asyncapi2-tags-uniqueness:")


def test_unmatched_documents_are_listed() -> None:
    folder = shared_folder()
    assert (folder / "corpus" / "MANIFEST.tsv").is_file()
    listed = {entry["path"] for entry in ENTRIES}
    assert set(UNMATCHED) <= listed


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["path"] for entry in ENTRIES])
def test_corpus_matches_official_verdict(entry: dict[str, str]) -> None:
    path = shared_folder() / "corpus" / entry["path"]
    try:
        loaded = load_file(path)
    except InputError:
        pytest.skip("the document does not load; loading has its own tests")
    root = loaded.root
    version = str(root.get("asyncapi", ""))
    errors = [
        diagnostic.format()
        for diagnostic in check_structure(root, version, loaded.display_name)
        if diagnostic.severity == "error"
    ]
    structural = entry["official_errors"].startswith(STRUCTURAL_CODES)
    if entry["official_verdict"] == "valid":
        assert errors == []
    elif entry["path"] in UNMATCHED:
        # Once the check finds these, the entry should leave UNMATCHED.
        assert errors == [], UNMATCHED[entry["path"]]
    elif entry["official_verdict"] == "invalid" and structural:
        assert errors, entry["official_errors"]
