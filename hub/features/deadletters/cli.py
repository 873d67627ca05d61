"""`mpp-hub dlq`: dead letters from a terminal, straight against the database
(``MPP_DATABASE_URL``), through the same service functions as the operator API.
Replays go through the outbox, so a running relay publishes them."""

from __future__ import annotations

import json
from typing import Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.features.cli_support import actor as _actor
from hub.features.cli_support import with_sessions as _with_sessions
from hub.features.deadletters import service
from hub.features.deadletters.masking import mask_nik_like, show_bytes, show_key
from hub.features.deadletters.models import STATUSES, DeadLetter, DeadLetterAudit

dlq_app = typer.Typer(help="Dead letters: list, show, replay, resolve.", no_args_is_help=True)

T = TypeVar("T")


def _filter(status: str | None, topic: str | None, consumer: str | None, error_class: str | None) -> service.DeadLetterFilter:
    try:
        return service.DeadLetterFilter(status=status, topic=topic, consumer=consumer, error_class=error_class)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--status") from None


StatusOpt = Annotated[str | None, typer.Option(help=f"One of {', '.join(STATUSES)}.")]
TopicOpt = Annotated[str | None, typer.Option(help="Original topic, e.g. mpp.requests.")]
ConsumerOpt = Annotated[str | None, typer.Option(help="Consumer that dead-lettered it, e.g. router.")]
ErrorClassOpt = Annotated[str | None, typer.Option("--error-class", help="e.g. PoisonMessage.")]


@dlq_app.command("list")
def dlq_list(
    status: StatusOpt = None,
    topic: TopicOpt = None,
    consumer: ConsumerOpt = None,
    error_class: ErrorClassOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Dead letters, newest first."""
    where = _filter(status, topic, consumer, error_class)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> service.Page:
        async with sessions() as session:
            return await service.list_dead_letters(session, where, limit=limit)

    page = _with_sessions(work)
    if not page.items:
        typer.echo("no dead letters")
    for row in page.items:
        where_from = f"{row.original_topic}[{row.original_partition}]@{row.original_offset}"
        typer.echo(
            f"{row.id:>6}  {row.status:11}  {row.dead_lettered_at:%Y-%m-%d %H:%M:%S}  {where_from:28} {row.consumer:12} "
            f"{row.error_class}: {mask_nik_like(row.error_message)[:80]}  (replays {row.replay_count})"
        )
    if page.next_cursor is not None:
        typer.echo(f"... more (older than id {page.next_cursor})")


@dlq_app.command("show")
def dlq_show(dead_letter_id: Annotated[int, typer.Argument(help="The dead letter's id.")]) -> None:
    """One dead letter: where it came from, why it failed, its headers, value and audit trail."""

    async def work(sessions: async_sessionmaker[AsyncSession]) -> tuple[DeadLetter, list[DeadLetterAudit]]:
        async with sessions() as session:
            row = await service.get_dead_letter(session, dead_letter_id)
            return row, await service.audit_trail(session, dead_letter_id)

    try:
        row, audit = _with_sessions(work)
    except service.DeadLetterNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    shown = show_bytes(row.value)
    lines = [
        f"dead letter {row.id}: {row.status}",
        f"from:        {row.original_topic}[{row.original_partition}]@{row.original_offset} (dlq {row.dlq_partition}@{row.dlq_offset})",
        f"consumer:    {row.consumer}, attempts {row.attempts}",
        f"error:       {row.error_class}: {mask_nik_like(row.error_message)}",
        f"correlation: {row.correlation_id}",
        f"at:          {row.dead_lettered_at.isoformat()}",
        f"replays:     {row.replay_count} (came in with dlq.replay.count={row.incoming_replay_count})",
        f"key:         {show_key(row.key)}",
        "headers:",
        *(f"  {name}: {mask_nik_like(value)}" for name, value in row.headers),
        f"value ({shown.encoding}):",
        f"  {_pretty(shown.text) if shown.encoding == 'json' else shown.text}",
        "audit:",
        *(f"  {e.at:%Y-%m-%d %H:%M:%S} {e.actor}: {e.action} -> {e.result}{': ' + e.detail if e.detail else ''}" for e in audit),
    ]
    typer.echo("\n".join(lines))


def _pretty(text: str | None) -> str:
    try:
        return json.dumps(json.loads(text or ""), indent=2, ensure_ascii=False).replace("\n", "\n  ")
    except ValueError:
        return text or ""


@dlq_app.command("replay")
def dlq_replay(
    dead_letter_id: Annotated[int | None, typer.Argument(help="The dead letter to replay (or --all).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter the filters select (new ones unless --status).")] = False,
    force: Annotated[bool, typer.Option(help="Also replay quarantined or resolved dead letters.")] = False,
    status: StatusOpt = None,
    topic: TopicOpt = None,
    consumer: ConsumerOpt = None,
    error_class: ErrorClassOpt = None,
) -> None:
    """Re-publish dead letters to their original topics through the outbox; every replay and refusal is audited."""
    actor = _actor()
    if (dead_letter_id is None) == (not all_):
        raise typer.BadParameter("give either a dead letter ID or --all")
    if dead_letter_id is not None:
        if any(v is not None for v in (status, topic, consumer, error_class)):
            raise typer.BadParameter("filters only go with --all")
        try:
            outcome = _with_sessions(lambda sessions: service.replay(sessions, dead_letter_id, actor=actor, force=force))
        except service.DeadLetterNotFound as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
        if not outcome.replayed:
            typer.echo(f"refused: {outcome.reason}", err=True)
            raise typer.Exit(2)
        typer.echo(f"dead letter {outcome.dead_letter_id} replayed (dlq.replay.count={outcome.header_count})")
        return
    where = _filter(status, topic, consumer, error_class)

    async def work(sessions: async_sessionmaker[AsyncSession]) -> service.BulkOutcome:
        ids = await service.matching_ids(sessions, where.for_bulk_replay())
        with Progress(
            TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("replay", total=len(ids), note="")

            def advance(result: service.ReplayOutcome) -> None:
                progress.update(task, advance=1, note=f"#{result.dead_letter_id} {'replayed' if result.replayed else 'refused'}")

            return await service.replay_many(sessions, where, actor=actor, force=force, progress=advance, ids=ids)

    bulk = _with_sessions(work)
    typer.echo(f"matched {bulk.matched}, replayed {bulk.replayed}, refused {bulk.refused}, skipped {bulk.skipped}")
    if bulk.refused:
        raise typer.Exit(2)


@dlq_app.command("resolve")
def dlq_resolve(
    dead_letter_id: Annotated[int, typer.Argument(help="The dead letter's id.")],
    note: Annotated[str | None, typer.Option(help="Why no replay is needed.")] = None,
) -> None:
    """Mark a dead letter as dealt with (audited); bulk replays leave it alone."""
    try:
        _with_sessions(lambda sessions: service.resolve(sessions, dead_letter_id, actor=_actor(), note=note))
    except service.DeadLetterNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"dead letter {dead_letter_id} resolved")
