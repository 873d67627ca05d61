"""The base of adapters that talk HTTP to their agency, and the small helpers they share.

What is the same for every HTTP backend lives here: one client per adapter (base URL
and timeout from the settings, the agency's fixed headers), transport failures and
the transient HTTP statuses as ``TransientBackendError`` (with the agency's
``Retry-After``). What differs (JSON, SOAP, forms; callbacks or polls; OAuth tokens)
stays in each agency's adapter.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from adapters.sdk.base import Adapter
from adapters.sdk.errors import AgencyAnswerInvalid, TransientBackendError
from adapters.sdk.settings import ApiKeySettings, BackendSettings
from schemas.validation import describe

M = TypeVar("M", bound=BaseModel)

#: Statuses after which the same request may well succeed: timeouts, too early,
#: server errors and overloaded gateways.
TRANSIENT_STATUSES: frozenset[int] = frozenset({408, 425, 500, 502, 503, 504})


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The agency's ``Retry-After`` in seconds (delta form), or None when absent or not a number."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def json_answer(model: type[M], response: httpx.Response, problem: str) -> M:
    """The JSON body as ``model``; a body that is not JSON or does not fit is the agency's
    fault, ``AgencyAnswerInvalid`` with ``problem``, the HTTP status and the fields at fault
    (never their values), not a crash."""
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        detail = describe(exc, root="body")
        raise AgencyAnswerInvalid("agency_answer_invalid", f"{problem} (HTTP {response.status_code}): {detail}") from None


class HttpAdapter(Adapter):
    """An adapter whose agency answers over HTTP."""

    #: HTTP statuses that mean "try again later" at this agency.
    transient_statuses: ClassVar[frozenset[int]] = TRANSIENT_STATUSES
    #: The header that carries ``settings.api_key`` on every request, for agencies that
    #: issued the hub an API key (then ``settings_model`` derives from ApiKeySettings).
    api_key_header: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.api_key_header is not None and not issubclass(cls.settings_model, ApiKeySettings):
            raise TypeError(
                f"{cls.__name__} sends {cls.api_key_header} but its settings_model has no api_key (derive it from ApiKeySettings)"
            )

    def __init__(self, settings: BackendSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings)
        self.http = httpx.AsyncClient(
            base_url=str(self.settings.base_url),
            timeout=self.settings.timeout_seconds,
            transport=transport,
            headers=self.default_headers(),
        )

    def default_headers(self) -> dict[str, str]:
        """Headers every request carries: the API key if the agency issued one; an agency
        adds its own (an ``Accept``)."""
        if self.api_key_header is None:
            return {}
        assert isinstance(self.settings, ApiKeySettings)  # checked when the class was made
        return {self.api_key_header: self.settings.api_key.get_secret_value()}

    async def send(self, method: str, path: str, *, what: str = "", **request: Any) -> httpx.Response:
        """One request; a timeout or a failed connection is transient (the worker retries
        with the same idempotency key). ``what`` names the call in messages."""
        name = f"{self.label} {what}".rstrip()
        try:
            return await self.http.request(method, path, **request)
        except httpx.TimeoutException as exc:
            raise TransientBackendError(f"{name} timed out after {self.settings.timeout_seconds}s") from exc
        except httpx.TransportError as exc:
            raise TransientBackendError(f"{name} connection failed: {type(exc).__name__}") from exc

    def transient_error(self, response: httpx.Response, *, what: str = "", detail: str = "") -> TransientBackendError | None:
        """The retryable error an answer with a transient status stands for, else None."""
        if response.status_code not in self.transient_statuses:
            return None
        name = f"{self.label} {what}".rstrip()
        return TransientBackendError(f"{name} HTTP {response.status_code}{detail}", retry_after=retry_after_seconds(response))

    async def aclose(self) -> None:
        await self.http.aclose()
