"""Who may do what on the bus: one principal per role, each with least-privilege ACLs.

The broker authenticates every client (SASL/SCRAM) and its standard authorizer denies
whatever no ACL allows. The roles, derived from the topology (``messaging/topology.py``):

- the hub's processes (``mpp-hub``): the hub's own topics and groups. It also writes
  the agencies' report topics, because replaying a dead letter puts it back where it
  came from; the hub is the trusted core.
- one principal per agency adapter (``mpp-adapter-<agency>``): reads only its own
  command and retry topics (and forwards between its retry levels), writes only its
  own report topic, the dead-letter topic and its breaker status; its consumer groups.
  So an adapter cannot read another agency's commands, and what arrives on an agency's
  report topic was written by that agency's adapter (or the hub).

:func:`provision` (``mpp-hub kafka principals --apply``) creates the SCRAM credentials
and ACLs over the Kafka protocol, signed in as an admin (a super user). aiokafka has
no call for SCRAM credentials, so the request (AlterUserScramCredentials, KIP-554) is
declared here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import CompactArray, CompactBytes, CompactString, Int8, Int16, Int32, Schema, TaggedFields

from messaging.clients import create_admin
from messaging.retry_levels import adapter_group, retry_group, retry_topics
from messaging.settings import KafkaSettings
from messaging.topology import Topology, merged, prepare
from schemas import topics

HUB_PRINCIPAL = "mpp-hub"
#: The hub's consumer groups: router, dead-letter archive, adapter-status tracker.
HUB_GROUPS = ("mpp-router", "mpp-dlq-archive", "mpp-adapter-status")
SCRAM_ITERATIONS = 8192  # Kafka's minimum is 4096


def adapter_principal_name(agency: str) -> str:
    return f"mpp-adapter-{agency}"


class Resource(IntEnum):  # Kafka's ResourceType codes
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):  # Kafka's PatternType codes
    LITERAL = 3
    PREFIXED = 4


class Op(IntEnum):  # Kafka's AclOperation codes
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10
    IDEMPOTENT_WRITE = 12


_ALLOW = 3
_ANY_HOST = "*"
_CLUSTER = "kafka-cluster"


@dataclass(frozen=True)
class Grant:
    resource: Resource
    name: str
    operations: tuple[Op, ...]
    pattern: Pattern = Pattern.LITERAL


@dataclass(frozen=True)
class Principal:
    name: str
    grants: tuple[Grant, ...]

    @property
    def kafka_name(self) -> str:
        return f"User:{self.name}"


def hub_principal() -> Principal:
    """The hub's processes (API, relay, router and its helpers, ``mpp-hub dlq``)."""
    return Principal(
        HUB_PRINCIPAL,
        (
            Grant(Resource.TOPIC, "mpp.", (Op.READ, Op.WRITE, Op.DESCRIBE, Op.CREATE, Op.DESCRIBE_CONFIGS), Pattern.PREFIXED),
            *(Grant(Resource.GROUP, group, (Op.READ, Op.DESCRIBE)) for group in HUB_GROUPS),
            Grant(Resource.GROUP, "mpp-", (Op.DESCRIBE,), Pattern.PREFIXED),  # consumer lag of every role
            Grant(Resource.CLUSTER, _CLUSTER, (Op.IDEMPOTENT_WRITE,)),
        ),
    )


def adapter_principal(agency: str, retry_levels: int) -> Principal:
    """One agency's adapter worker: its own topics and groups, nothing of another agency."""
    retries = retry_topics(agency, retry_levels)
    return Principal(
        adapter_principal_name(agency),
        (
            Grant(Resource.TOPIC, topics.commands(agency), (Op.READ, Op.DESCRIBE, Op.CREATE)),
            *(Grant(Resource.TOPIC, name, (Op.READ, Op.WRITE, Op.DESCRIBE, Op.CREATE)) for name in retries),
            Grant(Resource.TOPIC, topics.events(agency), (Op.WRITE, Op.DESCRIBE, Op.CREATE)),
            Grant(Resource.TOPIC, topics.DEADLETTER, (Op.WRITE, Op.DESCRIBE)),
            Grant(Resource.TOPIC, topics.ADAPTER_STATUS, (Op.WRITE, Op.DESCRIBE)),
            Grant(Resource.GROUP, adapter_group(agency), (Op.READ, Op.DESCRIBE)),
            *(Grant(Resource.GROUP, retry_group(agency, level), (Op.READ, Op.DESCRIBE)) for level in range(1, retry_levels + 1)),
            Grant(Resource.CLUSTER, _CLUSTER, (Op.IDEMPOTENT_WRITE,)),
        ),
    )


def principals(adapters: Mapping[str, int]) -> list[Principal]:
    """The hub and one principal per agency adapter (agency -> its retry levels)."""
    return [hub_principal(), *(adapter_principal(agency, levels) for agency, levels in sorted(adapters.items()))]


def new_password() -> str:
    return secrets.token_urlsafe(32)


def passwords_of(wanted: Sequence[Principal], source: Path) -> dict[str, str]:
    """Each wanted principal's password from ``source``.

    A directory (a deployment's secrets: a Compose secret per principal, a mounted
    Kubernetes Secret) holds one file per principal named after it; it is only read, and
    a missing one is an error, since the principal's process reads the same secret. A
    JSON file (a development machine) gets a generated password for each new principal,
    written back readable by its owner alone."""
    if source.is_dir():
        found = {p.name: (source / p.name).read_text().strip() for p in wanted if (source / p.name).is_file()}
        missing = [p.name for p in wanted if not found.get(p.name)]
        if missing:
            raise AccessError(f"{source} has no password (or an empty one) for {', '.join(missing)}")
        return found
    known: dict[str, str] = json.loads(source.read_text()) if source.exists() else {}
    known |= {p.name: new_password() for p in wanted if p.name not in known}
    source.parent.mkdir(parents=True, exist_ok=True)
    source.touch(mode=0o600)
    source.chmod(0o600)
    source.write_text(json.dumps(known, indent=2) + "\n")
    return known


async def provision(kafka: KafkaSettings, wanted: Sequence[Principal], passwords: Mapping[str, str]) -> None:
    """Set each principal's SCRAM credential (``passwords[name]``) and add its ACLs.

    ``kafka`` signs in as an admin. Both calls are idempotent: a credential is replaced
    (so this also rotates passwords), an ACL that exists is left as it is."""
    admin = create_admin(kafka)
    await admin.start()
    try:
        await _set_credentials(admin, credential_mechanism(kafka), {p.name: passwords[p.name] for p in wanted})
        for principal in wanted:
            await _create_acls(admin, principal)
    finally:
        await admin.close()


async def apply_roles(
    kafka: KafkaSettings, providers: Iterable[str], adapters: Mapping[str, int], passwords: Mapping[str, str]
) -> list[Principal]:
    """Everything a deployment's bus needs before its processes start, signed in as an
    admin: every topic of the topology (an adapter may create only its own) and every
    role's principal. ``providers``: the catalogue's agencies; ``adapters``: agency ->
    retry levels of each adapter that runs."""
    layout = Topology(kafka)
    await prepare(kafka, merged(layout.hub(providers), *(layout.adapter(a, n) for a, n in sorted(adapters.items()))))
    wanted = principals(adapters)
    await provision(kafka, wanted, passwords)
    return wanted


class AccessError(RuntimeError):
    """The broker refused a credential or an ACL."""


async def _create_acls(admin: AIOKafkaAdminClient, principal: Principal) -> None:
    for grant in principal.grants:
        for op in grant.operations:
            request = CreateAclsRequest(grant.resource, grant.name, grant.pattern, principal.kafka_name, _ANY_HOST, op, _ALLOW)
            response = await admin._send_request(request)  # aiokafka builds the request but has no method for it
            for code, message in response.creation_responses:
                if code:
                    raise AccessError(f"ACL {op.name} on {grant.name} for {principal.name}: {for_code(code).__name__}: {message or ''}")


# --------------------------------------------------------------------------- SCRAM credentials (KIP-554)

_MECHANISMS = {"SCRAM-SHA-256": (1, "sha256"), "SCRAM-SHA-512": (2, "sha512")}


class _AlterUserScramCredentialsResponse(Response):  # type: ignore[misc]  # aiokafka ships no type information
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")), ("error_code", Int16), ("error_message", CompactString("utf-8")), ("tags", TaggedFields)
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentialsStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterUserScramCredentialsResponse
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterUserScramCredentials(Request[_AlterUserScramCredentialsStruct]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, upsertions: list[tuple[Any, ...]]) -> None:
        self._upsertions = upsertions

    def build(self, request_struct_class: type[_AlterUserScramCredentialsStruct]) -> _AlterUserScramCredentialsStruct:
        return request_struct_class([], self._upsertions, {})


def _upsertion(name: str, password: str, mechanism: str) -> tuple[Any, ...]:
    """The broker stores only the salted password (RFC 5802's Hi()), never the password."""
    code, digest = _MECHANISMS[mechanism]
    salt = secrets.token_bytes(32)
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, SCRAM_ITERATIONS)
    return (name, code, SCRAM_ITERATIONS, salt, salted, {})


async def _set_credentials(admin: AIOKafkaAdminClient, mechanism: str, passwords: Mapping[str, str]) -> None:
    response = await admin._send_request(_AlterUserScramCredentials([_upsertion(n, p, mechanism) for n, p in passwords.items()]))
    problems = [f"{user}: {for_code(code).__name__}: {message or ''}" for user, code, message, _tags in response.results if code]
    if problems:
        raise AccessError("could not set SCRAM credentials: " + "; ".join(problems))


def credential_mechanism(kafka: KafkaSettings) -> str:
    """The SCRAM mechanism principals get: the admin's own, unless the admin signs in with
    PLAIN (a user of the brokers' configuration), when the hub's default."""
    return kafka.sasl_mechanism if kafka.sasl_mechanism in _MECHANISMS else "SCRAM-SHA-512"


def grants_text(principal: Principal) -> Iterable[str]:
    """One line per grant, for ``mpp-hub kafka principals``."""
    for grant in principal.grants:
        suffix = "*" if grant.pattern is Pattern.PREFIXED else ""
        yield f"{grant.resource.name.lower():8} {grant.name + suffix:34} {', '.join(op.name for op in grant.operations)}"
