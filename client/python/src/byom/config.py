"""Where the SDK sends requests and how it proves who it is: the same rules as the `byom` CLI.

- `BYOM_API_URL` (or `api_url=`) set: AWS mode, requests signed with SigV4 (service execute-api)
  from the standard AWS credential chain (botocore's: environment, profiles and SSO, web identity,
  container and instance roles). The region comes from `region=`, AWS_REGION, AWS_DEFAULT_REGION
  or the execute-api host name. With BYOM_TOKEN as well, a bearer token is sent instead (a local
  platform on another machine).
- Otherwise local mode: `<BYOM_HOME or ./.byom>/local.json`, written by `npm start`, gives the API
  URL and token.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from byom.auth import Auth, BearerAuth, SigV4Auth
from byom.errors import ConfigError


@dataclass(frozen=True)
class Config:
    mode: Literal["local", "aws"]
    api_url: str
    auth: Auth
    #: The local data folder; resumable uploads keep their state under `<home>/uploads/`.
    home: Path


def resolve_config(
    api_url: str | None = None,
    region: str | None = None,
    token: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Config:
    environ = dict(os.environ) if env is None else env
    home = Path(cwd or os.getcwd(), environ.get("BYOM_HOME") or ".byom").resolve()
    url = api_url or environ.get("BYOM_API_URL")
    token = token or environ.get("BYOM_TOKEN")
    if url:
        url = _parse_url(url)
        if token:
            return Config("local", url, BearerAuth(token), home)
        region = region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or _region_of_host(url)
        if not region:
            raise ConfigError(f"Cannot tell the AWS region of {url}. Pass region=... or set AWS_REGION.")
        return Config("aws", url, SigV4Auth(region), home)

    file = home / "local.json"
    if not file.exists():
        raise ConfigError(
            f"No Byom API is configured: {file} does not exist.\n"
            "For local mode, start it with `npm start` in the Byom folder (it writes .byom/local.json), "
            "or set BYOM_HOME to its data folder. For AWS, set BYOM_API_URL (or pass api_url=...)."
        )
    try:
        local = json.loads(file.read_text())
    except ValueError as error:
        raise ConfigError(f"{file} is not valid JSON ({error}). Restart local mode to rewrite it.") from error
    if not local.get("apiUrl") or not local.get("token"):
        raise ConfigError(f"{file} has no apiUrl or token. Restart local mode to rewrite it.")
    return Config("local", _parse_url(local["apiUrl"]), BearerAuth(local["token"]), home)


def _parse_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"'{raw}' is not an http(s) URL. Pass the API's base URL, "
            "e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
        )
    return raw.rstrip("/")


def _region_of_host(url: str) -> str | None:
    match = re.search(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$", urlsplit(url).hostname or "")
    return match.group(1) if match else None
