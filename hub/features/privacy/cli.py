"""`mpp-hub privacy`: the data subject's trail, the NIK blind index, the retention purge and erasure (``MPP_DATABASE_URL``).
The NIK is never printed whole; without ``--nik`` it is asked for without echo, which
keeps it out of the shell history and the process list."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config import get_settings, load_catalogue
from hub.db.models import Case
from hub.features.cli_support import actor as cli_actor
from hub.features.cli_support import with_sessions
from hub.features.privacy.access import REASON_MIN_LENGTH
from hub.features.privacy.blind_index import nik_index
from hub.features.privacy.erasure import Erasure, StillProcessing, erase
from hub.features.privacy.retention import TABLES, Purged, Purger
from hub.features.privacy.trail import Trail, trail

privacy_app = typer.Typer(help="Citizens' data (UU PDP): the data subject's trail, the NIK blind index, retention.", no_args_is_help=True)


@privacy_app.command("trail")
def privacy_trail(
    nik: Annotated[str | None, typer.Option(help="The data subject's NIK; asked for (hidden) when omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
) -> None:
    """The processing record of one NIK: cases, which agencies got which fields when, who read or revealed them."""
    subject = nik if nik is not None else typer.prompt("NIK", hide_input=True)
    settings = get_settings().privacy
    actor = cli_actor()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> Trail:
        async with sessions.begin() as session:
            return await trail(session, settings, subject, actor=actor, via="cli")

    found = with_sessions(work)
    if as_json:
        typer.echo(json.dumps(asdict(found), default=str, indent=2))
        return
    typer.echo(f"NIK {found.nik}: {len(found.cases)} case(s)")
    for case in found.cases:
        typer.echo(f"case {case.case_id} {case.service} {case.status} (from {case.client_id}, {case.created_at:%Y-%m-%d %H:%M} UTC)")
        for d in case.disclosures:
            published = f"{d.published_at:%Y-%m-%d %H:%M:%S}" if d.published_at else "not yet published"
            purged = f" (copy purged {d.purged_at:%Y-%m-%d})" if d.purged_at else ""
            typer.echo(f"  sent to {d.agency} ({d.service}, step {d.step}) at {published}: {', '.join(d.fields)}{purged}")
        for a in case.accesses:
            why = f" reason: {a.reason}" if a.reason else ""
            typer.echo(f"  {a.kind} by {a.actor} at {a.at:%Y-%m-%d %H:%M:%S} ({a.subject}){why}")
        for p in case.purges:
            counts = ", ".join(f"{n} {table}" for table, n in sorted(p.counts.items()))
            typer.echo(f"  purged by {p.actor} at {p.at:%Y-%m-%d %H:%M:%S}: {counts}")
        if case.erased is not None:
            ref = f" (request {case.erased.reference})" if case.erased.reference else ""
            typer.echo(f"  erased by {case.erased.actor} at {case.erased.at:%Y-%m-%d %H:%M:%S}: {case.erased.why}{ref}")


@privacy_app.command("reindex")
def privacy_reindex() -> None:
    """Fill the NIK blind index of cases that have none (submitted before it existed)."""
    settings = get_settings().privacy

    async def work(sessions: async_sessionmaker[AsyncSession]) -> int:
        async with sessions.begin() as session:
            cases = list(await session.scalars(select(Case).where(Case.nik_index.is_(None))))
            for case in cases:
                applicant_nik = (case.applicant or {}).get("nik")
                if isinstance(applicant_nik, str):
                    case.nik_index = nik_index(settings, applicant_nik)
            return len(cases)

    typer.echo(f"{with_sessions(work)} case(s) indexed")


@privacy_app.command("purge")
def privacy_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what is due, delete nothing.")] = False,
) -> None:
    """Delete now what the retention policy says has been kept long enough (``MPP_PRIVACY__RETENTION__*``):
    published outbox rows, finished webhook deliveries, settled dead letters, and crypto-shred
    finished cases past their service's period; recorded on the audit chain."""
    settings, actor = get_settings(), cli_actor()
    catalogue = load_catalogue(settings)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> Purged:
        purger = Purger(sessions, settings.privacy.retention, actor=actor, catalogue=catalogue)
        return await (purger.due() if dry_run else purger.purge())

    found = with_sessions(work)
    counts = ", ".join(f"{found.counts[table]} {table}" for table in TABLES)
    typer.echo(f"{'would purge' if dry_run else 'purged'}: {counts} ({len(found.cases)} case(s))")
    typer.echo(f"{'would shred' if dry_run else 'shredded'}: {len(found.shredded)} finished case(s) past their retention period")


@privacy_app.command("erase")
def privacy_erase(
    reason: Annotated[str, typer.Option(help=f"Why (at least {REASON_MIN_LENGTH} characters); on the audit chain.")],
    reference: Annotated[str, typer.Option(help="The reference of the verified erasure request.")],
    nik: Annotated[str | None, typer.Option(help="The data subject's NIK; asked for (hidden) when omitted.")] = None,
) -> None:
    """Erase one data subject on a verified request: crypto-shred every finished case of the NIK.
    Refused, erasing nothing, while any of their cases is still being processed."""
    subject = nik if nik is not None else typer.prompt("NIK", hide_input=True)
    settings, actor = get_settings().privacy, cli_actor()

    async def work(sessions: async_sessionmaker[AsyncSession]) -> Erasure:
        async with sessions.begin() as session:
            return await erase(session, settings, subject, reason=reason, reference=reference, actor=actor, via="cli")

    try:
        done = with_sessions(work)
    except StillProcessing as exc:
        typer.echo(f"refused, nothing erased: {len(exc.cases)} case(s) still being processed", err=True)
        for case in exc.cases:
            typer.echo(f"  case {case.case_id} {case.service} {case.status}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:  # ReasonRequired, a bad reference
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"NIK {done.nik}: {len(done.erased)} case(s) erased, {len(done.already)} erased before")
    for case_id in done.erased:
        typer.echo(f"  erased case {case_id}")
