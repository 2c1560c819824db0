"""Refusals the way FastAPI words its own: 422 with ``detail`` naming each bad key."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.exceptions import RequestValidationError

__all__ = ["invalid"]


def invalid(messages: Sequence[str]) -> RequestValidationError:
    """From the configuration's messages (``key: what is wrong``) to a 422 for the request body.

    Each error keeps FastAPI's shape (``loc``, ``msg``, ``type``) and adds the
    ``key`` as the configuration file spells it.
    """
    errors = []
    for message in messages:
        key, _, text = message.partition(": ")
        errors.append(
            {"loc": ("body", key), "msg": text or message, "type": "value_error", "key": key}
        )
    return RequestValidationError(errors)
