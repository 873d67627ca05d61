"""`mpp-hub principals`: portal clients and operators, straight against the database
(``MPP_DATABASE_URL``). A new key is printed once and never stored; every change is
written to the ``principal_audit`` trail with the acting user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config import get_settings, load_catalogue
from hub.db.models import utcnow
from hub.features.cli_support import actor, with_sessions
from hub.features.principals import service
from hub.features.principals.models import KINDS

principals_app = typer.Typer(help="Portal clients and operators: create, list, rotate, revoke (audited).", no_args_is_help=True)

T = TypeVar("T")
Kind = Annotated[str, typer.Argument(help=f"One of: {', '.join(KINDS)}.")]
Name = Annotated[str, typer.Argument(help="Portal client id or operator name.")]


def _with_sessions(work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    try:
        return with_sessions(work)
    except service.PrincipalError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _show(issued: service.IssuedKey) -> None:
    expiry = issued.expires_at.isoformat() if issued.expires_at else "never"
    typer.echo(f"{issued.kind} {issued.name}: key id {issued.key_id}, expires {expiry}")
    typer.echo(f"key (shown once, store it now): {issued.key}")


def _known_services(services: list[str]) -> list[str]:
    catalogue = load_catalogue(get_settings())
    known = {*catalogue.codes(), *(c.code for c in catalogue.composites())}
    unknown = sorted(set(services) - known)
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {unknown}")
    return services


@principals_app.command("create")
def create(
    kind: Kind,
    name: Name,
    service_codes: Annotated[list[str] | None, typer.Option("--service", help="Portal: a service it may request (repeatable).")] = None,
    roles: Annotated[list[str] | None, typer.Option("--role", help=f"Operator: {', '.join(service.ROLES)} (repeatable).")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="The key expires after this many days.")] = None,
) -> None:
    """Create a principal and print its first key."""
    services = _known_services(service_codes or [])
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    _show(
        _with_sessions(
            lambda s: service.create(s, kind=kind, name=name, actor=actor(), services=services, roles=roles or [], expires_at=expires)
        )
    )


@principals_app.command("list")
def list_principals() -> None:
    """Every principal with its rights and keys (ids and expiry, never the keys)."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            for principal, keys in await service.listing(session):
                state = "REVOKED" if principal.revoked_at else "active"
                rights = (
                    f"services {','.join(principal.services) or '-'}"
                    if principal.kind == "portal"
                    else f"roles {','.join(principal.roles)}"
                )
                typer.echo(f"{principal.kind:8} {principal.name:30} {state:8} {rights}")
                for key in keys:
                    status = "revoked" if key.revoked_at else f"expires {key.expires_at.isoformat()}" if key.expires_at else "no expiry"
                    typer.echo(f"{'':8}   key {key.key_id}  created {key.created_at.isoformat()}  {status}")

    _with_sessions(work)


@principals_app.command("rotate")
def rotate(
    kind: Kind,
    name: Name,
    grace_hours: Annotated[float, typer.Option(min=0, help="How long the current keys stay valid beside the new one.")] = 24.0,
) -> None:
    """Issue a new key; the current ones keep working for the grace period, then expire."""
    _show(_with_sessions(lambda s: service.rotate(s, kind=kind, name=name, actor=actor(), grace=timedelta(hours=grace_hours))))


@principals_app.command("revoke")
def revoke(
    kind: Kind,
    name: Name,
    key_id: Annotated[str | None, typer.Option(help="Revoke only this key; without it, the principal and all its keys.")] = None,
) -> None:
    """Revoke at once (no grace): one key, or the principal."""
    count = _with_sessions(lambda s: service.revoke(s, kind=kind, name=name, actor=actor(), key_id=key_id))
    typer.echo(f"revoked {count} key(s) of {kind} {name}" + ("" if key_id else " and the principal"))
