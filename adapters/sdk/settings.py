"""How an adapter reaches its agency's backend (one typed object, no kwargs soup)."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, SecretStr, ValidationError, field_validator

from schemas.validation import FieldProblem, field_problems

S = TypeVar("S", bound="BackendSettings")


def _not_blank(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be blank")
    return value


#: A credential an agency issued to the hub: required, and spaces alone are no credential.
NonBlankSecret = Annotated[SecretStr, AfterValidator(_not_blank)]


class BackendSettings(BaseModel):
    """Common settings; an agency's own ones (OAuth client, callback secret) pass
    through as extra fields and are validated by the adapter's subclass of this model
    (its ``settings_model``, see :func:`narrow`)."""

    # An agency's own fields reach the model JSON-decoded from the environment, so a
    # numeric consumer id or password arrives as a number: take it back as text.
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)

    base_url: HttpUrl
    timeout_seconds: float = Field(default=10.0, gt=0, description="Per HTTP call to the agency.")
    retry_attempts: int = Field(default=4, ge=1, le=10, description="In-process tries for transient errors.")
    retry_max_wait_seconds: float = Field(default=2.0, gt=0, description="Cap of the exponential backoff.")
    retry_topic_delays_seconds: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0],
        description="Delay of each retry-topic level (mpp.retry.<agency>.<n>); [] = straight to dead letters after the short retries.",
    )
    breaker_failure_threshold: int = Field(default=5, ge=1, description="Transient failures in a row that open the circuit.")
    breaker_reset_seconds: float = Field(default=10.0, gt=0, description="How long the circuit stays open before a probe.")
    callback_base_url: HttpUrl | None = Field(default=None, description="Hub URL the agency calls back (callback backends).")
    callback_secret: NonBlankSecret | None = Field(default=None, description="Shared HMAC secret for the agency's callbacks (never blank).")

    @field_validator("retry_topic_delays_seconds", mode="before")
    @classmethod
    def _delays_from_text(cls, value: Any) -> Any:
        """Environment variables give text: a JSON list ("[5, 30]") or a comma list ("5,30")."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [part for part in text.split(",") if part.strip()]
        return value


class ApiKeySettings(BackendSettings):
    """Settings of an agency that knows the hub by an API key it issued (BPJPH, Dukcapil)."""

    api_key: NonBlankSecret = Field(description="The key the agency issued to the hub (MPP_AGENCIES__<AGENCY>__API_KEY); never logged.")


def environment_variable(agency: str, field: str) -> str:
    """Where an operator sets ``field`` of ``agency``'s backend (hub/config.py nests with ``__``)."""
    return f"MPP_AGENCIES__{agency.upper()}__{field.upper()}"


class AdapterSettingsError(ValueError):
    """An adapter cannot start: a setting of its agency is missing or invalid.

    Raised at start-up rather than on every command, and worded for the operator: it
    names the environment variable to set, never the value it holds (a secret may)."""

    def __init__(self, agency: str, problems: list[FieldProblem]) -> None:
        self.agency = agency
        self.variables = sorted({environment_variable(agency, str(p.loc[0])) for p in problems if p.loc})
        super().__init__(f"the {agency} adapter cannot start: " + "; ".join(_explain(agency, p) for p in problems))


def _explain(agency: str, problem: FieldProblem) -> str:
    if not problem.loc:
        return f"its settings are invalid: {problem.message}"
    variable = environment_variable(agency, str(problem.loc[0]))
    if problem.type == "missing":
        return f"{variable} is required ({problem.path})"
    if problem.type == "extra_forbidden":
        return f"{variable} is not a setting of the {agency} adapter"
    return f"{variable} is invalid ({problem.path}: {problem.message})"


def narrow(settings: BackendSettings, model: type[S], agency: str) -> S:
    """``settings`` as ``model``, the agency's own settings: its extras validated and typed,
    fields left unset taking ``model``'s defaults, and a setting ``model`` does not know
    refused (a typo in a variable's name must not pass unnoticed).

    Raises :class:`AdapterSettingsError`."""
    if isinstance(settings, model):
        narrowed = settings
    else:
        try:
            narrowed = model.model_validate(settings.model_dump(exclude_unset=True))
        except ValidationError as exc:
            raise AdapterSettingsError(agency, field_problems(exc)) from None
    unknown = [FieldProblem(loc=(name,), type="extra_forbidden", message="unknown setting") for name in sorted(narrowed.model_extra or {})]
    if unknown:
        raise AdapterSettingsError(agency, unknown)
    return narrowed
