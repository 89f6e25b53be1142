"""No crafted parameter gives a 5xx (issue 14, class 9).

Every route of `app.url_map` is requested with generated values for each of its path variables
and for every query parameter the code reads, as several roles. Path values mix the world's real
ids with hostile ones (huge and negative numbers, `Infinity`, other scripts' digits, traversal,
NUL, crafted review-queue cursors); hypothesis draws further ones.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.security.conftest import World

ROLES = ("anonymous", "worker", "assessor", "admin")
PORTFOLIO = Path(__file__).resolve().parents[2] / "portfolio"


def _cursor(*values: Any) -> str:
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE = [
    "Infinity",
    "-Infinity",
    "NaN",
    "1e309",
    "9" * 30,
    str(2**31),
    str(2**63),
    "-1",
    "0",
    "",
    "٣",
    "²",
    "1_000",
    " 7",
    "..",
    "../../etc/passwd",
    "%00",
    "\x00",
    "a" * 300,
    _cursor("2024-01-01T00:00:00+00:00", 1e308),
    _cursor("2024-01-01T00:00:00+00:00", 10**40),
    _cursor("0001-01-01T00:00:00+14:00", 1),
    _cursor("9999-12-31T23:59:59-14:00", 1),
    _cursor("not a date", 1),
    _cursor(None, None),
    base64.urlsafe_b64encode(b'["2024-01-01T00:00:00", Infinity]').decode(),
    base64.urlsafe_b64encode(b"[NaN, NaN]").decode(),
]


def query_parameters() -> list[str]:
    """Every query or form parameter name the views read, found in the source."""
    names: set[str] = set()
    pattern = re.compile(r"request\.(?:args|values)\.get(?:list)?\(\s*\"([A-Za-z_]+)\"")
    for path in PORTFOLIO.rglob("*.py"):
        names.update(pattern.findall(path.read_text()))
    # Filter forms bound to request.args read these fields.
    names.update({"credential", "older", "mine", "after", "page", "format", "q"})
    return sorted(names)


def routes(world: World) -> list[Rule]:
    return [r for r in world.app.url_map.iter_rules() if r.endpoint != "static"]


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _path(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?" + name + r">", quote(values[name], safe=""), path)
    return path


def _request(world: World, role: str, method: str, path: str, query: dict[str, str]) -> int:
    client = world.client(role)
    url = path + ("?" + urlencode(query) if query else "")
    resp = client.open(url, method=method, data=None if method == "GET" else query)
    return int(resp.status_code)


@pytest.fixture
def no_csrf(world: World) -> World:
    # Without the token check, POST bodies reach the views' own parsing.
    world.app.config["WTF_CSRF_ENABLED"] = False
    return world


def _real_values(world: World) -> list[str]:
    return [str(v) for v in world.ids.values()]


def test_hostile_values_in_every_path_and_query_parameter(no_csrf: World) -> None:
    world = no_csrf
    params = query_parameters()
    failures = []
    for rule in routes(world):
        methods = _methods(rule)
        # The sweep takes every other hostile value (each request carries it in every path and
        # query parameter at once); hypothesis below draws from all of them.
        for n, hostile in enumerate(HOSTILE[::2] + HOSTILE[19:]):
            role = ROLES[n % len(ROLES)]
            values = {a: hostile for a in rule.arguments}
            if rule.arguments and not n % 3:
                # Mix: the first argument real (an organization slug), the others hostile, so
                # the code behind the first lookup is reached too.
                first = sorted(rule.arguments)[0]
                values[first] = world.ids.get(first, world.ids["slug"])
            path = _path(rule, values)
            query = {p: hostile for p in params}
            for method in methods:
                status = _request(world, role, method, path, query)
                if status >= 500:
                    failures.append((rule.rule, method, role, hostile[:40], status))
    assert failures == []


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_values_never_give_a_server_error(no_csrf: World, data: st.DataObject) -> None:
    world = no_csrf
    rule = data.draw(st.sampled_from(routes(world)), label="route")
    role = data.draw(st.sampled_from(ROLES), label="role")
    value = st.one_of(
        st.sampled_from(_real_values(world)),
        st.sampled_from(HOSTILE),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.text(max_size=30),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    )
    values = {a: data.draw(value, label=a) for a in sorted(rule.arguments)}
    chosen = data.draw(st.lists(st.sampled_from(query_parameters()), max_size=4, unique=True))
    query = {p: data.draw(value, label=p) for p in chosen}
    method = data.draw(st.sampled_from(_methods(rule)))
    status = _request(world, role, method, _path(rule, values), query)
    assert status < 500, (rule.rule, method, role, values, query)


@pytest.mark.parametrize("cursor", [h for h in HOSTILE if len(h) > 20 or h == "Infinity"])
def test_crafted_review_queue_cursors_are_a_broken_link(world: World, cursor: str) -> None:
    resp = world.client("assessor").get(f"/o/{world.ids['slug']}/queue?after={quote(cursor)}")
    assert resp.status_code == 400
    assert "page link is broken" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "address",
    ["/o/%00/audit", "/o/{slug}/queue?after=%00", "/badges/%00", "/o/{slug}/frameworks?q=a%00b"],
)
@pytest.mark.parametrize("role", ["anonymous", "worker", "admin"])
def test_a_nul_character_in_the_address_is_a_bad_request(
    world: World, role: str, address: str
) -> None:
    # PostgreSQL text cannot hold NUL: looked up, such a value gave a 500 there.
    resp = world.client(role).get(address.format(slug=world.ids["slug"]))
    assert resp.status_code == 400
    assert "NUL character" in resp.get_data(as_text=True)


@pytest.mark.parametrize("number", [str(2**31), "9" * 30])
def test_huge_ids_in_int_routes_are_not_found(world: World, number: str) -> None:
    resp = world.client("admin").post(
        f"/o/{world.ids['slug']}/members/{number}/remove", data={"csrf_token": "x"}
    )
    assert resp.status_code == 404


@pytest.mark.parametrize("param", ["after", "before"])
@pytest.mark.parametrize("cursor", [h for h in HOSTILE if len(h) > 20 or h == "Infinity"])
def test_crafted_awards_list_cursors_are_a_broken_link(
    world: World, cursor: str, param: str
) -> None:
    resp = world.client("admin").get(f"/o/{world.ids['slug']}/awards?{param}={quote(cursor)}")
    assert resp.status_code == 400
    assert "page link is broken" in resp.get_data(as_text=True)


@pytest.mark.parametrize("param", ["after", "before"])
@pytest.mark.parametrize(
    "cursor",
    [
        "Infinity",
        "a" * 300,
        "x" * 5000,
        _cursor("Member 001", 1e308),
        _cursor("Member 001", 10**40),
        _cursor("Member 001", -1),
        _cursor("M" * 121, 1),
        _cursor(None, None),
        _cursor(["nested"], 1),
        base64.urlsafe_b64encode(b'["Member", Infinity]').decode(),
        base64.urlsafe_b64encode(b"[NaN, NaN]").decode(),
    ],
)
def test_crafted_members_list_cursors_are_a_broken_link(
    world: World, cursor: str, param: str
) -> None:
    resp = world.client("admin").get(f"/o/{world.ids['slug']}/members?{param}={quote(cursor)}")
    assert resp.status_code == 400
    assert "page link is broken" in resp.get_data(as_text=True)
