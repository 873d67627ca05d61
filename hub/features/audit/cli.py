"""`mpp-hub audit`: verify the chain, export a signed checkpoint (``MPP_DATABASE_URL``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.config import get_settings
from hub.features.audit.checkpoint import exported, imported, latest, signing_key, trusted_keys, write_checkpoint
from hub.features.audit.verify import Report, verify
from hub.features.cli_support import with_sessions

audit_app = typer.Typer(help="The tamper-evident audit log: verify it, export signed checkpoints.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None, typer.Option(help="An exported checkpoint (JSON) kept outside the database; repeatable.")
    ] = None,
) -> None:
    """Check every entry, link, the head and the signed checkpoints; exit 1 naming each problem."""
    settings = get_settings().privacy
    key = signing_key(settings)
    keys = trusted_keys(settings, key)
    extra = [imported(json.loads(path.read_text())) for path in checkpoint or []]

    async def work(sessions: async_sessionmaker[AsyncSession]) -> Report:
        async with sessions() as session:
            return await verify(session, keys, extra)

    report = with_sessions(work)
    for problem in report.problems:
        typer.echo(f"{problem.kind.upper():10} seq {problem.seq}: {problem.message}")
    verdict = "intact" if report.intact else f"TAMPERED ({len(report.problems)} problems)"
    typer.echo(f"{report.entries} entries up to seq {report.last_seq}, {report.checkpoints} checkpoints: {verdict}")
    if not report.intact:
        raise typer.Exit(1)


@audit_app.command("export-checkpoint")
def audit_export_checkpoint(
    output: Annotated[Path | None, typer.Option(help="Write the JSON here instead of standard output.")] = None,
) -> None:
    """Sign the chain's head now (unless the newest checkpoint covers it) and print it with its public key."""
    key = signing_key(get_settings().privacy)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> dict[str, object]:
        written = await write_checkpoint(sessions, key)
        if written is None:
            async with sessions() as session:
                written = await latest(session)
        assert written is not None  # write_checkpoint returns None only when one exists
        return exported(written, key)

    text = json.dumps(with_sessions(work), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        typer.echo(f"checkpoint written to {output}")
