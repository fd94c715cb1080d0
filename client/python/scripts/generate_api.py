"""Writes byom/_api.py, the SDK's request and response types, from the API's OpenAPI document.

Usage:
  python scripts/generate_api.py <openapi.json path or URL>           rewrite src/byom/_api.py
  python scripts/generate_api.py <openapi.json path or URL> --check   exit 1 (with a diff) if stale

The document is the one the API serves at GET /v1/openapi.json, which the server generates from the
same route declarations it validates requests with; `test/python/sdk.test.ts` runs --check against
a running local platform, so the SDK's types cannot drift from the API unnoticed.
Standard library only: it runs before the SDK's own dependencies exist.
"""

from __future__ import annotations

import difflib
import json
import keyword
import sys
import urllib.request
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parent.parent / "src" / "byom" / "_api.py"
SUCCESS = ("200", "201", "202", "204")


def camel(text: str) -> str:
    parts = [p for p in "".join(c if c.isalnum() else " " for c in text).split() if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


class Generator:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.classes: dict[str, list[str]] = {}
        self.functional: set[str] = set()  # classes written as TypedDict("Name", {...})
        self.shapes: dict[str, str] = {}  # class name -> the schema it was made from (JSON)
        self.by_shape: dict[str, str] = {}  # the reverse: the first class made from each schema
        self.components = set(doc.get("components", {}).get("schemas", {}))
        self.aliases: dict[str, str] = {}

    def expr(self, schema: dict[str, Any], hint: str) -> str:
        """A type expression for `schema`; inline objects become TypedDicts named from `hint`."""
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[-1]
        if "anyOf" in schema or "oneOf" in schema:
            variants = schema.get("anyOf") or schema.get("oneOf")
            tag = (schema.get("discriminator") or {}).get("propertyName")
            names = [self.expr(v, self.variant_name(v, hint, i, tag)) for i, v in enumerate(variants)]
            return " | ".join(dict.fromkeys(names))
        if "allOf" in schema:
            parts = schema["allOf"]
            nullable = any("null" in as_list(part.get("type")) for part in parts[1:])
            if any(part.get("properties") for part in parts[1:]):
                # An extension (X.extend({...}) of a registered X): one TypedDict with every property.
                merged: dict[str, Any] = {"properties": {}, "required": []}
                for part in parts:
                    part = self.resolve(part)
                    merged["properties"].update(part.get("properties", {}))
                    merged["required"] += part.get("required", [])
                base = self.typed_dict(merged, hint)
            else:
                # zod-to-openapi writes `X.nullable()` of a referenced schema as allOf [X, {type: [.., null]}].
                base = self.expr(parts[0], hint)
            return f"{base} | None" if nullable else base
        types = as_list(schema.get("type"))
        nullable = "null" in types
        types = [t for t in types if t != "null"]
        result = self.plain(schema, types[0] if len(types) == 1 else None, hint)
        if len(types) > 1:
            result = " | ".join(self.plain(schema, t, hint) for t in types)
        return f"{result} | None" if nullable else result

    def plain(self, schema: dict[str, Any], kind: str | None, hint: str) -> str:
        if "const" in schema:
            return f"Literal[{literal(schema['const'])}]"
        if "enum" in schema:
            return "Literal[" + ", ".join(literal(v) for v in schema["enum"]) + "]"
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            return f"list[{self.expr(schema.get('items', {}), hint + 'Item')}]"
        if kind == "object" or "properties" in schema:
            if schema.get("properties"):
                return self.typed_dict(schema, hint)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return f"dict[str, {self.expr(extra, hint + 'Value')}]"
            return "dict[str, Any]"
        return "Any"

    def variant_name(self, variant: dict[str, Any], hint: str, index: int, tag: str | None = None) -> str:
        props = variant.get("properties", {})
        if not props:
            return f"{hint}{index}"
        # A discriminator ({mode: "none"} | {mode: "passphrase", …}) names a variant by its value:
        # the declared one, else the first property with a single possible value.
        for name, sub in props.items():
            if tag is not None and name != tag:
                continue
            value = sub.get("const", sub["enum"][0] if len(sub.get("enum") or []) == 1 else None)
            if value is not None:
                return hint + camel(str(value))
        # Else by its first property ({string_value} | {int64_value} | …); typed_dict numbers the
        # name if two variants share it.
        return hint + camel(next(iter(props)))

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" not in schema:
            return schema
        return self.resolve(self.doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])

    def typed_dict(self, schema: dict[str, Any], name: str) -> str:
        shape = json.dumps(schema, sort_keys=True)
        base, n = name, 1
        while name in self.shapes and self.shapes[name] != shape:
            # Two different inline schemas want one name (variants with the same first property):
            # number the later one. Component names never collide (they are unique keys).
            n += 1
            name = f"{base}{n}"
        self.shapes[name] = shape
        first = self.by_shape.setdefault(shape, name)
        if first != name and name not in self.components:
            # An inline schema the document repeats (the same metrics series for a deployment and
            # for each of its targets): one class, and this name an alias of it. Components keep
            # their own class: they are different things of the API that happen to look alike.
            self.aliases[name] = first
            return name
        required = set(schema.get("required", []))
        lines = []
        # A field named by a keyword (?from=) only fits TypedDict's functional form.
        functional = any(not prop.isidentifier() or keyword.iskeyword(prop) for prop in schema["properties"])
        for prop, sub in schema["properties"].items():
            kind = self.expr(sub, name + camel(prop))
            if prop not in required:
                kind = f"NotRequired[{kind}]"
            doc = sub.get("description")
            comment = f"  # {doc}" if doc and len(doc) < 90 else ""
            lines.append(f'    "{prop}": {kind},{comment}' if functional else f"    {prop}: {kind}{comment}")
        if functional:
            self.functional.add(name)
        self.classes[name] = lines
        return name

    def component(self, name: str, schema: dict[str, Any]) -> None:
        result = self.expr(schema, name)
        if result != name:
            self.aliases[name] = result

    def operations(self) -> list[tuple[str, str, str]]:
        found = []
        for path, methods in self.doc["paths"].items():
            for method, op in methods.items():
                found.append((op["operationId"], method.upper(), path))
                stem = camel(op["operationId"])
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
                if body:
                    self.alias(stem + "Body", self.expr(body, stem + "Body"))
                query = [p for p in op.get("parameters", []) if p["in"] == "query"]
                if query:
                    self.typed_dict(
                        {"properties": {p["name"]: p["schema"] for p in query}, "required": []}, stem + "Query"
                    )
                for status in SUCCESS:
                    response = op.get("responses", {}).get(status)
                    if response is None:
                        continue
                    content = response.get("content", {}).get("application/json", {}).get("schema")
                    self.alias(stem + "Result", self.expr(content, stem + "Result") if content else "None")
                    break
        return sorted(found)

    def alias(self, name: str, target: str) -> None:
        if target != name:
            self.aliases[name] = target

    def render(self) -> str:
        for name, schema in sorted(self.doc.get("components", {}).get("schemas", {}).items()):
            self.component(name, schema)
        ops = self.operations()
        out = [
            '"""The registry API\'s types and operations, generated from its OpenAPI document.',
            "",
            "Do not edit: regenerate with `python client/python/scripts/generate_api.py <openapi.json>`",
            f"(API version {self.doc.get('info', {}).get('version', '?')}). TypedDicts describe the JSON the API",
            'takes and returns; OPERATIONS maps each operationId to its method and path.',
            '"""',
            "",
            "from __future__ import annotations",
            "",
            "import sys",
            "from typing import Any, Literal, TypedDict",
            "",
            "if sys.version_info >= (3, 11):",
            "    from typing import NotRequired, TypeAlias",
            "else:  # pragma: no cover",
            "    from typing_extensions import NotRequired, TypeAlias",
            "",
            "OPERATIONS: dict[str, tuple[str, str]] = {",
            *[f'    "{op}": ("{method}", "{path}"),' for op, method, path in ops],
            "}",
            "",
        ]
        for name in sorted(self.classes):
            if name in self.functional:
                out += ["", f'{name} = TypedDict("{name}", {{', *self.classes[name], "})", ""]
            else:
                out += ["", f"class {name}(TypedDict):", *(self.classes[name] or ["    pass"]), ""]
        out.append("")
        for name in sorted(self.aliases):
            out.append(f'{name}: TypeAlias = "{self.aliases[name]}"')
        return "\n".join(out).rstrip() + "\n"


def literal(value: Any) -> str:
    """A Literal[...] argument: Python's spelling of JSON's true/false/null."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:  # noqa: S310 (a URL the user gives)
            return json.load(response)
    return json.loads(Path(source).read_text())


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    text = Generator(load(argv[0])).render()
    if "--check" in argv:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True), "_api.py", "served"))
        print(
            "\nclient/python/src/byom/_api.py is stale: the API changed. Regenerate it with\n"
            "  python client/python/scripts/generate_api.py <the served /v1/openapi.json>\n"
            "and adapt the SDK to what changed.",
            file=sys.stderr,
        )
        return 1
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
