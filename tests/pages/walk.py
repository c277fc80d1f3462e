"""Every page a person uses, found the way a person finds them: log in as each role of the
demo town and follow the links, plus the pages that only a form leads to (a bulk issue, a
visitor's pass, a new personal link, an import report, a print run) and the residents' own
pages. Shared by the template walk (English left on a Chinese page) and the browser's width
test (nothing wider than a phone).

The demo town is the data: what `shouwang demo` seeds (residents from rosters, sensors,
quarantine cases, care watches, passes), plus what the simulator would add (an alert, scans
at the gate, a visitor, an undecodable message), so list pages are not empty.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from shouwang.core.demo import fake_id_number, seed_demo_town
from shouwang.core.models import Area, AreaKind, Person, User
from shouwang.core.services.people import PersonData, create_person
from shouwang.devices.adapters import Reading
from shouwang.devices.services.ingest import Incoming, ingest, record_dead_letter
from shouwang.passes.models import Pass
from shouwang.passes.services import issue, visitors
from shouwang.passes.services.verify import Gate, check
from shouwang.quarantine.models import Case, CaseStatus
from shouwang.quarantine.services import health
from shouwang.reporting.models import Member
from shouwang.reporting.services import declarations

ROLES = ("worker1", "town", "guard", "admin", "company", "school", "reviewer", "property")
# Where each role's day starts; the rest is found by following links.
STARTS = (
    "/",
    "/areas/",
    "/households/",
    "/people/",
    "/people/import/",
    "/alerts/",
    "/alerts/board/",
    "/alerts/stats/",
    "/quarantine/",
    "/quarantine/cases/",
    "/quarantine/cases/new/?q=1",
    "/quarantine/stats/",
    "/care/",
    "/care/?q=1",
    "/devices/",
    "/devices/install/",
    "/devices/recover/",
    "/devices/unclaimed/",
    "/devices/dead-letters/",
    "/passes/",
    "/passes/bulk/",
    "/passes/print/",
    "/gate/",
    "/gate/log/",
    "/gate/visitors/",
    "/patrol/",
    "/patrol/rounds/",
    "/patrol/orders/",
    "/reporting/",
    "/reporting/new/",
    "/patrol/scores/",
    "/reporting/review/",
    "/patrol/inspections/",
    "/masks/",
    "/masks/rounds/",
    "/admin/",
)
SKIP_PREFIXES = ("/static/", "/api/", "/i18n/", "/logout/", "/p/", "/q/", "/r/", "/favicon.ico")
# Pages of one kind look alike: a couple of each is the walk, not every resident's page.
PER_KIND = 2
MAX_PAGES = 400


@dataclass
class Seen:
    role: str
    url: str
    status: int
    html: str
    templates: list[str] = field(default_factory=list)
    # Found by following a link on a page (not a start URL the role may lack rights for).
    linked: bool = True


def seed_walk_town() -> None:
    """The demo town, with the traffic that the simulator and a day at the gate would add."""
    seed_demo_town()
    case = (
        Case.objects.filter(status=CaseStatus.ACTIVE, device__isnull=False)
        .select_related("device")
        .first()
    )
    assert case is not None
    assert case.device is not None
    now = timezone.now()
    for n, state in enumerate(("open", "closed")):
        reading = Reading(
            adapter=case.device.adapter,
            device_key=case.device.key,
            event_time=now - timedelta(minutes=5 - n),
            door=state,
            dedup_key=f"walk-{n}",
            raw={"door": state},
        )
        ingest([Incoming(reading, now)], "http")
    record_dead_letter("ctwing", "http", "body is not JSON", b"not json")
    guard = User.objects.get(username="guard")
    compound = guard.areas.get()
    here = Pass.objects.filter(compounds=compound, person__isnull=False).first()
    assert here is not None
    check(Gate(compound, "东门", guard=guard), here.code)
    check(Gate(compound, "东门", guard=guard), here.code, direction="out")
    check(Gate(compound, "东门", guard=guard), "HC1:not-a-pass")
    household = here.household
    assert household is not None
    visitors.register_visitor(
        guard, name="访客王", phone="13900001111", household=household, reason="送药", pass_hours=2
    )


def resident_urls() -> list[str]:
    """A resident's own pages: their pass and their health check-in (no account)."""
    worker = User.objects.get(username="worker1")
    p = Pass.objects.visible_to(worker).filter(person__isnull=False).first()
    case = Case.objects.visible_to(worker).filter(status=CaseStatus.ACTIVE).first()
    assert p is not None
    assert case is not None
    member = case.members.select_related("person").first()
    assert member is not None
    _link, token = health.issue_link(worker, case, member.person)
    company = User.objects.get(username="company")
    employee = Member.objects.visible_to(company).first()
    assert employee is not None
    _member_link, member_token = declarations.issue_link(company, employee)
    return [
        f"/p/{issue.new_link(worker, p)}/",
        f"/q/{token}/",
        "/p/no-such-link/",
        f"/r/{member_token}/",
    ]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.startswith("/"):
                self.hrefs.append(href.split("#")[0])


def _kind(url: str) -> str | None:
    parts = urlsplit(url)
    try:
        name = resolve(parts.path).view_name
    except Resolver404:
        return None
    keys = sorted({k for k, _v in parse_qsl(parts.query) if k != "page"})
    return f"{name}?{','.join(keys)}"


def crawl(client: Client, role: str, starts: tuple[str, ...] = STARTS) -> Iterator[Seen]:
    queue = list(starts)
    done: set[str] = set()
    kinds: Counter[str] = Counter()
    while queue and len(done) < MAX_PAGES:
        url = queue.pop(0)
        kind = _kind(url)
        if url in done or kind is None or url.startswith(SKIP_PREFIXES):
            continue
        if url not in starts and kinds[kind] >= PER_KIND:
            continue
        done.add(url)
        kinds[kind] += 1
        response = client.get(url)
        html = response.content.decode() if "text/html" in response.get("Content-Type", "") else ""
        templates = [t.name for t in getattr(response, "templates", []) if t.name]
        yield Seen(role, url, response.status_code, html, templates, linked=url not in starts)
        if response.status_code == 200 and html:
            links = _Links()
            links.feed(html)
            queue.extend(h for h in links.hrefs if h not in done)


def actions(client: Client, role: str) -> Iterator[Seen]:
    """Pages that only a form leads to, for the roles that use them."""

    def seen(url: str, response: Any) -> Seen:
        templates = [t.name for t in getattr(response, "templates", []) if t.name]
        return Seen(role, url, response.status_code, response.content.decode(), templates)

    user = User.objects.get(username=role)
    if role == "worker1":
        compound = Area.objects.visible_to(user).filter(kind=AreaKind.COMPOUND).first()
        assert compound is not None
        household = Person.objects.visible_to(user).first().household  # type: ignore[union-attr]
        create_person(None, household, PersonData.clean("新来的", "", ""))
        yield seen("POST /passes/bulk/", client.post("/passes/bulk/", {"compound": compound.pk}))
        p = Pass.objects.visible_to(user).filter(person__isnull=False).first()
        assert p is not None
        yield seen("POST new-link", client.post(f"/passes/{p.pk}/new-link/"))
        # The roster import: a refused file, a preview (with a warning) that is cancelled, the
        # same file imported; and an address with a NUL in it, refused at the edge.
        for name, data in (("bad.csv", _BAD_ROSTER), ("good.csv", _good_roster())):
            upload = SimpleUploadedFile(name, data, content_type="text/csv")
            answer = client.post(
                "/people/import/", {"area": compound.pk, "file": upload}, follow=True
            )
            yield seen(f"POST /people/import/ {name}", answer)
        upload_page = answer.redirect_chain[-1][0]
        yield seen("POST cancel", client.post(f"{upload_page}cancel/", follow=True))
        upload = SimpleUploadedFile("good.csv", _good_roster(), content_type="text/csv")
        answer = client.post("/people/import/", {"area": compound.pk, "file": upload}, follow=True)
        upload_page = answer.redirect_chain[-1][0]
        yield seen("POST confirm", client.post(f"{upload_page}confirm/", follow=True))
        # (A screen form shows a NUL as an error on its field; the address cannot.)
        refused = seen("GET a NUL", client.get("/people/", {"page": "1\x00"}))
        refused.linked = False  # refused on purpose, not a link a person follows
        yield refused
        person = Person.objects.visible_to(user).first()
        assert person is not None
        yield seen("GET issue form", client.get(f"/passes/issue/{person.pk}/"))
    if role == "guard":
        compound = user.areas.get()
        household = Person.objects.filter(household__area__path__startswith=compound.path).first()
        assert household is not None
        answer = client.post(
            "/gate/visitors/",
            {
                "name": "快递员",
                "phone": "13900002222",
                "household": household.household_id,
                "reason": "送快递",
                "pass_hours": 2,
            },
        )
        yield seen("POST /gate/visitors/", answer)


_BAD_ROSTER = b"\xef\xbb\xbf\xe5\xa7\x93\xe5\x90\x8d\n\xe5\xbc\xa0\n"  # 姓名 / 张, nothing else


def _good_roster() -> bytes:
    """Two newcomers of a new building 8, one with a tag the area does not have (a warning)."""
    rng = random.Random(8)
    rows = [
        ["姓名", "身份证号", "手机号", "楼栋", "单元", "门牌号", "标签"],
        [
            "周新",
            fake_id_number(rng, date(1948, 3, 1)),
            "13800008001",
            "8",
            "1",
            "101",
            "老人、志愿者",
        ],
        ["吴新", fake_id_number(rng, date(1988, 6, 1)), "13800008002", "8", "1", "102", ""],
    ]
    return "\n".join(",".join(row) for row in rows).encode()


def walk(role: str) -> list[Seen]:
    client = Client()
    client.force_login(User.objects.get(username=role))
    return [*crawl(client, role), *actions(client, role)]


def walk_everyone(extra: Callable[[], list[str]] = resident_urls) -> list[Seen]:
    pages = [page for role in ROLES for page in walk(role)]
    anonymous = Client()
    for url in ["/login/", *extra()]:
        response = anonymous.get(url)
        templates = [t.name for t in getattr(response, "templates", []) if t.name]
        pages.append(
            Seen("resident", url, response.status_code, response.content.decode(), templates, False)
        )
    return pages


_PRINTABLE = re.compile(r"\S")
