"""A framework's competency tree: a branch at a time (paged, with counts below), the path to a
competency, search, and competencies by id in one query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.orm import defer

from portfolio.accounts.models import Organization
from portfolio.extensions import db
from portfolio.frameworks.models import Competency, CompetencyAssociation, Framework


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


def is_child_of(fw: Framework) -> tuple[ColumnElement[bool], ...]:
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
            *is_child_of(fw),
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
