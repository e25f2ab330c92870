"""Sends webhook deliveries over HTTP (httpx); the signing and retry rules are the service's."""

from __future__ import annotations

from collections.abc import Mapping

import httpx


class HttpSender:
    """``send(url, body, headers, timeout) -> (status, error)``; never raises for the network."""

    def __init__(self) -> None:
        self.client = httpx.Client(follow_redirects=False)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str],
                 timeout: float) -> tuple[int | None, str | None]:
        try:
            response = self.client.post(url, content=body, headers=dict(headers),
                                        timeout=timeout)
        except httpx.HTTPError as e:
            return None, f"{type(e).__name__}: {e}"
        return response.status_code, None

    def close(self) -> None:
        self.client.close()
