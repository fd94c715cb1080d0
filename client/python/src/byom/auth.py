"""How a request proves who sent it: a local-mode bearer token, or AWS SigV4 (botocore)."""

from __future__ import annotations

import threading
from typing import Protocol


class Auth(Protocol):
    def headers(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        """The headers to send, authentication added."""
        ...


class BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {self._token}"}


class SigV4Auth:
    """Signs for API Gateway (service execute-api) with the standard AWS credential chain.

    botocore is imported on first use, so local mode never loads it. Credentials come from a
    botocore session, which refreshes temporary ones (SSO, assumed roles) as they expire.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self._lock = threading.Lock()
        self._credentials = None

    def headers(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth as Signer
        from botocore.awsrequest import AWSRequest

        with self._lock:
            if self._credentials is None:
                import os

                import botocore.session

                from byom.errors import ConfigError

                if os.environ.get("AWS_PROFILE") == "":
                    # Empty means unset (as for the JS SDK and the CLI), not a profile named "":
                    # botocore reads the variable itself, so it has to go.
                    del os.environ["AWS_PROFILE"]
                credentials = botocore.session.get_session().get_credentials()
                if credentials is None:
                    raise ConfigError(
                        "No AWS credentials found (environment, ~/.aws profiles, SSO, roles). "
                        "Check them with `aws sts get-caller-identity`."
                    )
                self._credentials = credentials
        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        Signer(self._credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(request)
        return dict(request.headers.items())
