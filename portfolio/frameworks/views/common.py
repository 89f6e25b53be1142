"""What the framework pages share: the admin's organization and the tree a page shows."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for
from flask_login import current_user

from portfolio.accounts.models import Organization
from portfolio.accounts.organizations import admin_org
from portfolio.frameworks.models import Competency, Framework
from portfolio.frameworks.services import competencies as competency_services
from portfolio.frameworks.services import tree as tree_services


def admin_org_for(slug: str) -> Organization:
    """The organization `slug`, which the current user must administer."""
    return admin_org(current_user, slug)


@dataclass
class TreeView:
    """What a framework page shows of the tree: one branch, where it is, and a search."""

    branch: tree_services.TreeBranch
    #: From the top level down to the branch's parent (None where a long path is shortened).
    path: list[Competency | None]
    #: How deep the branch's competencies are (0 = top level).
    depth: int
    query: str
    found: list[Competency] | None
    total: int
    #: Where the branch's links lead: the page, the fragment, a competency ("CID" in it).
    urls: dict[str, str]


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


def _tree_urls(fw: Framework, org: Organization | None) -> dict[str, str]:
    if org is None:
        return {
            "page": url_for("frameworks.public_framework", fid=fw.public_id),
            "fragment": url_for("frameworks.public_tree_fragment", fid=fw.public_id),
            "open": url_for("frameworks.public_competency", fid=fw.public_id, cid="CID"),
            "below": "",
        }
    slug, fid = org.slug, fw.public_id
    return {
        "page": url_for("frameworks.show_framework", slug=slug, fid=fid),
        "fragment": url_for("frameworks.tree_fragment", slug=slug, fid=fid),
        "open": url_for("frameworks.edit_competency", slug=slug, fid=fid, cid="CID"),
        "below": url_for("frameworks.show_framework", slug=slug, fid=fid, under="CID"),
    }


def tree_view(org: Organization, fw: Framework, *, admin: bool = True) -> TreeView:
    """The branch asked for with `?at=` (a competency's public id; the top level without it),
    its page (`?page=`), and the matches of `?q=` within the framework."""
    parent = (
        competency_services.get_competency(fw, request.args["at"])
        if request.args.get("at")
        else None
    )
    path: list[Competency | None] = []
    depth = 0
    if parent is not None:
        path, depth = tree_services.ancestors(fw, parent)
        depth += 1
    query = request.args.get("q", "").strip()[:200]
    found = tree_services.search_competencies(org, query, framework=fw, limit=50) if query else None
    if found:
        # Their parents in one query (a match links to its place in the tree).
        tree_services.competencies_by_ids(org, [c.parent_id for c in found if c.parent_id])
    return TreeView(
        branch=tree_services.tree_branch(fw, parent, page=_page_arg()),
        path=path,
        depth=depth,
        query=query,
        found=found,
        total=tree_services.count_competencies(fw),
        urls=_tree_urls(fw, org if admin else None),
    )
