"""The adapter SDK: what an agency team needs to plug its backend into the hub."""

from adapters.sdk.base import Adapter
from adapters.sdk.errors import AgencyAnswerInvalid, AgencyRejection, PoisonMessage, TransientBackendError
from adapters.sdk.plugin import AgencyPlugin, DevDefaults
from adapters.sdk.settings import BackendSettings

__all__ = [
    "Adapter",
    "AgencyAnswerInvalid",
    "AgencyPlugin",
    "AgencyRejection",
    "BackendSettings",
    "DevDefaults",
    "PoisonMessage",
    "TransientBackendError",
]
