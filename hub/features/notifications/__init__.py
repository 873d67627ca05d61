"""Portal notifications: every case/step status change (a history row) as an event,
pushed to portal webhooks (signed, retried, in order per subscription) and streamed
over server-sent events.

- ``events``: history row -> event body and type (no personal data).
- ``signing``: ``X-MPP-Signature`` and ``verify_webhook`` for portal developers.
- ``urls``: which webhook targets are allowed (no private/internal addresses).
- ``dispatcher``: ``WebhookDispatcher`` (fan-out + delivery loops).
- ``models``: the tables (migration 0004).
"""

from hub.features.notifications.signing import WebhookSignatureError, sign, verify_webhook

__all__ = ["WebhookSignatureError", "sign", "verify_webhook"]
