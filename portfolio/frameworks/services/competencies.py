"""Competencies: one competency's relations and fields for its pages, its public address,
adding, changing and deleting one (with what is listed only below it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update

from portfolio.accounts.models import User
from portfolio.core import audit
from portfolio.core.errors import DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework, RubricElement
from portfolio.frameworks.services.frameworks import framework_org, refuse_if_in_use, require_admin
from portfolio.frameworks.services.tree import is_child_of

#: How an association reads from its origin, and from its destination.
ASSOCIATION_LABELS: dict[str, tuple[str, str]] = {
    "isChildOf": ("Listed under", "Has below it"),
    "isPeerOf": ("Peer of", "Peer of"),
    "isPartOf": ("Part of", "Has part"),
    "exactMatchOf": ("Exact match of", "Exact match of"),
    "precedes": ("Comes before", "Comes after"),
    "isRelatedTo": ("Related to", "Related to"),
    "replacedBy": ("Replaced by", "Replaces"),
    "exemplar": ("Exemplar", "Exemplar of"),
    "hasSkillLevel": ("Has skill level", "Skill level of"),
}
#: CFItem fields shown on a competency's page, in this order, with their labels.
ITEM_FIELDS: tuple[tuple[str, str], ...] = (
    ("abbreviatedStatement", "Short statement"),
    ("alternativeLabel", "Alternative label"),
    ("listEnumeration", "List number"),
    ("educationLevel", "Education level"),
    ("conceptKeywords", "Keywords"),
    ("language", "Language"),
    ("statusStartDate", "Valid from"),
    ("statusEndDate", "Valid until"),
)


@dataclass
class Relation:
    """One association as a competency's page shows it."""

    label: str
    kind: str
    #: The other end when it is a competency of the framework.
    competency: Competency | None
    #: Otherwise its title and URI as the package named them.
    title: str
    uri: str


def competency_relations(comp: Competency) -> list[Relation]:
    """The competency's associations other than its own place in the tree, both directions
    (related items, exact matches, sequence, further parents...), external ones as URIs."""
    rows = db.session.scalars(
        select(CompetencyAssociation)
        .where(
            (CompetencyAssociation.origin_id == comp.id)
            | (CompetencyAssociation.destination_id == comp.id)
        )
        .order_by(CompetencyAssociation.id)
    )
    out = []
    for a in rows:
        outgoing = a.origin_id == comp.id
        labels = ASSOCIATION_LABELS.get(a.association_type, (a.association_type,) * 2)
        other = a.destination if outgoing else a.origin
        ref = a.destination_ref if outgoing else a.origin_ref
        if a.association_type == "isChildOf":
            if outgoing and other is not None and other.id == comp.parent_id:
                continue
            if not outgoing and a.origin is not None and a.origin.parent_id == comp.id:
                continue
            if (
                outgoing
                and other is None
                and ref.get("identifier") == comp.framework.case_identifier
            ):
                if comp.parent_id is None:
                    continue
                out.append(Relation(labels[0], a.association_type, None, "the top level", ""))
                continue
        out.append(
            Relation(
                labels[0] if outgoing else labels[1],
                a.association_type,
                other,
                ref.get("title") or ref.get("identifier", ""),
                ref.get("uri", ""),
            )
        )
    return out


def item_fields(comp: Competency) -> list[tuple[str, str]]:
    """The imported CFItem fields worth showing, as (label, text)."""
    extra = comp.case_extra or {}
    shown = []
    for key, label in ITEM_FIELDS:
        value = extra.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if isinstance(value, str) and value:
            shown.append((label, value))
    return shown


def competency_url(comp: Competency) -> str:
    """Where a competency is described for outsiders (an alignment's target): its own CASE URI
    when that is a web address, else its public page here."""
    if comp.case_uri.startswith(("https://", "http://")):
        return comp.case_uri
    return public_url(
        "frameworks.public_competency", fid=comp.framework.public_id, cid=comp.public_id
    )


def get_public_framework(public_id: str) -> Framework:
    """Any framework by public id (competency pages are public), or `NotFound`."""
    fw = None
    if is_public_id(public_id):
        fw = db.session.scalar(select(Framework).where(Framework.public_id == public_id))
    if fw is None:
        raise NotFound("No such framework.")
    return fw


def get_competency(fw: Framework, public_id: str) -> Competency:
    """A competency of this framework, or `NotFound`."""
    comp = db.session.scalar(
        select(Competency).where(
            Competency.public_id == public_id, Competency.framework_id == fw.id
        )
    )
    if comp is None:
        raise NotFound("No such competency in this framework.")
    return comp


def add_competency(
    actor: User,
    fw: Framework,
    *,
    statement: str,
    code: str = "",
    description: str = "",
    parent: Competency | None = None,
) -> Competency:
    """Add a competency under `parent` (or at the top level), after its siblings."""
    require_admin(actor, framework_org(fw.organization_id))
    statement = statement.strip()
    if not statement:
        raise DomainError("A competency needs a statement.")
    if parent is not None and parent.framework_id != fw.id:
        raise DomainError("The parent competency belongs to another framework.")
    parent_id = parent.id if parent is not None else None
    last = db.session.scalar(
        select(func.max(Competency.position)).where(
            Competency.framework_id == fw.id,
            Competency.parent_id.is_(None)
            if parent_id is None
            else Competency.parent_id == parent_id,
        )
    )
    comp = Competency(
        framework=fw,
        parent_id=parent_id,
        code=clean_text(code, 60),
        statement=statement,
        description=description.strip(),
        position=(last or 0) + 1,
    )
    db.session.add(comp)
    db.session.flush()
    audit.record(
        "competency.create",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="competency",
        subject_id=comp.public_id,
    )
    return comp


def update_competency(
    actor: User, comp: Competency, *, statement: str, code: str, description: str
) -> None:
    """Change a competency's code, statement and description."""
    require_admin(actor, framework_org(comp.framework.organization_id))
    if not statement.strip():
        raise DomainError("A competency needs a statement.")
    comp.statement, comp.code = statement.strip(), clean_text(code, 60)
    comp.description = description.strip()
    audit.record(
        "competency.update",
        actor_id=actor.id,
        organization_id=comp.framework.organization_id,
        subject_type="competency",
        subject_id=comp.public_id,
    )


def delete_competency(actor: User, comp: Competency) -> int:
    """Delete a competency and what is listed only below it; return how many were deleted.

    A competency below it that is also listed under another parent that stays (CASE items may
    have several) is kept and moved under that parent, with everything below it. Refused, with
    nothing changed, when a published rubric or a credential uses one of those to be deleted.
    """
    require_admin(actor, framework_org(comp.framework.organization_id))
    fw = comp.framework
    #: Every parent of each competency: its `parent_id`, and those its isChildOf rows name
    #: (None for the top level); (parent, sequence number) in the order they were given.
    parents: dict[int, list[tuple[int | None, int]]] = {}
    for cid, pid, position in db.session.execute(
        select(Competency.id, Competency.parent_id, Competency.position).where(
            Competency.framework_id == fw.id
        )
    ):
        parents[cid] = [(pid, position)]
    for origin_id, dest_id, data in db.session.execute(
        select(
            CompetencyAssociation.origin_id,
            CompetencyAssociation.destination_id,
            CompetencyAssociation.case_data,
        ).where(*is_child_of(fw), CompetencyAssociation.origin_id.is_not(None))
    ):
        if origin_id not in parents:
            continue
        if dest_id is None:
            dest = data.get("destinationNodeURI") or {}
            if dest.get("identifier") != fw.case_identifier:
                continue  # a parent outside the framework does not place it here
        seq = data.get("sequenceNumber")
        if all(p != dest_id for p, _ in parents[origin_id]):
            parents[origin_id].append((dest_id, seq if isinstance(seq, int) else 0))
    children: dict[int, list[int]] = {}
    for cid, ps in parents.items():
        for pid, _ in ps:
            if pid is not None:
                children.setdefault(pid, []).append(cid)
    # A competency goes when every parent it has goes: a count of the live parents of each.
    alive = {cid: len(ps) for cid, ps in parents.items()}
    doomed = {comp.id}
    todo = [comp.id]
    while todo:
        for child in children.get(todo.pop(), []):
            alive[child] -= 1
            if alive[child] == 0 and child not in doomed:
                doomed.add(child)
                todo.append(child)
    refuse_if_in_use(doomed, "competency (or one below it)")
    moved = [
        (cid, next((p, seq) for p, seq in ps if p not in doomed))
        for cid, ps in parents.items()
        if cid not in doomed and ps[0][0] in doomed
    ]
    audit.record(
        "competency.delete",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="competency",
        subject_id=comp.public_id,
        deleted=len(doomed),
        moved=len(moved),
    )
    if moved:
        db.session.execute(
            update(Competency),
            [{"id": cid, "parent_id": pid, "position": seq} for cid, (pid, seq) in moved],
        )
    # The links of what goes, then what goes: in that order, so no row is left pointing at a
    # deleted competency whichever database enforces what.
    db.session.execute(
        delete(CompetencyAssociation).where(
            CompetencyAssociation.origin_id.in_(doomed)
            | CompetencyAssociation.destination_id.in_(doomed)
        )
    )
    db.session.execute(
        update(RubricElement)
        .where(RubricElement.competency_id.in_(doomed))
        .values(competency_id=None)
    )
    db.session.execute(update(Competency).where(Competency.id.in_(doomed)).values(parent_id=None))
    db.session.execute(delete(Competency).where(Competency.id.in_(doomed)))
    db.session.expire_all()
    return len(doomed)
