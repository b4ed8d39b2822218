"""Graph access tokens: managed identity in Azure, ``az login`` locally, none on loopback.

azure-identity is imported lazily so tests against the loopback server (auth "none")
and the pure modules never need it. Tokens are never logged or put in errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, Protocol, TypeAlias
from urllib.parse import urlsplit

from service.netutil import is_loopback_url

AuthMode: TypeAlias = Literal["managedidentity", "cli", "none"]
AUTH_MODES: tuple[AuthMode, ...] = ("managedidentity", "cli", "none")
# Refresh this long before expiry so a token never dies mid-page.
_REFRESH_MARGIN_SECONDS = 300

TokenProvider = Callable[[], str | None]


class _AccessToken(Protocol):
    token: str
    expires_on: int


class _Credential(Protocol):
    def get_token(self, *scopes: str) -> _AccessToken: ...


def graph_scope(base_url: str) -> str:
    """The .default scope of the Graph cloud at ``base_url`` (national clouds differ)."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def parse_auth_mode(text: str | None) -> AuthMode:
    value = (text or "managedidentity").strip().lower()
    for mode in AUTH_MODES:
        if value == mode:
            return mode
    raise ValueError(f"RISKWATCH_GRAPH_AUTH: {text!r} is not one of {', '.join(AUTH_MODES)}")


class CachedToken:
    """Wraps an azure-identity credential; reuses the token until shortly before expiry."""

    def __init__(self, credential: _Credential, scope: str) -> None:
        self._credential = credential
        self._scope = scope
        self._token: str | None = None
        self._expires_on = 0.0

    def __call__(self) -> str | None:
        if self._token is None or time.time() > self._expires_on - _REFRESH_MARGIN_SECONDS:
            access = self._credential.get_token(self._scope)
            self._token, self._expires_on = access.token, float(access.expires_on)
        return self._token

    def __repr__(self) -> str:  # never show the token
        return f"CachedToken(scope={self._scope!r})"


def make_token_provider(
    mode: AuthMode, base_url: str, client_id: str | None = None
) -> TokenProvider:
    """Build the token source for ``mode``; "none" is refused unless the URL is loopback."""
    if mode == "none":
        if not is_loopback_url(base_url):
            raise ValueError(
                f"RISKWATCH_GRAPH_AUTH=none is only allowed for a loopback Graph URL, "
                f"not {urlsplit(base_url).netloc!r}"
            )
        return lambda: None
    scope = graph_scope(base_url)
    if mode == "managedidentity":
        from azure.identity import ManagedIdentityCredential

        # A user-assigned identity is picked by client id; None means system-assigned.
        credential: _Credential = ManagedIdentityCredential(client_id=client_id or None)
        return CachedToken(credential, scope)
    if mode == "cli":
        from azure.identity import AzureCliCredential

        return CachedToken(AzureCliCredential(), scope)
    raise ValueError(f"unknown auth mode {mode!r}")
