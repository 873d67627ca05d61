"""The checked-in JSON Schema and AsyncAPI files are what the models say."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import export, topics
from schemas.services import defined_here


def test_published_files_are_up_to_date() -> None:
    assert export.stale_files() == [], "the contract changed: run `mpp-hub schemas export` and commit schemas/published/"


def test_a_changed_or_missing_or_leftover_file_is_reported_stale(tmp_path: Path) -> None:
    export.write(tmp_path)
    assert export.stale_files(tmp_path) == []
    (tmp_path / "asyncapi.json").write_text("{}\n")
    (tmp_path / "jsonschema" / "Envelope.schema.json").unlink()
    (tmp_path / "jsonschema" / "Gone.schema.json").write_text("{}\n")
    assert export.stale_files(tmp_path) == ["asyncapi.json", "jsonschema/Envelope.schema.json", "jsonschema/Gone.schema.json"]


def test_every_service_has_its_input_and_output_schema() -> None:
    names = set(export.json_schemas())
    for code in defined_here():
        assert {f"{code}.input.schema.json", f"{code}.output.schema.json"} <= names


def test_asyncapi_document_describes_every_topic_with_resolvable_references() -> None:
    document = json.loads(export.rendered()["asyncapi.json"])
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {topics.REQUESTS, topics.EVENTS_PREFIX + "{agency}", topics.DEADLETTER, topics.COMMANDS_PREFIX + "{agency}"}

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(document):
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"dangling reference {ref}"
            target = target[part]
