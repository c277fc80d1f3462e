"""Home-quarantine cases, health checks, the services log and the care watch.

A case is the worker's record of one stay at home: who, why, from when to when, which sensor
watched the door, and how it ended. The door rule (`alert_kinds`) reads the `Watch` a case
starts and ends (exactly one quarantine watch per active case); a care enrolment has one too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import identity
from shouwang.core.fields import EncryptedTextField
from shouwang.core.scoping import ScopedQuerySet


class WatchKind(models.TextChoices):
    QUARANTINE = "quarantine", _("Home quarantine")
    CARE = "care", _("Care watch")


class Watch(models.Model):
    """A household (and person) under watch for a time: home quarantine or care watch.

    Cases and care enrolments create and end these (`services.watches`); the app's rules
    (`alert_kinds`) ask "is this household under quarantine now?" and "when did this person's
    door last open?".
    """

    kind = models.CharField(_("kind"), max_length=12, choices=WatchKind.choices)
    household = models.ForeignKey(
        "core.Household",
        on_delete=models.CASCADE,
        related_name="watches",
        verbose_name=_("household"),
    )
    person = models.ForeignKey(
        "core.Person",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="watches",
        verbose_name=_("person"),
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    paused = models.BooleanField(_("paused"), default=False)
    # Care watch: {"inactive_hours": 12, "active_from": "07:00", "active_until": "21:00"}.
    params = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        # The table keeps the name it had when the alerts app held the model (moved without
        # copying a row: migrations quarantine 0003 and alerts 0004).
        db_table = "alerts_watch"
        verbose_name = _("watch")
        verbose_name_plural = _("watches")
        indexes = [
            models.Index(fields=["household", "kind"], name="alerts_watc_househo_fad9d2_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.household_id}"


class Source(models.TextChoices):
    RISK_AREA = "risk_area", _("Returned from a risk area")
    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact")
    INBOUND = "inbound", _("Arrived from abroad")
    OTHER = "other", _("Other")


class CaseStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("case status", "Active")
    COMPLETED = "completed", _("Completed")
    TRANSFERRED = "transferred", _("Transferred")
    ENDED_EARLY = "ended_early", _("Ended early")
    LOST = "lost", _("Lost to follow-up")


class Case(models.Model):
    scope_path = "area__path"

    # The household's area, kept when the household link is anonymised, so statistics and
    # scoping survive the retention purge.
    area = models.ForeignKey(
        "core.Area",
        on_delete=models.PROTECT,
        related_name="quarantine_cases",
        verbose_name=_("area"),
    )
    household = models.ForeignKey(
        "core.Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quarantine_cases",
        verbose_name=_("household"),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    starts_on = models.DateField(_("start date"))
    duration_days = models.PositiveSmallIntegerField(_("duration (days)"))
    # The last day of quarantine (inclusive); extensions keep the old value in CaseEndChange.
    planned_end = models.DateField(_("planned end"), db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.ACTIVE
    )
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True, db_index=True)
    end_reason = models.CharField(_("reason for ending"), max_length=200, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("ended by"),
    )
    watch = models.ForeignKey(
        "quarantine.Watch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quarantine_cases",
        verbose_name=_("sensor"),
    )
    no_device_reason = models.CharField(_("why no sensor"), max_length=200, blank=True)
    # The case installed the sensor (and so takes it back); False when it found one already at
    # the door (a care-watch sensor), which stays.
    installed_by_case = models.BooleanField(default=False)
    # Sensor recovery: due when the case ends, done when the worker takes it back.
    recovery_due = models.DateField(_("sensor recovery due"), null=True, blank=True)
    recovered_at = models.DateTimeField(_("sensor recovered"), null=True, blank=True)
    # How many people the case covered: survives the purge for statistics.
    people_count = models.PositiveSmallIntegerField(_("people"), default=0)
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet["Case"].as_manager()

    class Meta:
        verbose_name = _("quarantine case")
        verbose_name_plural = _("quarantine cases")
        ordering = ["-started_at", "-id"]
        permissions = [("export_case", _("Can export quarantine case lists"))]
        constraints = [
            # One active case per household: its one quarantine watch drives the door rule.
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status="active"),
                name="one_active_case_per_household",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.starts_on}–{self.planned_end}"

    @property
    def is_active(self) -> bool:
        return self.status == CaseStatus.ACTIVE


class CaseMember(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(
        "core.Person",
        on_delete=models.CASCADE,
        related_name="quarantine_memberships",
        verbose_name=_("person"),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="case_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.person_id}"


class CaseEndChange(models.Model):
    """An extension or shortening: the end before and after, and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="end_changes")
    previous_end = models.DateField(_("previous end"))
    new_end = models.DateField(_("new end"))
    reason = models.CharField(_("reason"), max_length=200)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.previous_end} → {self.new_end}"


class HealthCheck(models.Model):
    """One person's temperature and symptoms for one slot (morning, afternoon) of one day."""

    class Slot(models.IntegerChoices):
        MORNING = 0, _("Morning")
        AFTERNOON = 1, _("Afternoon")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="health_checks")
    # NULL after the retention purge: the check still counts, nobody is named.
    person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField(_("day"))
    slot = models.PositiveSmallIntegerField(_("slot"), choices=Slot.choices)
    temperature = models.DecimalField(
        _("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    fever = models.BooleanField(_("fever"), default=False)
    by_resident = models.BooleanField(_("entered by the resident"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("entered"))

    class Meta:
        # Several readings in one slot are kept: a second fever reading is what matters most.
        ordering = ["-day", "-slot", "-at"]
        indexes = [models.Index(fields=["case", "person", "day"], name="check_case_person_day")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.person_id} {self.day} {self.slot}"


class ResidentLink(models.Model):
    """A resident's own check-in link. Only the SHA-256 of the token is stored: the link is
    shown once, and a database leak gives nobody a working link."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    person = models.ForeignKey("core.Person", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link {self.pk} ({self.case_id}:{self.person_id})"


class ServiceKind(models.TextChoices):
    DELIVERY = "delivery", _("Delivery")
    GARBAGE = "garbage", _("Garbage collection")
    SUPPLIES = "supplies", _("Supplies bought for the household")
    TEST = "test", _("Test at the door")
    OTHER = "other", _("Other")


class ServiceRecord(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="services")
    kind = models.CharField(_("kind"), max_length=10, choices=ServiceKind.choices)
    at = models.DateTimeField(_("when"))
    minutes = models.PositiveSmallIntegerField(_("door may open for (minutes)"), default=15)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # A scheduled service registers the expected door opening with the alerts app.
    suppression = models.ForeignKey(
        "alerts.SuppressionWindow",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%m-%d %H:%M}"


class CareEnrolment(models.Model):
    """An elderly person (typically tagged 独居老人) whose door is watched for inactivity."""

    scope_path = "household__area__path"

    person = models.ForeignKey(
        "core.Person", on_delete=models.CASCADE, related_name="care_enrolments"
    )
    household = models.ForeignKey(
        "core.Household", on_delete=models.CASCADE, related_name="care_enrolments"
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    watch = models.ForeignKey(
        "quarantine.Watch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active_from = models.TimeField(_("active from"))
    active_until = models.TimeField(_("active until"))
    inactive_hours = models.DecimalField(
        _("alert after inactive (hours)"), max_digits=4, decimal_places=1
    )
    paused = models.BooleanField(_("paused"), default=False)
    pause_reason = models.CharField(_("why paused"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ScopedQuerySet["CareEnrolment"].as_manager()

    class Meta:
        verbose_name = _("care watch enrolment")
        verbose_name_plural = _("care watch enrolments")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(ended_at__isnull=True),
                name="one_open_care_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"care {self.person_id}"


class FamilyContact(identity.MaskedContact, models.Model):  # noqa: DJ008 - __str__: the masked name
    enrolment = models.ForeignKey(CareEnrolment, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation"), max_length=30, blank=True)
    phone = EncryptedTextField(_("phone number"))
    notify = models.BooleanField(_("notify on alerts"), default=True)

    class Meta:
        ordering = ["id"]
