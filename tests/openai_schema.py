"""Validate payloads against the official OpenAI schemas (tests/data/openai-schemas.json, a copy
of shared/reference/openai-schemas.json from openai/openai-openapi).

The document is OpenAPI 3: `nullable: true` is turned into JSON Schema's `null` type here,
so that validation follows the API's meaning.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).parent / "data" / "openai-schemas.json"


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _components() -> dict[str, Any]:
    return _nullable(json.loads(SCHEMAS.read_text())["components"])


@cache
def validator(name: str) -> Draft202012Validator:
    components = _components()
    if name not in components["schemas"]:
        raise KeyError(name)
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": components})


def assert_valid(name: str, payload: Any) -> None:
    errors = sorted(validator(name).iter_errors(payload), key=lambda e: list(e.path))
    assert not errors, f"{name}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def assert_valid_completion_chunk(chunk: dict[str, Any]) -> None:
    """A streamed /v1/completions chunk. The official schema (shared by streamed and whole
    completions) requires a string finish_reason, yet the API itself, like vLLM, sends null on
    every chunk but the last: null is accepted here, anything else must match the schema."""
    copy = json.loads(json.dumps(chunk))
    for choice in copy.get("choices", []):
        if choice.get("finish_reason") is None:
            choice["finish_reason"] = "stop"
    assert_valid("CreateCompletionResponse", copy)
