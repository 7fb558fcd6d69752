"""One error hierarchy: every error a client may see carries a status and a safe message."""

from __future__ import annotations


class FediError(Exception):
    """An error with an HTTP status and a message that is safe to show to the client."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(FediError):
    status = 400


class Unauthorized(FediError):
    status = 401


class Forbidden(FediError):
    status = 403


class NotFound(FediError):
    status = 404


class Gone(FediError):
    status = 410


class TooLarge(FediError):
    status = 413


class Unprocessable(FediError):
    status = 422


class ConfigError(Exception):
    """Bad configuration: the CLI prints it on one line and exits non-zero."""


class RemoteError(Exception):
    """A remote server could not be reached or answered with something unusable."""
