"""Error responses in the OpenAI API's shape: ``{"error": {"message", "type", "param", "code"}}``.

Every failure the server reports — bad JSON, an unknown voice, a full queue, a missing API key,
an unknown path — uses this shape, so clients written for the OpenAI API (the ``openai`` package
raises ``BadRequestError`` etc. from it) show the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

#: the ``type`` field by status code (OpenAI's names where it has one)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    422: "invalid_request_error",
    500: "server_error",
    503: "server_busy",
    504: "timeout",
}


class ApiError(Exception):
    """An error to answer with ``status`` and the JSON body above."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.headers = dict(headers or {})


def error_body(status: int, message: str, param: str | None = None) -> bytes:
    """The JSON bytes of an error response."""
    err = {"message": message, "type": ERROR_TYPES.get(status, "error"), "param": param, "code": None}
    return json.dumps({"error": err}).encode()


def error_response(err: ApiError) -> Response:
    return Response(
        error_body(err.status, err.message, err.param),
        status_code=err.status,
        media_type="application/json",
        headers=err.headers,
    )
