"""Export the canonical contract for agencies that do not use Python: one JSON Schema
per model and an AsyncAPI 3 document of the bus. The files are checked in under
``schemas/published/`` and a test fails when they are stale (`mpp-hub schemas export`
rewrites them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas import topics
from schemas.envelope import SCHEMA_VERSION, Envelope, Headers, MessageType
from schemas.messages import AgencyCallback, RequestSubmitted, StepCommand, StepPoll, StepStatusReport
from schemas.requests import CaseView, RequestAccepted, RequestCreate
from schemas.services import defined_here

PUBLISHED = Path(__file__).with_name("published")

BUS_MODELS: dict[str, type[BaseModel]] = {
    "Envelope": Envelope,
    "RequestSubmitted": RequestSubmitted,
    "StepCommand": StepCommand,
    "StepPoll": StepPoll,
    "AgencyCallback": AgencyCallback,
    "StepStatusReport": StepStatusReport,
}
API_MODELS: dict[str, type[BaseModel]] = {"RequestCreate": RequestCreate, "RequestAccepted": RequestAccepted, "CaseView": CaseView}


def _service_models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {}
    # The services defined in schemas/services only: what is published must not depend on
    # which agency plug-ins are installed (a separately packaged agency publishes its own).
    for code, payloads in sorted(defined_here().items()):
        models[f"{code}.input"] = payloads.input
        models[f"{code}.output"] = payloads.output
    return models


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (draft 2020-12, as pydantic emits it)."""
    models = {**BUS_MODELS, **API_MODELS, **_service_models()}
    return {
        f"{name}.schema.json": {"$schema": "https://json-schema.org/draft/2020-12/schema", **model.model_json_schema()}
        for name, model in models.items()
    }


def _message(name: str, message_type: MessageType, payload: type[BaseModel], summary: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name,
        "summary": summary,
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/KafkaHeaders"},
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {
                    "type": "object",
                    "properties": {"type": {"const": message_type.value}, "payload": {"$ref": f"#/components/schemas/{payload.__name__}"}},
                },
            ]
        },
        "bindings": {
            "kafka": {"key": {"type": "string", "format": "uuid", "description": "The request id: a case stays on one partition."}}
        },
    }


def asyncapi() -> dict[str, Any]:
    """The bus as an AsyncAPI 3.0 document."""
    schemas: dict[str, Any] = {}
    for model in BUS_MODELS.values():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    schemas["KafkaHeaders"] = {
        "type": "object",
        "properties": {
            Headers.MESSAGE_ID: {"type": "string", "format": "uuid"},
            Headers.MESSAGE_TYPE: {"type": "string", "enum": [t.value for t in MessageType]},
            Headers.SCHEMA_VERSION: {"type": "string"},
            Headers.CORRELATION_ID: {"type": "string"},
            Headers.TRACEPARENT: {"type": "string", "description": "W3C trace context"},
            Headers.CONTENT_TYPE: {"type": "string", "const": "application/json"},
        },
        "required": [Headers.MESSAGE_ID, Headers.MESSAGE_TYPE, Headers.CORRELATION_ID],
    }
    messages = {
        "RequestSubmitted": _message(
            "RequestSubmitted", MessageType.REQUEST_SUBMITTED, RequestSubmitted, "A citizen's request was accepted by the API."
        ),
        "StepCommand": _message(
            "StepCommand", MessageType.STEP_COMMAND, StepCommand, "Carry out one step at the agency; the step id is the idempotency key."
        ),
        "StepPoll": _message("StepPoll", MessageType.STEP_POLL, StepPoll, "Ask a polling backend about a step."),
        "AgencyCallback": _message(
            "AgencyCallback", MessageType.AGENCY_CALLBACK, AgencyCallback, "A verified native callback to translate."
        ),
        "StepStatusReport": _message("StepStatusReport", MessageType.STEP_STATUS, StepStatusReport, "The step reached a canonical status."),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "mpp-hub bus",
            "version": f"{SCHEMA_VERSION}.0.0",
            "description": "Canonical messages between the MPP core and agency adapters. Every message is an Envelope; the Kafka key is the request id.",
        },
        "defaultContentType": "application/json",
        "channels": {
            "requests": {"address": topics.REQUESTS, "messages": {"RequestSubmitted": {"$ref": "#/components/messages/RequestSubmitted"}}},
            "commands": {
                "address": topics.COMMANDS_PREFIX + "{agency}",
                "parameters": {"agency": {"description": "Agency name, as its adapter's entry point (samsat, polri, ...)."}},
                "messages": {
                    "StepCommand": {"$ref": "#/components/messages/StepCommand"},
                    "StepPoll": {"$ref": "#/components/messages/StepPoll"},
                    "AgencyCallback": {"$ref": "#/components/messages/AgencyCallback"},
                },
            },
            "events": {
                "address": topics.EVENTS_PREFIX + "{agency}",
                "parameters": {"agency": {"description": "The reporting agency: only its adapter may write here."}},
                "messages": {"StepStatusReport": {"$ref": "#/components/messages/StepStatusReport"}},
            },
            "deadletter": {
                "address": topics.DEADLETTER,
                "description": "Records no consumer could process, unchanged, with dlq.* headers saying where from and why.",
            },
        },
        "operations": {
            "routeRequests": {
                "action": "receive",
                "channel": {"$ref": "#/channels/requests"},
                "summary": "The router consumes new requests.",
            },
            "sendCommands": {
                "action": "send",
                "channel": {"$ref": "#/channels/commands"},
                "summary": "The router (via its outbox) commands adapters.",
            },
            "receiveCommands": {
                "action": "receive",
                "channel": {"$ref": "#/channels/commands"},
                "summary": "An adapter consumes its agency's commands.",
            },
            "sendReports": {"action": "send", "channel": {"$ref": "#/channels/events"}, "summary": "An adapter reports step status."},
            "receiveReports": {
                "action": "receive",
                "channel": {"$ref": "#/channels/events"},
                "summary": "The router applies reports to cases.",
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }


def rendered() -> dict[str, str]:
    """Relative path -> file content, deterministic (sorted keys, trailing newline)."""
    files = {f"jsonschema/{name}": schema for name, schema in json_schemas().items()}
    files["asyncapi.json"] = asyncapi()
    return {path: json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n" for path, content in files.items()}


def write(target: Path = PUBLISHED) -> list[Path]:
    """Rewrite the published files; remove ones no longer produced."""
    files = rendered()
    written = []
    for relative, content in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    for stale in target.rglob("*.json"):
        if stale.relative_to(target).as_posix() not in files:
            stale.unlink()
    return written


def stale_files(target: Path = PUBLISHED) -> list[str]:
    """Published files that differ from what the models produce now (empty when fresh)."""
    files = rendered()
    stale = [p for p, content in files.items() if not (target / p).is_file() or (target / p).read_text(encoding="utf-8") != content]
    extra = [p.relative_to(target).as_posix() for p in target.rglob("*.json") if p.relative_to(target).as_posix() not in files]
    return sorted(stale + extra)
