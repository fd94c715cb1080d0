"""scripts/generate_api.py on the shapes a strict OpenAPI document has: metadata values that are
"exactly one of" several keys, per-mode request bodies (variants sharing their first property),
string formats, OpenAPI links, const, extensions by allOf. The generated module must import."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "generate_api.py"


def generator() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("generate_api", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def schemas_only(schemas: dict[str, Any]) -> dict[str, Any]:
    """A document with no paths: only the component schemas under test."""
    return {"openapi": "3.1.0", "info": {"version": "1"}, "paths": {}, "components": {"schemas": schemas}}


def one_key(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: schema}, "required": [key], "additionalProperties": False}


def body_for(mode: str, weight: dict[str, Any]) -> dict[str, Any]:
    target = {"type": "object", "properties": {"modelId": {"type": "string"}, "weight": weight}, "required": ["modelId"]}
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "mode": {"type": "string", "enum": [mode]},
            "targets": {"type": "array", "items": target},
        },
        "required": ["name", "mode", "targets"],
    }


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "9"},
    "components": {
        "schemas": {
            "MetadataValue": {
                "oneOf": [
                    one_key("string_value", {"type": "string"}),
                    one_key("int64_value", {"type": "string", "pattern": "^-?[0-9]+$"}),
                    one_key("bool_value", {"type": "boolean"}),
                    {"type": "object", "properties": {"json_value": {}}, "additionalProperties": False},
                    one_key("timestamp_value", {"type": "string", "format": "date-time"}),
                ]
            },
            "Thing": {
                "type": "object",
                "properties": {
                    "thingId": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                    "kind": {"const": "thing"},
                    "flag": {"enum": [True, None]},
                    "metadata": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/MetadataValue"}},
                },
                "required": ["thingId", "kind"],
            },
            "ThingWithParts": {
                "allOf": [
                    {"$ref": "#/components/schemas/Thing"},
                    {"type": "object", "properties": {"parts": {"type": "array", "items": {"type": "integer"}}}, "required": ["parts"]},
                ]
            },
        }
    },
    "paths": {
        "/things": {
            "post": {
                "operationId": "createThing",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    body_for("single", {"type": "number", "enum": [100]}),
                                    body_for("ab", {"type": "integer", "minimum": 0, "maximum": 100}),
                                ],
                                "discriminator": {"propertyName": "mode"},
                            }
                        }
                    }
                },
                "responses": {
                    "201": {
                        "description": "Created",
                        "links": {"getThing": {"operationId": "getThing", "parameters": {"thingId": "$response.body#/thingId"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingWithParts"}}},
                    }
                },
            }
        },
        "/things/{thingId}": {
            "get": {
                "operationId": "getThing",
                "parameters": [
                    {"name": "thingId", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
            }
        },
    },
}


def test_a_strict_document_generates_a_module_that_imports() -> None:
    text = generator().Generator(DOCUMENT).render()
    module = types.ModuleType("strict_api")
    exec(compile(text, "strict_api.py", "exec"), module.__dict__)  # noqa: S102 (our own output)
    sys.modules.pop("strict_api", None)
    assert module.OPERATIONS == {"createThing": ("POST", "/things"), "getThing": ("GET", "/things/{thingId}")}
    assert 'MetadataValue: TypeAlias = "MetadataValueStringValue | MetadataValueInt64Value' in text
    assert "    timestamp_value: str\n" in text
    assert "    url: NotRequired[str]\n" in text
    assert '    kind: Literal["thing"]\n' in text
    assert "    flag: NotRequired[Literal[True, None]]\n" in text
    # Variants named by their discriminator, not by the first property they share.
    assert 'CreateThingBody: TypeAlias = "CreateThingBodySingle | CreateThingBodyAb"' in text
    assert "    weight: NotRequired[Literal[100]]\n" in text
    # An allOf extension keeps the properties of both parts.
    thing_with_parts = text.split("class ThingWithParts(TypedDict):\n", 1)[1].split("\n\n", 1)[0]
    assert "thingId: str" in thing_with_parts and "parts: list[int]" in thing_with_parts
    assert 'CreateThingResult: TypeAlias = "ThingWithParts"' in text


def test_variants_without_a_discriminator_sharing_a_first_property_get_numbered_names() -> None:
    document = schemas_only(
        {
            "Either": {
                "anyOf": [
                    {"type": "object", "properties": {"name": {"type": "string"}, "a": {"type": "integer"}}},
                    {"type": "object", "properties": {"name": {"type": "string"}, "b": {"type": "boolean"}}},
                ]
            }
        }
    )
    text = generator().Generator(document).render()
    assert 'Either: TypeAlias = "EitherName | EitherName2"' in text
    exec(compile(text, "either_api.py", "exec"), {})  # noqa: S102


def test_properties_that_are_python_keywords_use_the_functional_form() -> None:
    document = schemas_only(
        {
            "Window": {
                "type": "object",
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
                "required": ["to"],
            }
        }
    )
    text = generator().Generator(document).render()
    assert 'Window = TypedDict("Window", {\n    "from": NotRequired[str],\n    "to": str,\n})' in text
    namespace: dict[str, Any] = {}
    exec(compile(text, "window_api.py", "exec"), namespace)  # noqa: S102 (our own output)
    assert set(namespace["Window"].__annotations__) == {"from", "to"}


def test_an_inline_schema_the_document_repeats_is_one_class_and_aliases_but_components_keep_theirs() -> None:
    series = {"type": "object", "properties": {"requests": {"type": "array", "items": {"type": "number"}}}, "required": ["requests"]}
    window = {"type": "object", "properties": {"series": series}, "required": ["series"]}
    document = schemas_only(
        {
            "Metrics": {
                "type": "object",
                "properties": {"deployment": window, "targets": {"type": "array", "items": window}},
                "required": ["deployment", "targets"],
            },
            "Model": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
            "Project": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        }
    )
    text = generator().Generator(document).render()
    assert text.count("(TypedDict):\n    series: MetricsDeploymentSeries\n") == 1
    assert 'MetricsTargetsItem: TypeAlias = "MetricsDeployment"' in text
    assert "class MetricsTargetsItemSeries" not in text
    assert "    targets: list[MetricsTargetsItem]\n" in text
    # Different things of the API that look alike stay two classes.
    assert "class Model(TypedDict):" in text and "class Project(TypedDict):" in text
    namespace: dict[str, Any] = {}
    exec(compile(text, "repeated_api.py", "exec"), namespace)  # noqa: S102 (our own output)
    assert set(namespace["MetricsDeployment"].__annotations__) == {"series"}
