"""One place that turns an operation id into an HTTP call and an error answer into ApiError."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from byom._api import OPERATIONS
from byom.config import Config
from byom.errors import ApiError, ByomError, ConnectionFailed


class Transport:
    def __init__(self, config: Config, timeout: float = 60.0) -> None:
        self.config = config
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)

    def call(
        self,
        operation_id: str,
        params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        method, template = OPERATIONS[operation_id]
        url = self.config.api_url + fill_path(template, params or {})
        clean_query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (query or {}).items() if v is not None}
        if clean_query:
            url += "?" + str(httpx.QueryParams(clean_query))
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        headers = self.config.auth.headers(method, url, headers, content)
        try:
            response = self.http.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as error:
            raise ConnectionFailed(
                f"Cannot reach the Byom API at {self.config.api_url} ({error}). "
                "Is local mode running (`npm start`), or is BYOM_API_URL right?"
            ) from error
        if response.status_code >= 400:
            raise api_error(response, f"{method} {template}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ByomError(
                f"{method} {template} answered {response.status_code} with a body that is not JSON. "
                f"Is {self.config.api_url} a Byom API?"
            ) from error

    def pages(self, operation_id: str, params: Mapping[str, Any] | None = None, query: Mapping[str, Any] | None = None, max_pages: int = 1000) -> Iterator[Any]:
        """Every item of a list operation, following nextCursor (bounded, in case a server loops)."""
        cursor = None
        for _ in range(max_pages):
            page = self.call(operation_id, params, {**(query or {}), "limit": 100, "cursor": cursor})
            yield from page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def close(self) -> None:
        self.http.close()


def fill_path(template: str, params: Mapping[str, Any]) -> str:
    def value(name: str) -> str:
        if params.get(name) in (None, ""):
            raise ByomError(f"Internal: no value for {{{name}}} in {template}.")
        return quote(str(params[name]), safe="")

    out, rest = "", template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        out += before + value(name)
    return out + rest


def api_error(response: httpx.Response, what: str) -> ApiError:
    status = response.status_code
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            return ApiError(status, error.get("code") or "ERROR", error["message"], error.get("details") or [])
        # API Gateway's own answers (a SigV4 rejection …) carry `message` at the top level.
        gateway = parsed.get("message") or parsed.get("Message")
        if gateway:
            hint = ""
            if status == 403:
                hint = " (check your AWS credentials, e.g. `aws sts get-caller-identity`, and the region)"
            return ApiError(status, "FORBIDDEN" if status == 403 else "ERROR", f"{gateway}{hint}")
        # A scorer's refusal: {"detail": "..."}.
        if parsed.get("detail"):
            return ApiError(status, "SCORE_REFUSED", str(parsed["detail"]))
    excerpt = response.text.strip()[:300]
    return ApiError(status, "ERROR", f"{what} failed with HTTP {status}" + (f": {excerpt}" if excerpt else "") + ".")
