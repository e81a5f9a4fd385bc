"""People and places change: what a new directory version changes for the petitions still open.

After ``petitionflow directory import``, ``notify_open`` (``petitionflow directory notify-open``)
looks at every open petition against the current directory and tells each one, through Temporal
(the ``directory_changed`` update), what changed for it, so its history records who was answerable
when:

- its village was merged or split away (the version's successor map, ``directory_successors``) or
  moved under another township: the path answering for it is the successor's (``RegionRenamed``);
  officials of that path may act on it from then on, beside those of the path it was filed with;
- its household's contact cadre was reassigned: ``ContactCadreChanged``; the new cadre acts as its
  cadre, the former one no longer does.

Petitions are asked once per version (update id ``directory-<version>-<petition id>``), and the
rules record only what differs, so running it again changes nothing. Tokens the roster no longer
backs (an official who left or moved office) are revoked on the way (``auth.revoke_unlisted_tokens``).
The rules stay pure: the directory is read here and the answer passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.service import RPCError, RPCStatusCode

from petitionflow.client import PetitionClient, Refusal
from schemas.commands import DirectoryChangeInput
from schemas.common import SYSTEM, PersonId, RegionId, RegionPath
from store import auth, lookup
from store._db import Db


@dataclass
class Notified:
    """What ``notify_open`` did."""

    version: int | None
    """The directory version the petitions were told of; None: no directory is imported."""
    changed: dict[str, list[str]] = field(default_factory=dict)
    """Petition id → the events it was told to record (``RegionRenamed``, ``ContactCadreChanged``)."""
    unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    """Petition id → why it was not told (finished meanwhile, its village is not in the directory)."""
    revoked: list[PersonId] = field(default_factory=list)
    """People whose tokens the roster no longer backs."""


def successor(village: RegionId, successors: dict[RegionId, RegionId]) -> RegionId:
    """Where ``village`` went, following the successor map to its end (a cycle stops it)."""
    seen = {village}
    while (after := successors.get(village)) is not None and after not in seen:
        seen.add(after)
        village = after
    return village


async def change_for(
    db: Db, petition: lookup.OpenPetition, *, version: int, successors: dict[RegionId, RegionId]
) -> DirectoryChangeInput | str | None:
    """What directory ``version`` changes for ``petition``: the change to send, None when nothing
    changes, or why it cannot be placed (a str)."""
    village = successor(petition.answering.village, successors)
    path: RegionPath | None = await lookup.village_path(db, village, version=version)
    if path is None:
        return f"village {village} is not in directory version {version} and has no successor there"
    answering = None if path == petition.answering else path
    cadre: PersonId | None = None
    home = await lookup.household(db, petition.petitioner_id, version=version)
    if home is not None:  # a walk-in keeps the duty cadre it was filed with
        now = home.cadre_id or await lookup.duty_cadre(db, home.path.village, version=version)
        cadre = now if now is not None and now != petition.contact_cadre_id else None
    if answering is None and cadre is None:
        return None
    return DirectoryChangeInput(
        actor=SYSTEM, directory_version=version, answering=answering, contact_cadre_id=cadre
    )


async def notify_open(db: Db, petitions: PetitionClient) -> Notified:
    """Tell every open petition what the current directory changes for it (see the module)."""
    version = await lookup.current_version(db)
    notified = Notified(version=version)
    if version is None:
        return notified
    notified.revoked = await auth.revoke_unlisted_tokens(db)
    successors = await lookup.successors(db, version=version)
    for petition in await lookup.open_petitions(db):
        change = await change_for(db, petition, version=version, successors=successors)
        if change is None:
            notified.unchanged += 1
            continue
        if isinstance(change, str):
            notified.skipped[petition.petition_id] = change
            continue
        try:
            await petitions.directory_changed(
                petition.petition_id, change, request_id=f"directory-{version}-{petition.petition_id}"
            )
        except Refusal as refusal:
            notified.skipped[petition.petition_id] = refusal.reason
            continue
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            notified.skipped[petition.petition_id] = "its workflow has ended"
            continue
        notified.changed[petition.petition_id] = [
            kind
            for kind, value in (
                ("RegionRenamed", change.answering),
                ("ContactCadreChanged", change.contact_cadre_id),
            )
            if value is not None
        ]
    return notified
