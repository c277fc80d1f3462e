"""Organisations that report in (enterprises and schools), their members, and the members'
daily health declarations.

An organisation lies in one area; its contacts (`Contact`: a staff account of the role
企业/学校联系人) reach that organisation only. Scoping is the house's: every model here is a
`ScopedQuerySet` by the organisation's area, and `scope_restrict` narrows a contact further
to the organisations they are a contact of, so another organisation in the same area is 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import identity
from shouwang.core.fields import EncryptedTextField
from shouwang.core.models.staff import Role
from shouwang.core.scoping import ScopedQuerySet

_CACHE_ATTR = "_shouwang_contact_orgs"


def contact_organisations(user: Any) -> list[int] | None:
    """The organisations a contact reports for; None for every other role (area scoping
    alone applies to them). Read once per request and cached on the user."""
    if getattr(user, "role", None) != Role.ENTERPRISE_CONTACT or getattr(
        user, "is_superuser", False
    ):
        return None
    cached: list[int] | None = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(Contact.objects.filter(user=user).values_list("organisation_id", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def _restrict(field: str, user: Any) -> Q | None:
    ids = contact_organisations(user)
    return None if ids is None else Q(**{f"{field}__in": ids})


class OrgKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    SCHOOL = "school", _("School")


class Organisation(models.Model):
    scope_path = "area__path"

    kind = models.CharField(_("kind"), max_length=12, choices=OrgKind.choices)
    name = models.CharField(pgettext_lazy("organisation", "name"), max_length=100)
    area = models.ForeignKey(
        "core.Area",
        on_delete=models.PROTECT,
        related_name="organisations",
        verbose_name=_("area"),
    )
    # 统一社会信用代码 (GB 32100), checked with its check character; NULL for a school known
    # by its education code only.
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, unique=True
    )
    # 学校标识码: ten digits, given by the education authority.
    education_code = models.CharField(
        _("school identification code"), max_length=10, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet["Organisation"].as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["area__path", "name"]
        permissions = [("view_rates", _("Can see reporting rates"))]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def scope_restrict(user: Any) -> Q | None:
        return _restrict("pk", user)

    @property
    def is_school(self) -> bool:
        return self.kind == OrgKind.SCHOOL


class Contact(models.Model):
    """A staff account that reports for one organisation (role 企业/学校联系人)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reporting_contact"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="contacts"
    )

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organisation_id}"


class MemberKind(models.TextChoices):
    WORKER = "worker", _("Worker")
    TEACHER = "teacher", _("Teacher")
    STUDENT = "student", _("Student")


class Isolation(models.TextChoices):
    NONE = "none", _("Not isolated")
    HOME = "home", _("Home isolation")
    CENTRAL = "central", _("Central isolation")
    ENDED = "ended", _("Isolation ended")


class Member(identity.MaskedContact, models.Model):  # noqa: DJ008 - __str__: the masked name
    scope_path = "organisation__area__path"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    kind = models.CharField(
        _("kind"), max_length=10, choices=MemberKind.choices, default=MemberKind.WORKER
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    id_number = EncryptedTextField(_("ID number"))
    id_number_index = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    phone = EncryptedTextField(_("phone number"))
    phone_index = models.CharField(max_length=64, null=True, blank=True, db_index=True)  # noqa: DJ001
    # Workers: department; students and teachers: class (班级) and dormitory.
    department = models.CharField(_("department or class"), max_length=50, blank=True)
    dormitory = models.CharField(_("dormitory"), max_length=50, blank=True)
    returned_from = models.CharField(_("returned from"), max_length=100, blank=True)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    isolation = models.CharField(
        _("isolation"), max_length=10, choices=Isolation.choices, default=Isolation.NONE
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedQuerySet["Member"].as_manager()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["organisation_id", "department", "id"]
        permissions = [("reveal_member", _("Can reveal members' full ID and phone numbers"))]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "id_number_index"], name="member_id_once_per_org"
            )
        ]

    @staticmethod
    def scope_restrict(user: Any) -> Q | None:
        return _restrict("organisation_id", user)

    @property
    def masked_id_number(self) -> str:
        return identity.mask_id_number(self.id_number)


class Slot(models.IntegerChoices):
    DAY = 0, _("Daily")
    MORNING = 1, _("Morning check")
    NOON = 2, _("Noon check")


class Absence(models.TextChoices):
    PRESENT = "", _("Present")
    ILLNESS = "illness", _("Absent: illness")
    PERSONAL = "personal", _("Absent: personal")
    OTHER = "other", _("Absent: other")


class Source(models.TextChoices):
    GRID = "grid", _("Contact's grid")
    LINK = "link", _("Member's phone")
    API = "api", _("HR system")


class Declaration(models.Model):
    """One member's health for one day (enterprises) or one check (schools: 晨检, 午检)."""

    scope_path = "organisation__area__path"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="declarations"
    )
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="declarations")
    day = models.DateField(_("day"))
    slot = models.PositiveSmallIntegerField(_("check"), choices=Slot.choices, default=Slot.DAY)
    temperature = models.DecimalField(
        _("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    travel = models.CharField(_("travel in the last 14 days"), max_length=200, blank=True)
    contact_case = models.BooleanField(_("contact with a confirmed case"), default=False)
    absence = models.CharField(
        _("absence"), max_length=10, choices=Absence.choices, default="", blank=True
    )
    absence_note = models.CharField(_("reason for absence"), max_length=200, blank=True)
    fever = models.BooleanField(_("fever"), default=False)
    source = models.CharField(_("entered by"), max_length=5, choices=Source.choices)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("entered"))

    objects = ScopedQuerySet["Declaration"].as_manager()

    class Meta:
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        ordering = ["-day", "slot", "member_id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "day", "slot"], name="declaration_once")
        ]
        indexes = [models.Index(fields=["organisation", "day"], name="declaration_org_day")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.day} {self.slot}"

    @staticmethod
    def scope_restrict(user: Any) -> Q | None:
        return _restrict("organisation_id", user)


class MemberLink(models.Model):
    """A member's own declaration link. Only the SHA-256 of the token is stored."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"link {self.pk} ({self.member_id})"


class AppState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned for changes")


class Application(models.Model):
    """A return-to-work application (复工复产申请): the organisation's prevention plan and
    headcounts, reviewed by the district. Its state changes only through
    `services.applications` (each change a conditional UPDATE and an `ApplicationEvent`)."""

    scope_path = "organisation__area__path"

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="applications"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=AppState.choices, default=AppState.SUBMITTED
    )
    plan = models.TextField(_("prevention plan"))
    headcount_total = models.PositiveIntegerField(_("employees in total"))
    headcount_returning = models.PositiveIntegerField(_("employees returning"))
    # Approval conditions: at most this many people at work per day (checked against the
    # declarations), and any other condition in words.
    cap = models.PositiveIntegerField(_("headcount cap"), null=True, blank=True)
    conditions = models.CharField(_("conditions"), max_length=300, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))
    first_submitted_at = models.DateTimeField(_("first submitted"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet["Application"].as_manager()

    class Meta:
        verbose_name = _("return-to-work application")
        verbose_name_plural = _("return-to-work applications")
        ordering = ["-submitted_at", "-id"]
        permissions = [("review_application", _("Can review return-to-work applications"))]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(state__in=["submitted", "under_review", "returned"]),
                name="one_open_application_per_org",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.organisation_id} {self.state}"

    @staticmethod
    def scope_restrict(user: Any) -> Q | None:
        return _restrict("organisation_id", user)


class ApplicationEvent(models.Model):
    """One step of an application's history, shown to the applicant and the reviewer."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, choices=AppState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_state} → {self.to_state}"


class Material(models.Model):
    """An uploaded document of an application: PDF, JPEG or PNG (checked by content)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(max_length=20)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class OrgKey(models.Model):
    """A credential for one organisation's HR system to submit declarations in batches
    (`POST /api/v1/reporting/declarations`). Only its hash is kept; the plaintext is shown
    once. At most `per_minute` batches in any calendar minute (a conditional UPDATE)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    active = models.BooleanField(_("active"), default=True)
    per_minute = models.PositiveIntegerField(default=60)
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
