"""CLI commands on petitions: file, act, show, list, echo-wall, report."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from petitionflow import intake
from petitionflow.api.filing import category_problem, resolve_intake
from petitionflow.catalogue import Catalogue
from petitionflow.cli._support import (
    database,
    emit_json,
    explain_validation,
    fail,
    out,
    percent,
    petitions,
    policy_in_force,
    run,
    table,
)
from petitionflow.intake import FilingBody
from petitionflow.regions import SAMPLE
from schemas.commands import ACTION_TYPES
from schemas.common import Actor, Channel, Proof, Relay, Role, Stage, Tier, Urgency
from schemas.offices import About
from schemas.state import PetitionState
from store import auth, offices
from store.models import FigureGroup
from workflows.lifecycle import holding_office

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(app: typer.Typer) -> None:
    app.command("file")(file_petition)
    app.command("act")(act)
    app.command("show")(show)
    app.command("list")(list_petitions)
    app.command("echo-wall")(echo_wall)
    app.command("report")(report)


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        return json.loads(text)
    except OSError as error:
        fail(f"cannot read {source}: {error.strerror}")
    except json.JSONDecodeError as error:
        fail(f"{source} is not JSON: {error}")


def file_petition(
    source: Annotated[
        str | None, typer.Option("--from", help="A filing body as JSON (no policy): a file, or - for stdin.")
    ] = None,
    petition_id: Annotated[
        str | None, typer.Option("--id", help="Idempotency key; a new one if not given.")
    ] = None,
    petitioner_id: Annotated[str | None, typer.Option(help="The household's id.")] = None,
    name: Annotated[str | None, typer.Option(help="The petitioner's name (kept apart from events).")] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    village: Annotated[
        str | None, typer.Option(help="The village (a walk-in's, when --petitioner-id is no household).")
    ] = None,
    township: Annotated[str | None, typer.Option()] = None,
    county: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str, typer.Option()] = "other",
    channel: Annotated[Channel, typer.Option()] = Channel.HOTLINE,
    cadre: Annotated[
        str | None, typer.Option(help="The household's contact cadre (the directory's, once imported).")
    ] = None,
    urgent: Annotated[bool, typer.Option(help="File on the urgent schedule.")] = False,
    centre: Annotated[
        str | None,
        typer.Option(help="File through this centre: the petition waits in stage dispatch, held by it."),
    ] = None,
    about: Annotated[
        About | None,
        typer.Option(
            help="A complaint about the household's contact cadre or village office: they are recused."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """File a petition. Filing the same --id again starts nothing new.

    The policy is the deployment's (PETITIONFLOW_POLICY_FILE, or the defaults): a --from body
    carrying one is refused. Once a directory is imported, --petitioner-id (the household) gives the
    region and the contact cadre; a walk-in gives --village (its duty cadre becomes the contact)."""
    policy = policy_in_force()
    if source is not None:
        raw = _read_json(source)
    else:
        raw = {
            "petition_id": petition_id or f"p-{uuid.uuid4().hex[:12]}",
            "petitioner": {"petitioner_id": petitioner_id, "name": name, "phone": phone},
            **(
                {"region": {"village": village, "township": township, "county": county, "city": city}}
                if township or county or city
                else {"village_id": village}
            ),
            "description": description,
            "channel": channel,
            "category": category,
            **({"contact_cadre_id": cadre} if cadre else {}),
            "urgency": Urgency.URGENT if urgent else Urgency.NORMAL,
        }
    if about is not None:
        raw["about"] = about
    try:
        body = FilingBody.model_validate(raw)
    except ValidationError as error:
        fail("invalid petition\n" + explain_validation(error))
    if (problem := category_problem(Catalogue(), body.category)) is not None:
        fail(f"invalid petition\n  category: {problem}")

    async def go() -> tuple[bool, PetitionState]:
        async with database() as pool:
            try:
                placed = await intake.place(pool, body, fallback=SAMPLE)
            except intake.FilingProblem as problem:
                fail(f"invalid petition\n  {problem}")
            filing = placed.filing(policy)
            if centre is not None or filing.about is not None:
                tier = filing.tier
                if centre is not None:
                    try:
                        found, _ = await offices.office(pool, centre)
                        tier = found.tier
                    except offices.UnknownOffice:
                        tier = filing.tier if "tier" in raw else Tier.COUNTY
                filing = filing.model_copy(update={"tier": tier})
                key = auth.ServiceKey(name="cli", tier=tier, centre_id=centre)
                try:
                    filing = await resolve_intake(pool, filing, key)
                except RequestValidationError as error:
                    fail(
                        "invalid petition\n"
                        + "\n".join(f"  {e['loc'][-1]}: {e['msg']}" for e in error.errors())
                    )
        async with petitions() as client:
            filed = await client.file(filing)
            return filed.created, await client.view(filing.petition_id)

    created, view = run(go)
    if as_json:
        emit_json({"created": created, "petition": view.model_dump(mode="json")})
        return
    verb = "filed" if created else "already filed"
    out.print(
        f"{verb} {view.petition_id}: {view.tier} tier, stage {view.stage}, respond by {view.respond_by}"
    )


def _actor(
    official: str | None, cadre: str | None, petitioner: str | None, tier: Tier | None, region: str | None
) -> Actor:
    chosen = [
        name
        for name, value in (("--official", official), ("--cadre", cadre), ("--petitioner", petitioner))
        if value
    ]
    if len(chosen) != 1:
        fail(
            "say who acts: exactly one of --official ID (with --tier and --region), "
            "--cadre ID (with --region), or --petitioner ID"
        )
    try:
        if official:
            return Actor(role=Role.OFFICIAL, id=official, tier=tier, region_id=region)
        if cadre:
            return Actor(role=Role.CONTACT_CADRE, id=cadre, tier=Tier.VILLAGE, region_id=region)
        return Actor(role=Role.PETITIONER, id=petitioner or "")
    except ValidationError as error:
        fail("invalid actor\n" + explain_validation(error))


def _with_office(actor: Actor, office: str) -> Actor:
    try:
        return Actor.model_validate({**actor.model_dump(), "office_id": office})
    except ValidationError as error:
        fail("invalid actor\n" + explain_validation(error))


def _token_holder(token: str) -> Actor:
    async def go() -> Actor | None:
        async with database() as pool:
            return await auth.authenticate(pool, token)

    actor = run(go)
    if actor is None:
        fail("the token is unknown, revoked or expired")
    return actor


def _fields(pairs: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--field takes name=value, not {pair!r}")
        fields[key] = {"true": True, "false": False}.get(value.lower(), value)
    return fields


def act(
    petition_id: Annotated[str, typer.Argument()],
    verb: Annotated[str, typer.Argument(help=", ".join(ACTION_TYPES))],
    official: Annotated[
        str | None, typer.Option(help="Act as this official (needs --tier, --region).")
    ] = None,
    cadre: Annotated[str | None, typer.Option(help="Act as this contact cadre (needs --region).")] = None,
    petitioner: Annotated[str | None, typer.Option(help="Act as this petitioner.")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="PETITIONFLOW_TOKEN", help="An official's token: it fixes who acts."),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option(
            help="Who runs this command: required without --token (acting straight through Temporal "
            "is an operator's act), recorded in the event."
        ),
    ] = None,
    tier: Annotated[Tier | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="The region the official serves at --tier.")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", "-f", help="name=value of the action, repeatable.")
    ] = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            help="Temporal update id: applied once within the petition's current run (the HTTP "
            "API's Idempotency-Key holds across runs)."
        ),
    ] = None,
    office: Annotated[
        str | None, typer.Option(help="The office --official serves, when not their region's government.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send an action. Exit 1 with the rule's reason when it is refused, 2 on bad input.

    Without --token this goes straight to Temporal as whoever --official/--cadre/--petitioner names:
    an operator's command, so --operator NAME is required and recorded in the event.

    dispatch takes -f office_id=OFFICE (a directory office, or <tier>:<region> for a region's
    government), summon -f office_ids=A,B; both are resolved from the directory with their chains."""
    verb = verb.replace("-", "_")
    action_type = ACTION_TYPES.get(verb)
    if action_type is None:
        fail(f"unknown action {verb!r}; one of: {', '.join(ACTION_TYPES)}")
    if not token and not operator:
        fail(
            "say who operates: --operator NAME is required without --token (acting straight "
            "through Temporal is an operator's command, and the event records the operator)"
        )
    actor = _token_holder(token) if token else _actor(official, cadre, petitioner, tier, region)
    if office is not None and not token:
        actor = _with_office(actor, office)
    if operator:
        try:
            actor = actor.relayed(Relay(proof=Proof.OPERATOR, operator=operator))
        except ValidationError as error:
            fail("invalid operator\n" + explain_validation(error))
    fields = _fields(field or [])

    async def go() -> PetitionState:
        async with petitions() as client:
            given = fields
            if verb in offices.OFFICE_FIELDS:
                region = (await client.view(petition_id)).region
                async with database() as pool:
                    try:
                        given = await offices.command_fields(pool, verb, fields, region)
                    except offices.UnknownOffice as unknown:
                        fail(f"invalid {verb}\n  {offices.OFFICE_FIELDS[verb][0]}: {unknown}")
            try:
                action = action_type.model_validate({**given, "actor": actor})
            except ValidationError as error:
                fail(f"invalid {verb}\n" + explain_validation(error))
            return await client.act(petition_id, action, request_id=request_id)  # type: ignore[arg-type]

    view = run(go)
    if as_json:
        emit_json(view)
    else:
        out.print(
            f"{verb}: {view.petition_id} is now at the {view.tier} tier, stage {view.stage} (seq {view.seq})"
        )


def show(petition_id: Annotated[str, typer.Argument()], as_json: JsonFlag = False) -> None:
    """The petition as its workflow holds it now."""

    async def go() -> PetitionState:
        async with petitions() as client:
            return await client.view(petition_id)

    view = run(go)
    if as_json:
        emit_json(view)
        return
    rows = [
        ("tier", view.tier),
        ("office", holding_office(view).office_id),
        ("stage", view.stage),
        ("tiers visited", " → ".join(view.tiers_visited)),
        ("category", view.category),
        ("urgency", view.urgency),
        ("respond by", view.respond_by),
        ("resolve by", view.resolve_by),
        ("overdue", ", ".join(view.overdue) or "no"),
        ("acknowledged by", view.acknowledged_by),
        ("resolution", view.resolution and f"{view.resolution.outcome}: {view.resolution.public_summary}"),
        ("rating", view.rating),
        ("closed", view.closed_reason),
        ("events", view.seq),
    ]
    table(f"petition {view.petition_id}", ["", ""], rows)


def list_petitions(
    tier: Annotated[Tier | None, typer.Option()] = None,
    stage: Annotated[Stage | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option(help="Any village, township, county or city id.")] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue")] = None,
    official: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    after: Annotated[str | None, typer.Option(help="The last id of the previous page.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Petitions from the read model."""

    async def go() -> list[Any]:
        async with petitions(read_model=True) as client:
            return await client.list_petitions(
                tier=tier,
                stage=stage,
                region_id=region,
                overdue=overdue,
                official_id=official,
                limit=limit,
                after=after,
            )

    rows = run(go)
    if as_json:
        emit_json(rows)
        return
    table(
        f"{len(rows)} petition(s)",
        ["id", "tier", "stage", "category", "overdue", "deadline", "official"],
        [
            (
                r.petition_id,
                r.tier,
                r.stage,
                r.category,
                "yes" if r.overdue else "",
                r.current_deadline,
                r.acknowledged_by,
            )
            for r in rows
        ],
    )


def echo_wall(
    region: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[Tier | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The public board: how each petition was answered, by which tier, how fast."""

    async def go() -> list[Any]:
        async with petitions(read_model=True) as client:
            return await client.echo_wall(region_id=region, tier=tier, limit=limit)

    entries = run(go)
    if as_json:
        emit_json(entries)
        return
    table(
        "echo wall",
        ["petition", "village", "tier", "category", "outcome", "answer", "days", "on time", "rating"],
        [
            (
                e.petition_id,
                e.village_id,
                e.tier,
                e.category,
                e.outcome,
                e.public_summary,
                f"{e.days_to_resolve:.1f}",
                "yes" if e.on_time else "no",
                e.rating,
            )
            for e in entries
        ],
    )


def report(
    by: Annotated[
        FigureGroup, typer.Option(help="Group the figures by tier, region, official or office.")
    ] = FigureGroup.TIER,
    tier: Annotated[Tier | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    official: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """The figures governments are judged on."""

    async def go() -> list[Any]:
        async with petitions(read_model=True) as client:
            return await client.figures(by, tier=tier, region_id=region, official_id=official)

    rows = run(go)
    if as_json:
        emit_json(rows)
        return
    table(
        f"figures by {by.value}",
        [
            by.value,
            "petitions",
            "response",
            "resolution",
            "on time",
            "satisfaction",
            "escalation",
            "reopen",
            "missed",
        ],
        [
            (
                r.group or "(none)",
                r.petitions,
                percent(r.response_rate),
                percent(r.resolution_rate),
                percent(r.on_time_rate),
                percent(r.satisfaction_rate),
                percent(r.escalation_rate),
                percent(r.reopen_rate),
                r.deadlines_missed,
            )
            for r in rows
        ],
    )
    if by is FigureGroup.OFFICE:
        table(
            "dispatch, receipt, send-back and summons by office",
            [
                "office",
                "kind",
                "dispatched",
                "avg dispatch",
                "received",
                "timely receipt",
                "sent back",
                "summons in time",
            ],
            [
                (
                    r.group or "(none)",
                    r.office.office_kind,
                    r.office.dispatched,
                    "-"
                    if r.office.average_dispatch_minutes is None
                    else f"{r.office.average_dispatch_minutes:.1f} min",
                    r.office.received,
                    percent(r.office.timely_receipt_rate),
                    percent(r.office.send_back_rate),
                    percent(r.office.summons_on_time_rate),
                )
                for r in rows
                if r.office is not None
            ],
        )
