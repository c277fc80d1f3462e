"""Return-to-work applications: the state machine (every illegal transition refused), the
materials checked by content, the queue by waiting time, the time to decision, the
applicant's history, and a headcount cap checked against later declarations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from shouwang.reporting.models import Application, AppState, Material
from shouwang.reporting.services import applications, declarations
from shouwang.reporting.services.applications import Upload
from shouwang.reporting.services.declarations import Entry
from tests.conftest import Town, login
from tests.reporting.conftest import T0, Orgs

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
PLAN = "每日两次测温，错峰就餐，设立隔离观察室。"


def _submit(orgs: Orgs, uploads: tuple[Upload, ...] = ()) -> Application:
    return applications.submit(orgs.acme_contact, orgs.acme, PLAN, 40, 30, uploads)


def test_the_whole_path_and_every_illegal_transition(
    orgs: Orgs, clock: time_machine.Coordinates
) -> None:
    app = _submit(orgs, (Upload("方案.pdf", PDF),))
    reviewer = orgs.reviewer
    moves = {
        "review": lambda a: applications.start_review(reviewer, a),
        "approve": lambda a: applications.approve(reviewer, a, cap=25),
        "return": lambda a: applications.send_back(reviewer, a, "缺少隔离观察室照片"),
        "resubmit": lambda a: applications.resubmit(orgs.acme_contact, a, PLAN, 40, 30),
    }
    legal = {
        AppState.SUBMITTED: {"review"},
        AppState.UNDER_REVIEW: {"approve", "return"},
        AppState.RETURNED: {"resubmit"},
        AppState.APPROVED: set(),
    }

    def refused_except(state: AppState) -> None:
        app.refresh_from_db()
        assert app.state == state
        for name, move in moves.items():
            if name in legal[state]:
                continue
            with pytest.raises(ValidationError) as caught:
                move(app)
            assert caught.value.code == "illegal_transition"
            app.refresh_from_db()
            assert app.state == state, name

    refused_except(AppState.SUBMITTED)
    moves["review"](app)
    refused_except(AppState.UNDER_REVIEW)
    clock.shift(timedelta(hours=3))
    moves["return"](app)
    refused_except(AppState.RETURNED)
    moves["resubmit"](app)
    refused_except(AppState.SUBMITTED)
    moves["review"](app)
    clock.shift(timedelta(hours=2))
    moves["approve"](app)
    refused_except(AppState.APPROVED)
    history = list(app.events.values_list("from_state", "to_state"))
    assert history == [
        ("", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "returned"),
        ("returned", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "approved"),
    ]
    assert app.events.get(to_state="returned").reason == "缺少隔离观察室照片"
    # Time to decision: from the resubmission (3 h after the first submission) to approval.
    assert applications.decision_hours(reviewer) == 2.0
    # A new application is allowed once the last is decided; two open at once are not.
    second = _submit(orgs)
    with pytest.raises(ValidationError):
        _submit(orgs)
    assert second.state == AppState.SUBMITTED


def test_returning_needs_a_reason_and_roles_are_kept_apart(orgs: Orgs, town: Town) -> None:
    app = _submit(orgs)
    applications.start_review(orgs.reviewer, app)
    with pytest.raises(ValidationError):
        applications.send_back(orgs.reviewer, app, "  ")
    with pytest.raises(PermissionDenied):
        applications.approve(orgs.acme_contact, app)  # the applicant cannot approve itself
    with pytest.raises(PermissionDenied):
        applications.approve(town.east_worker, app)
    with pytest.raises(Http404):
        applications.resubmit(orgs.rival_contact, app, PLAN, 1, 1)


def test_materials_are_judged_by_content_and_size(orgs: Orgs) -> None:
    for upload in (
        Upload("方案.pdf", b"MZ\x90\x00 an executable named pdf"),
        Upload("photo.png", b"<svg onload=alert(1)>"),
        Upload("big.pdf", b"%PDF-" + b"0" * applications.MAX_BYTES),
    ):
        with pytest.raises(ValidationError):
            _submit(orgs, (upload,))
    assert not Application.objects.exists()
    app = _submit(
        orgs, (Upload("a.pdf", PDF), Upload("b.png", PNG), Upload("c.jpg", b"\xff\xd8\xff\xe0x"))
    )
    assert sorted(
        Material.objects.filter(application=app).values_list("content_type", flat=True)
    ) == [
        "application/pdf",
        "image/jpeg",
        "image/png",
    ]


def test_uploads_of_wrong_type_are_refused_on_the_page(orgs: Orgs) -> None:
    client = login(orgs.acme_contact)
    answer = client.post(
        f"/reporting/{orgs.acme.pk}/applications/",
        {
            "plan": PLAN,
            "headcount_total": 40,
            "headcount_returning": 30,
            "materials": [SimpleUploadedFile("plan.pdf", b"<html>not a pdf</html>")],
        },
    )
    assert answer.status_code == 422
    assert not Application.objects.exists()
    answer = client.post(
        f"/reporting/{orgs.acme.pk}/applications/",
        {
            "plan": PLAN,
            "headcount_total": 40,
            "headcount_returning": 30,
            "materials": [SimpleUploadedFile("plan.pdf", PDF)],
        },
    )
    assert answer.status_code == 302
    app = Application.objects.get()
    material = app.materials.get()
    opened = client.get(f"/reporting/applications/{app.pk}/materials/{material.pk}/")
    assert opened.content == PDF
    assert opened["Content-Type"] == "application/pdf"
    # Another organisation's contact: 404 for the application and its material.
    rival = login(orgs.rival_contact)
    assert rival.get(f"/reporting/applications/{app.pk}/").status_code == 404
    assert (
        rival.get(f"/reporting/applications/{app.pk}/materials/{material.pk}/").status_code == 404
    )


def test_the_queue_is_ordered_by_waiting_time(orgs: Orgs, clock: time_machine.Coordinates) -> None:
    older = applications.submit(orgs.rival_contact, orgs.rival, PLAN, 10, 5)
    clock.shift(timedelta(hours=1))
    newer = _submit(orgs)
    assert applications.queue(orgs.reviewer) == [older, newer]
    page = login(orgs.reviewer).get("/reporting/review/").content.decode()
    assert page.index(orgs.rival.name) < page.index(orgs.acme.name)


def test_a_headcount_cap_is_checked_against_declarations(
    orgs: Orgs, people: dict, clock: time_machine.Coordinates
) -> None:
    app = _submit(orgs)
    applications.start_review(orgs.reviewer, app)
    applications.approve(orgs.reviewer, app, cap=1, conditions="错峰上班")
    today = T0.date()
    declarations.declare(None, orgs.acme, today, 0, [Entry(people["acme1"].pk, "36.5")])
    assert applications.over_cap(orgs.acme, today) is None
    declarations.declare(None, orgs.acme, today, 0, [Entry(people["acme2"].pk, "36.5")])
    assert applications.over_cap(orgs.acme, today) == (2, 1)
    page = login(orgs.acme_contact).get(f"/reporting/{orgs.acme.pk}/").content.decode()
    assert 'data-testid="over-cap"' in page


def test_the_applicant_sees_the_history_and_reasons(orgs: Orgs) -> None:
    app = _submit(orgs)
    applications.start_review(orgs.reviewer, app)
    applications.send_back(orgs.reviewer, app, "请补充错峰就餐安排")
    page = login(orgs.acme_contact).get(f"/reporting/applications/{app.pk}/").content.decode()
    assert "请补充错峰就餐安排" in page
    assert 'data-testid="resubmit"' in page
