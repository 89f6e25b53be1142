"""Rules for frameworks, competencies and rubrics: who may change what, and versioning.

Every change goes through a function here that takes the acting user. A rubric version is
immutable once `is_version_locked` says so; changing a locked rubric starts a new draft version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, delete, func, literal, select, update
from sqlalchemy.orm import defer

from portfolio.accounts.models import Organization, Role, User
from portfolio.accounts.services import require_role
from portfolio.core import audit
from portfolio.core.db import utcnow
from portfolio.core.errors import Conflict, DomainError, NotFound
from portfolio.core.ids import is_public_id
from portfolio.core.sanitize import clean_text
from portfolio.core.urls import public_url
from portfolio.extensions import db
from portfolio.frameworks.models import (
    Competency,
    CompetencyAssociation,
    Framework,
    Rubric,
    RubricCell,
    RubricElement,
    RubricLevel,
    RubricVersion,
)

#: Levels a new rubric starts with: name and points, lowest first.
DEFAULT_LEVELS: tuple[tuple[str, int], ...] = (
    ("Not yet", 0),
    ("Developing", 1),
    ("Meets", 2),
    ("Exceeds", 3),
)
MAX_ELEMENTS = 50
MAX_LEVELS = 10


def require_admin(actor: User, org: Organization) -> None:
    """Only the organization's admins change its frameworks, rubrics and credentials."""
    require_role(actor, org, Role.ADMIN)


# -- frameworks ----------------------------------------------------------------------------
def list_frameworks(org: Organization) -> list[Framework]:
    """The organization's frameworks by title."""
    return list(
        db.session.scalars(
            select(Framework).where(Framework.organization_id == org.id).order_by(Framework.title)
        )
    )


def get_framework(org: Organization, public_id: str) -> Framework:
    """A framework of this organization, or `NotFound` (also for another org's framework)."""
    fw = None
    if is_public_id(public_id):
        fw = db.session.scalar(
            select(Framework).where(
                Framework.public_id == public_id, Framework.organization_id == org.id
            )
        )
    if fw is None:
        raise NotFound("No such framework in this organization.")
    return fw


def create_framework(
    actor: User,
    org: Organization,
    *,
    title: str,
    version: str = "",
    description: str = "",
    source_url: str = "",
) -> Framework:
    """Create an empty framework."""
    require_admin(actor, org)
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A framework needs a title.")
    fw = Framework(
        organization_id=org.id,
        title=title,
        version=clean_text(version, 60),
        description=description.strip(),
        source_url=source_url.strip()[:1000],
    )
    db.session.add(fw)
    db.session.flush()
    audit.record(
        "framework.create",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="framework",
        subject_id=fw.public_id,
    )
    return fw


def update_framework(
    actor: User, fw: Framework, *, title: str, version: str, description: str, source_url: str
) -> None:
    """Change a framework's title, version label, description and source URL."""
    require_admin(actor, _org(fw.organization_id))
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A framework needs a title.")
    fw.title, fw.version = title, clean_text(version, 60)
    fw.description, fw.source_url = description.strip(), source_url.strip()[:1000]
    audit.record(
        "framework.update",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="framework",
        subject_id=fw.public_id,
    )


def refuse_if_in_use(competency_ids: set[int], what: str) -> None:
    """Published rubric versions and credentials (and so issued badges) point at competencies:
    deleting one would silently change what they say. The refusal names what uses them."""
    if not competency_ids:
        return
    rubric_titles = list(
        db.session.scalars(
            select(Rubric.title)
            .join(RubricVersion, RubricVersion.rubric_id == Rubric.id)
            .join(RubricElement, RubricElement.version_id == RubricVersion.id)
            .where(
                RubricElement.competency_id.in_(competency_ids),
                RubricVersion.published_at.is_not(None),
            )
            .distinct()
            .order_by(Rubric.title)
        )
    )
    # By table name: credentials belong to a later package than frameworks.
    alignments = db.metadata.tables["credential_alignments"]
    credentials = db.metadata.tables["credentials"]
    credential_names = list(
        db.session.scalars(
            select(credentials.c.name)
            .join(alignments, alignments.c.credential_id == credentials.c.id)
            .where(alignments.c.competency_id.in_(competency_ids))
            .distinct()
            .order_by(credentials.c.name)
        )
    )
    if rubric_titles or credential_names:
        users = [f"the published rubric “{t}”" for t in rubric_titles[:3]]
        users += [f"the credential “{n}”" for n in credential_names[:3]]
        more = len(rubric_titles[3:]) + len(credential_names[3:])
        named = ", ".join(users) + (f" and {more} more" if more else "")
        raise DomainError(
            f"This {what} is used by {named}, so deleting it would change what they (and "
            "badges already issued) say. Nothing was deleted. Remove it from them first."
        )


def delete_framework(actor: User, fw: Framework) -> None:
    """Delete a framework, its competencies and their links (not while published work uses
    them). Written in a few statements: a framework of 10,000 items, or a chain 1,200 deep,
    is not deleted row by row."""
    require_admin(actor, _org(fw.organization_id))
    ids = set(db.session.scalars(select(Competency.id).where(Competency.framework_id == fw.id)))
    refuse_if_in_use(ids, "framework")
    audit.record(
        "framework.delete",
        actor_id=actor.id,
        organization_id=fw.organization_id,
        subject_type="framework",
        subject_id=fw.public_id,
        title=fw.title,
    )
    db.session.execute(
        delete(CompetencyAssociation).where(CompetencyAssociation.framework_id == fw.id)
    )
    if ids:
        db.session.execute(
            update(RubricElement)
            .where(RubricElement.competency_id.in_(ids))
            .values(competency_id=None)
        )
    db.session.execute(update(Rubric).where(Rubric.framework_id == fw.id).values(framework_id=None))
    db.session.execute(
        update(Competency).where(Competency.framework_id == fw.id).values(parent_id=None)
    )
    db.session.execute(delete(Competency).where(Competency.framework_id == fw.id))
    db.session.expire(fw, ["competencies", "associations"])
    db.session.delete(fw)
    db.session.flush()


def _org(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        raise NotFound("No such organization.")
    return org


def competency_tree(
    fw: Framework, competencies: list[Competency] | None = None
) -> list[tuple[Competency, int]]:
    """Every competency of the framework once, in reading order, with its depth (0 = top
    level), placed under its `parent_id`.

    Built with an explicit stack in linear time, so a chain thousands of levels deep needs no
    recursion. A competency not reachable from the top (it cannot happen through the services,
    but a tree is never trusted to be one) is listed at the end at depth 0.
    """
    if competencies is None:
        competencies = fw.competencies
    children: dict[int | None, list[Competency]] = {}
    for c in competencies:
        children.setdefault(c.parent_id, []).append(c)
    for siblings in children.values():
        siblings.sort(key=lambda c: (c.position, c.id or 0))
    out: list[tuple[Competency, int]] = []
    seen: set[int] = set()
    stack: list[tuple[Competency, int]] = [(c, 0) for c in reversed(children.get(None, []))]
    while stack:
        comp, depth = stack.pop()
        if comp.id in seen:
            continue
        seen.add(comp.id)
        out.append((comp, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(comp.id, [])))
    out.extend((c, 0) for c in competencies if c.id not in seen)
    return out


#: How many competencies one branch of the tree shows at a time.
TREE_PAGE_SIZE = 100
#: Deeper than any framework can be (a CASE import takes at most this many items).
MAX_DEPTH = 50_000


@dataclass
class TreeNode:
    """One competency as a branch of the tree lists it."""

    competency: Competency
    #: How many competencies are listed directly below it (under it as any of their parents).
    below: int
    #: Listed here under a further parent (CASE items may have several); it is listed, with
    #: everything below it, under each of them.
    is_also_here: bool = False


@dataclass
class TreeBranch:
    """One page of the competencies directly below `parent` (the top level when None)."""

    parent: Competency | None
    nodes: list[TreeNode]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


def _is_child_of(fw: Framework) -> tuple[ColumnElement[bool], ...]:
    return (
        CompetencyAssociation.framework_id == fw.id,
        CompetencyAssociation.association_type == "isChildOf",
    )


def count_below(fw: Framework, ids: list[int]) -> dict[int, int]:
    """How many competencies are listed directly below each of `ids`: those it is the
    `parent_id` of, and those that name it as a further parent. Two grouped queries."""
    if not ids:
        return {}
    counts: dict[int, int] = dict.fromkeys(ids, 0)
    # `ids` are competencies of `fw`: no framework condition, so the parent and destination
    # indexes are used (with it, SQLite reads every association of the framework).
    primary = db.session.execute(
        select(Competency.parent_id, func.count(Competency.id))
        .where(Competency.parent_id.in_(ids))
        .group_by(Competency.parent_id)
    )
    for parent_id, n in primary:
        if parent_id is not None:
            counts[parent_id] += n
    further = db.session.execute(
        select(
            CompetencyAssociation.destination_id,
            func.count(func.distinct(CompetencyAssociation.origin_id)),
        )
        .join(Competency, Competency.id == CompetencyAssociation.origin_id)
        .where(
            CompetencyAssociation.association_type == "isChildOf",
            CompetencyAssociation.destination_id.in_(ids),
            Competency.parent_id.is_(None)
            | (Competency.parent_id != CompetencyAssociation.destination_id),
        )
        .group_by(CompetencyAssociation.destination_id)
    )
    for dest_id, n in further:
        if dest_id is not None:
            counts[dest_id] += n
    return counts


def tree_branch(
    fw: Framework, parent: Competency | None, *, page: int = 1, per_page: int = TREE_PAGE_SIZE
) -> TreeBranch:
    """The competencies directly below `parent` (or at the top level), in CASE order, one page
    at a time: those placed under it by `parent_id`, and those that name it as a further parent
    (`isChildOf` associations). A framework page shows the tree a branch at a time, so its cost
    does not grow with the size of the framework, nor with its depth.

    Only the keys of the siblings are read to order them; whole rows only for the page shown.
    """
    parent_id = parent.id if parent is not None else None
    keys: dict[int, tuple[int, int, bool]] = {}
    placed = db.session.execute(
        select(Competency.id, Competency.position).where(
            (Competency.framework_id == fw.id) & Competency.parent_id.is_(None)
            if parent_id is None
            else Competency.parent_id == parent_id
        )
    )
    for cid, position in placed:
        keys[cid] = (position, cid, False)
    further = select(CompetencyAssociation.origin_id, CompetencyAssociation.case_data).join(
        Competency, Competency.id == CompetencyAssociation.origin_id
    )
    if parent_id is None:
        # Under the CFDocument as a further parent: only items placed elsewhere need a look.
        further = further.where(
            *_is_child_of(fw),
            CompetencyAssociation.destination_id.is_(None),
            Competency.parent_id.is_not(None),
        )
    else:
        further = further.where(
            CompetencyAssociation.association_type == "isChildOf",
            CompetencyAssociation.destination_id == parent_id,
            Competency.parent_id.is_(None) | (Competency.parent_id != parent_id),
        )
    for origin_id, data in db.session.execute(further):
        if origin_id in keys:
            continue
        if parent_id is None:
            dest = data.get("destinationNodeURI") or {}
            if dest.get("identifier") != fw.case_identifier:  # a parent outside the package
                continue
        seq = data.get("sequenceNumber")
        keys[origin_id] = (seq if isinstance(seq, int) else 0, origin_id, True)
    ordered = sorted(keys.values())
    total = len(ordered)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    shown = ordered[(page - 1) * per_page : page * per_page]
    ids = [cid for _, cid, _ in shown]
    rows = (
        {
            c.id: c
            for c in db.session.scalars(
                select(Competency)
                .where(Competency.id.in_(ids))
                .options(defer(Competency.case_extra), defer(Competency.description))
            )
        }
        if ids
        else {}
    )
    below = count_below(fw, ids)
    nodes = [TreeNode(rows[cid], below.get(cid, 0), also) for _, cid, also in shown]
    return TreeBranch(parent, nodes, total, page, per_page)


def ancestors(fw: Framework, comp: Competency) -> tuple[list[Competency | None], int]:
    """The path from the top level down to `comp`'s parent by `parent_id` (each competency's
    first parent), top first, and its length (how deep `comp` is). A long path (a chain 1,200
    deep) comes back shortened: the first two and the last four, with one None where the
    others are left out. One recursive query up the parents, one for the competencies shown."""
    up = (
        select(Competency.id, Competency.parent_id, literal(1).label("n"))
        .where(Competency.id == comp.parent_id, Competency.framework_id == fw.id)
        .cte("up", recursive=True)
    )
    up = up.union_all(
        select(Competency.id, Competency.parent_id, up.c.n + 1)
        .join(up, Competency.id == up.c.parent_id)
        .where(up.c.n < MAX_DEPTH)  # a loop, which imports refuse, would end here
    )
    path = [cid for (cid,) in db.session.execute(select(up.c.id).order_by(up.c.n.desc()))]
    shown: list[int | None] = list(path)
    if len(path) > 6:
        shown = [*path[:2], None, *path[-4:]]
    wanted = [i for i in shown if i is not None]
    rows = (
        {
            c.id: c
            for c in db.session.scalars(
                select(Competency)
                .where(Competency.id.in_(wanted))
                .options(defer(Competency.case_extra), defer(Competency.description))
            )
        }
        if wanted
        else {}
    )
    return [rows[i] if i is not None else None for i in shown], len(path)


def count_competencies(fw: Framework) -> int:
    """How many competencies the framework has."""
    return (
        db.session.scalar(select(func.count(Competency.id)).where(Competency.framework_id == fw.id))
        or 0
    )


def search_competencies(
    org: Organization, query: str, *, limit: int = 25, framework: Framework | None = None
) -> list[Competency]:
    """Competencies of the organization whose code or statement contains every word of
    `query` (case-insensitive), codes that start with the query first. At most `limit`."""
    words = [w for w in query.lower().split() if w][:8]
    if not words:
        return []
    stmt = select(Competency).join(Framework).where(Framework.organization_id == org.id)
    if framework is not None:
        stmt = stmt.where(Competency.framework_id == framework.id)
    for w in words:
        pattern = "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            func.lower(Competency.code).like(pattern, escape="\\")
            | func.lower(Competency.statement).like(pattern, escape="\\")
        )
    starts = func.lower(Competency.code).like(words[0].replace("%", "") + "%")
    stmt = stmt.order_by(starts.desc(), Framework.title, Competency.code, Competency.id)
    return list(db.session.scalars(stmt.limit(limit)))


def competencies_by_ids(org: Organization, ids: list[int]) -> dict[int, Competency]:
    """The organization's competencies among `ids` (others are left out)."""
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Competency)
        .join(Framework)
        .where(Framework.organization_id == org.id, Competency.id.in_(set(ids)))
    )
    return {c.id: c for c in rows}


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
    require_admin(actor, _org(fw.organization_id))
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
    require_admin(actor, _org(comp.framework.organization_id))
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
    require_admin(actor, _org(comp.framework.organization_id))
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
        ).where(*_is_child_of(fw), CompetencyAssociation.origin_id.is_not(None))
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


# -- rubrics ---------------------------------------------------------------------------------
def is_version_locked(version: RubricVersion) -> bool:
    """True when a rubric version may no longer change.

    This is the single place that decides it. Today a version is locked once published; the
    submissions package extends this check so a version any submission uses is locked too (a
    published version already is, so that only tightens the rule).
    """
    return version.published_at is not None


def require_unlocked(version: RubricVersion) -> None:
    """Raise `Conflict` when the version is frozen."""
    if is_version_locked(version):
        raise Conflict(
            f"Version {version.number} of this rubric is published and can no longer change. "
            "Start a new draft version to edit it."
        )


def list_rubrics(org: Organization) -> list[Rubric]:
    """The organization's rubrics by title."""
    return list(
        db.session.scalars(
            select(Rubric).where(Rubric.organization_id == org.id).order_by(Rubric.title)
        )
    )


def get_rubric(org: Organization, public_id: str) -> Rubric:
    """A rubric of this organization, or `NotFound`."""
    rubric = None
    if is_public_id(public_id):
        rubric = db.session.scalar(
            select(Rubric).where(Rubric.public_id == public_id, Rubric.organization_id == org.id)
        )
    if rubric is None:
        raise NotFound("No such rubric in this organization.")
    return rubric


def get_version(rubric: Rubric, public_id: str) -> RubricVersion:
    """One version of the rubric, or `NotFound`."""
    for v in rubric.versions:
        if v.public_id == public_id:
            return v
    raise NotFound("No such version of this rubric.")


def published_versions(org: Organization) -> list[RubricVersion]:
    """Every published rubric version of the organization, for credential forms."""
    return list(
        db.session.scalars(
            select(RubricVersion)
            .join(Rubric)
            .where(Rubric.organization_id == org.id, RubricVersion.published_at.is_not(None))
            .order_by(Rubric.title, RubricVersion.number)
        )
    )


def create_rubric(
    actor: User,
    org: Organization,
    *,
    title: str,
    description: str = "",
    framework: Framework | None = None,
    with_default_levels: bool = True,
) -> Rubric:
    """Create a rubric with a first draft version (default levels, no elements yet)."""
    require_admin(actor, org)
    title = clean_text(title, 300)
    if not title:
        raise DomainError("A rubric needs a title.")
    if framework is not None and framework.organization_id != org.id:
        raise DomainError("The framework belongs to another organization.")
    rubric = Rubric(organization_id=org.id, title=title, framework=framework)
    version = RubricVersion(rubric=rubric, number=1, title=title, description=description.strip())
    if with_default_levels:
        for i, (name, points) in enumerate(DEFAULT_LEVELS):
            version.levels.append(RubricLevel(position=i, name=name, points=Decimal(points)))
        version.pass_level_position = 2
    db.session.add(rubric)
    db.session.flush()
    audit.record(
        "rubric.create",
        actor_id=actor.id,
        organization_id=org.id,
        subject_type="rubric",
        subject_id=rubric.public_id,
    )
    return rubric


def copy_version(source: RubricVersion, number: int) -> RubricVersion:
    """An unsaved draft with the same content as `source` (new rows, same CASE identifiers)."""
    new = RubricVersion(
        number=number,
        title=source.title,
        description=source.description,
        pass_level_position=source.pass_level_position,
        min_total_points=source.min_total_points,
    )
    level_map: dict[int, RubricLevel] = {}
    for lv in source.levels:
        copy = RubricLevel(position=lv.position, name=lv.name, points=lv.points)
        new.levels.append(copy)
        level_map[lv.id] = copy
    for el in source.elements:
        el_copy = RubricElement(
            position=el.position,
            title=el.title,
            description=el.description,
            evidence_guidance=el.evidence_guidance,
            is_required=el.is_required,
            weight=el.weight,
            competency_id=el.competency_id,
            case_identifier=el.case_identifier,
        )
        for cell in el.cells:
            el_copy.cells.append(
                RubricCell(
                    level=level_map[cell.level_id],
                    descriptor=cell.descriptor,
                    feedback=cell.feedback,
                    case_identifier=cell.case_identifier,
                )
            )
        new.elements.append(el_copy)
    return new


def start_new_version(actor: User, rubric: Rubric) -> RubricVersion:
    """The draft to edit: the latest version if still a draft, else a new copy of it."""
    require_admin(actor, _org(rubric.organization_id))
    latest = rubric.latest
    if not is_version_locked(latest):
        return latest
    new = copy_version(latest, latest.number + 1)
    rubric.versions.append(new)
    db.session.flush()
    audit.record(
        "rubric.new_version",
        actor_id=actor.id,
        organization_id=rubric.organization_id,
        subject_type="rubric_version",
        subject_id=new.public_id,
        number=new.number,
    )
    return new


@dataclass
class ElementInput:
    """One row of the editor: an existing element (by public id) or a new one."""

    public_id: str | None
    title: str
    description: str = ""
    evidence_guidance: str = ""
    is_required: bool = True
    weight: Decimal = Decimal(1)
    competency_id: int | None = None
    #: Descriptor per level, keyed by the level's index in `VersionInput.levels`.
    descriptors: dict[int, str] = field(default_factory=dict)


@dataclass
class LevelInput:
    """One column of the editor: an existing level (by id) or a new one."""

    id: int | None
    name: str
    points: Decimal


@dataclass
class VersionInput:
    """The whole content of a rubric version as the editor sends it, in display order."""

    title: str
    description: str
    elements: list[ElementInput]
    levels: list[LevelInput]
    #: Index into `levels` of the pass level, or None.
    pass_level: int | None
    min_total_points: Decimal | None = None


def save_version(actor: User, version: RubricVersion, data: VersionInput) -> None:
    """Replace a draft version's content with `data` (elements, levels, cells, pass rule).

    Existing rows are kept and updated where their ids come back, so ids stay stable while
    drafting; rows that are missing from `data` are removed.
    """
    require_admin(actor, _org(version.rubric.organization_id))
    require_unlocked(version)
    title = clean_text(data.title, 300)
    if not title:
        raise DomainError("The rubric needs a title.")
    if len(data.elements) > MAX_ELEMENTS:
        raise DomainError(f"A rubric can have at most {MAX_ELEMENTS} elements.")
    if len(data.levels) > MAX_LEVELS:
        raise DomainError(f"A rubric can have at most {MAX_LEVELS} levels.")
    for i, el in enumerate(data.elements, 1):
        if not clean_text(el.title, 300):
            raise DomainError(f"Element {i} needs a title.")
        if el.weight < 0:
            raise DomainError(f"Element {i}: the weight cannot be negative.")
    for i, lv in enumerate(data.levels, 1):
        if not clean_text(lv.name, 120):
            raise DomainError(f"Level {i} needs a name.")
    if data.pass_level is not None and not 0 <= data.pass_level < len(data.levels):
        raise DomainError("The pass level must be one of the rubric's levels.")

    version.title = title
    version.rubric.title = title
    version.description = data.description.strip()
    version.min_total_points = data.min_total_points
    version.pass_level_position = data.pass_level

    old_levels = {lv.id: lv for lv in version.levels}
    new_levels: list[RubricLevel] = []
    for i, li in enumerate(data.levels):
        level = old_levels.pop(li.id, None) if li.id is not None else None
        if level is None:
            level = RubricLevel(version=version)
            version.levels.append(level)
        level.position, level.name, level.points = i, clean_text(li.name, 120), li.points
        new_levels.append(level)
    for gone in old_levels.values():
        version.levels.remove(gone)

    old_elements = {el.public_id: el for el in version.elements}
    for i, ei in enumerate(data.elements):
        element = old_elements.pop(ei.public_id, None) if ei.public_id else None
        if element is None:
            element = RubricElement(version=version)
            version.elements.append(element)
        element.position, element.title = i, clean_text(ei.title, 300)
        element.description = ei.description.strip()
        element.evidence_guidance = ei.evidence_guidance.strip()
        element.is_required, element.weight = ei.is_required, ei.weight
        element.competency_id = ei.competency_id
        cells = {c.level: c for c in element.cells}
        for j, level in enumerate(new_levels):
            cell = cells.pop(level, None)
            if cell is None:
                cell = RubricCell(level=level)
                element.cells.append(cell)
            cell.descriptor = ei.descriptors.get(j, cell.descriptor or "").strip()
        for stale in cells.values():
            element.cells.remove(stale)
    for gone_el in old_elements.values():
        version.elements.remove(gone_el)
    db.session.flush()
    audit.record(
        "rubric.update",
        actor_id=actor.id,
        organization_id=version.rubric.organization_id,
        subject_type="rubric_version",
        subject_id=version.public_id,
    )


def version_as_input(version: RubricVersion) -> VersionInput:
    """The editor's view of a version (the inverse of `save_version`)."""
    index = {lv.id: i for i, lv in enumerate(version.levels)}
    pass_index = None
    for i, lv in enumerate(version.levels):
        if lv.position == version.pass_level_position:
            pass_index = i
    return VersionInput(
        title=version.title,
        description=version.description,
        levels=[LevelInput(lv.id, lv.name, lv.points) for lv in version.levels],
        elements=[
            ElementInput(
                public_id=el.public_id,
                title=el.title,
                description=el.description,
                evidence_guidance=el.evidence_guidance,
                is_required=el.is_required,
                weight=el.weight,
                competency_id=el.competency_id,
                descriptors={
                    index[c.level_id]: c.descriptor for c in el.cells if c.level_id in index
                },
            )
            for el in version.elements
        ],
        pass_level=pass_index,
        min_total_points=version.min_total_points,
    )


def publication_problems(version: RubricVersion) -> list[str]:
    """What stops a version from being published (empty when it is ready)."""
    problems = []
    if not version.elements:
        problems.append("Add at least one element.")
    if len(version.levels) < 2:
        problems.append("Add at least two performance levels.")
    if version.pass_level is None:
        problems.append("Choose the level every required element must reach.")
    points = [lv.points for lv in version.levels]
    if points != sorted(points):
        problems.append("Level points must not decrease from the lowest level to the highest.")
    for el in version.elements:
        for lv in version.levels:
            cell = version.cell(el, lv)
            if cell is None or not cell.descriptor.strip():
                problems.append(f"Describe “{el.title}” at level “{lv.name}”.")
    if not any(el.is_required for el in version.elements) and version.elements:
        problems.append("Mark at least one element as required.")
    if version.min_total_points is not None and version.min_total_points > max_total(version):
        problems.append("The minimum total is higher than the most points a worker can earn.")
    return problems


def max_total(version: RubricVersion) -> Decimal:
    """The most weighted points a worker can score on this version."""
    top = max((lv.points for lv in version.levels), default=Decimal(0))
    return sum((el.weight * top for el in version.elements), Decimal(0))


def publish_version(actor: User, version: RubricVersion) -> None:
    """Freeze a draft version so credentials can use it."""
    require_admin(actor, _org(version.rubric.organization_id))
    require_unlocked(version)
    problems = publication_problems(version)
    if problems:
        raise DomainError("This version cannot be published yet: " + " ".join(problems))
    version.published_at = utcnow()
    version.published_by_id = actor.id
    audit.record(
        "rubric.publish",
        actor_id=actor.id,
        organization_id=version.rubric.organization_id,
        subject_type="rubric_version",
        subject_id=version.public_id,
        number=version.number,
    )


def describe_pass_rule(version: RubricVersion) -> str:
    """The pass rule in a sentence a worker understands."""
    level = version.pass_level
    if level is None:
        return "No pass rule has been set yet."
    text = f"Every required element must be at “{level.name}” or above"
    if version.min_total_points is not None:
        text += (
            f", and the weighted total must reach {version.min_total_points.normalize():f} "
            f"of {max_total(version).normalize():f} points"
        )
    return text + "."
