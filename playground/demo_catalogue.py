"""What the offline demo says about its models: its catalogue, its model documents, and the
JSON it answers a ``json_schema`` request with.

The catalogue is in the AI/ML API's shape, so the picker, the card, the capability gates and
the cost pre-flight all work offline. Its prices are **demo prices**: the pages label them so,
and nothing is charged. Each model's OpenAPI document lists the parameters the demo accepts
(not ``logprobs``: the audit's "not listed" flag can be tried too). Asked for a schema, the
demo answers an instance of it, or, when the prompt says "break the schema", one that breaks
it on purpose (a wrong type and a missing property), so the violation paths can be seen.
"""

from __future__ import annotations

import json

MODELS = ("demo", "demo-reasoning", "demo-tools", "demo-fast", "demo-slow")
CAPABILITIES = {
    "demo": ["streaming", "structured_output", "vision"],
    "demo-reasoning": ["streaming", "reasoning", "vision"],
    "demo-tools": ["streaming", "tools", "vision"],
    "demo-fast": ["streaming", "structured_output", "vision"],
    "demo-slow": ["streaming", "structured_output", "vision"],
}
DESCRIPTIONS = {
    "demo": "Canned markdown replies that describe the conversation, its images and the "
            "request; answers JSON mode with an object and a JSON schema with an instance "
            "of it.",
    "demo-reasoning": "The demo reply, with reasoning_content beside it.",
    "demo-tools": "Calls a tool the request declares (else get_weather), then answers from "
                  "the tool results it is given.",
    "demo-fast": "The demo reply, written four times faster than demo's.",
    "demo-slow": "The demo reply, written three times slower than demo's.",
}
# Demo prices (USD per million tokens): made up, shown as "demo prices", never charged.
DEMO_PRICE_IN, DEMO_PRICE_OUT = 0.5, 1.5
ACCEPTED = ("model", "messages", "max_tokens", "max_completion_tokens", "n", "stop", "stream",
            "stream_options", "response_format", "seed", "temperature", "top_p", "tools",
            "tool_choice", "presence_penalty", "frequency_penalty", "user")
BREAK = "break the schema"


def catalogue() -> dict:
    """The demo's ``GET /models``, in the AI/ML API catalogue's shape."""
    return {"object": "list", "data": [{
        "id": model, "object": "model", "type": "demo/chat-completions",
        "aliases": [], "tags": ["playground:chat", "demo"], "owned_by": "playground",
        "info": {"name": f"Offline demo ({model})", "developer": "AI/ML API Playground",
                 "description": DESCRIPTIONS[model], "contextLength": 128_000,
                 "outputMax": 4096},
        "modalities": {"input": ["text", "image"], "output": ["text"]},
        "capabilities": CAPABILITIES[model],
        "pricing": {"kind": "fixed", "currency": "USD", "units": [
            {"name": "token", "measure": "input", "price": DEMO_PRICE_IN, "per": 1_000_000},
            {"name": "token", "measure": "output", "price": DEMO_PRICE_OUT, "per": 1_000_000}]},
    } for model in MODELS]}


def docs_url(base_url: str, model: str) -> str:
    """Where the demo serves a model's document (demo:// URLs: the catalogue reader drops
    them, so the catalogue service asks the demo for this one by name)."""
    return f"{base_url}/models/{model}/docs.json"


def document(model: str) -> dict | None:
    """A demo model's OpenAPI document: the chat-completions parameters it accepts."""
    if model not in MODELS:
        return None
    properties = {name: {"description": f"{name}, as in the OpenAI API"} for name in ACCEPTED}
    if "tools" not in CAPABILITIES[model]:
        properties.pop("tools"), properties.pop("tool_choice")
    return {"openapi": "3.0.0", "info": {"title": model, "version": "demo"}, "paths": {
        "/v1/chat/completions": {"post": {"requestBody": {"content": {"application/json": {
            "schema": {"type": "object", "required": ["model", "messages"],
                       "properties": properties}}}}}}}}


def _resolve(schema, root: dict, depth: int):
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith("#/") and depth > 0:
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return _resolve(target, root, depth - 1)
    return schema if isinstance(schema, dict) else {}


def instance(schema, root: dict | None = None, depth: int = 8):
    """A value that fits ``schema`` (its first choice wherever it offers several)."""
    root = root if root is not None else schema if isinstance(schema, dict) else {}
    schema = _resolve(schema, root, depth)
    if depth <= 0:
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return instance(schema[key][0], root, depth - 1)
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) \
            else {}
        return {name: instance(spec, root, depth - 1)
                for name, spec in list(properties.items())[:32]}
    if kind == "array":
        count = max(1, min(int(schema.get("minItems") or 1), 3)) \
            if isinstance(schema.get("minItems", 1), int) else 1
        return [instance(schema.get("items") or {}, root, depth - 1) for _ in range(count)]
    if kind in ("number", "integer"):
        low = schema.get("minimum")
        return low if isinstance(low, int | float) and not isinstance(low, bool) else 21
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "demo"


def _broken(value, schema: dict):
    """``value`` made to break ``schema`` at its first properties: a wrong type, one missing."""
    if not isinstance(value, dict) or not value:
        return {"broken": True} if not isinstance(value, dict) else [value]
    names = list(value)
    first = names[0]
    value[first] = 42 if isinstance(value[first], str) else "not what the schema asks"
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    missing = next((n for n in reversed(names) if n in required and n != first), None)
    if missing is not None:
        value.pop(missing)
    return value


def schema_reply(response_format: dict, prompt: str) -> str:
    """The demo's JSON for a ``json_schema`` request: an instance, or a broken one on request."""
    spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    schema = schema if isinstance(schema, dict) else {}
    value = instance(schema)
    if BREAK in (prompt or "").lower():
        value = _broken(value, _resolve(schema, schema, 8))
    return json.dumps(value, ensure_ascii=False)
