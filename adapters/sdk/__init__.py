"""The adapter SDK: what an agency team needs to plug its backend into the hub."""

from adapters.sdk.base import Adapter, Capability
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, PoisonMessage, TransientBackendError
from adapters.sdk.settings import AdapterSettingsError, BackendSettings

__all__ = [
    "Adapter",
    "AdapterSettingsError",
    "AgencyAnswerInvalid",
    "AgencyRejection",
    "BackendSettings",
    "Capability",
    "PoisonMessage",
    "TransientBackendError",
]
