"""Alerts: what needs a worker now, who took it, what came of it, and who was told."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core.fields import EncryptedTextField
from shouwang.core.kinds import Severity as Severity  # re-exported: the alerts app's word too
from shouwang.core.models.staff import Role
from shouwang.core.scoping import ScopedQuerySet, Viewer


class AlertStatus(models.TextChoices):
    # "Open" is also a door state; the context keeps the two translations apart (待处理 / 开).
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Outcome(models.TextChoices):
    GARBAGE = "garbage", _("Took out the garbage")
    DELIVERY = "delivery", _("Collected a delivery or takeaway")
    LEFT_HOME = "left_home", _("Left home against the rules")
    FALSE_ALARM = "false_alarm", _("False alarm")
    DEVICE_FAULT = "device_fault", _("Device fault")
    VISITED = "visited", _("Visited, all well")
    OTHER = "other", _("Other")
    # Set by the system when the condition went away by itself (sensor back online).
    CLEARED = "cleared", _("Cleared by itself")


class SuppressionWindow(models.Model):
    """An expected door opening (garbage collection, a delivery, a test at the door): door
    events inside it are recorded but raise no alert."""

    household = models.ForeignKey(
        "core.Household",
        on_delete=models.CASCADE,
        related_name="suppressions",
        verbose_name=_("household"),
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("suppression window")
        verbose_name_plural = _("suppression windows")
        indexes = [models.Index(fields=["household", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.household_id} {self.starts_at:%H:%M}-{self.ends_at:%H:%M} {self.reason}"


class RuleSetting(models.Model):
    """A rule's settings for an area (inherited by everything below it), a household or a
    person. The most specific setting wins; without any, the rule's defaults apply."""

    kind = models.CharField(_("rule"), max_length=40)
    area = models.ForeignKey(
        "core.Area", null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("area")
    )
    household = models.ForeignKey(
        "core.Household",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("household"),
    )
    person = models.ForeignKey(
        "core.Person", null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("person")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    severity = models.PositiveSmallIntegerField(
        _("severity"), choices=Severity.choices, null=True, blank=True
    )
    params = models.JSONField(_("settings"), default=dict, blank=True)

    class Meta:
        verbose_name = _("rule setting")
        verbose_name_plural = _("rule settings")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(area__isnull=False, household__isnull=True, person__isnull=True)
                    | Q(area__isnull=True, household__isnull=False, person__isnull=True)
                    | Q(area__isnull=True, household__isnull=True, person__isnull=False)
                ),
                name="rule_setting_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.area_id or self.household_id or self.person_id}"


# The property office (物业) is sent to the door: it sees its compounds' door alerts, never
# residents' health (fever, missed checks) or anything else.
PROPERTY_OFFICE_KINDS: frozenset[str] = frozenset(
    {"quarantine_door_open", "door_held_open", "device_tamper"}
)


def kinds_visible_to(user: Viewer) -> frozenset[str] | None:
    """The alert kinds a staff member may see at all; None: every kind (within their areas)."""
    if getattr(user, "role", "") == Role.PROPERTY_OFFICE and not getattr(
        user, "sees_everything", False
    ):
        return PROPERTY_OFFICE_KINDS
    return None


class Alert(models.Model):
    scope_path = "area__path"

    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=AlertStatus.choices,
        default=AlertStatus.OPEN,
        db_index=True,
    )
    # What the alert is about: "household:12", "device:7", "person:3". One open alert per
    # subject and kind; repeated triggers add occurrences to it.
    subject = models.CharField(max_length=40)
    area = models.ForeignKey(
        "core.Area",
        on_delete=models.PROTECT,
        related_name="alerts",
        verbose_name=_("area"),
        null=True,
        blank=True,
    )
    household = models.ForeignKey(
        "core.Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        verbose_name=_("household"),
    )
    person = models.ForeignKey(
        "core.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        verbose_name=_("person"),
    )
    device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
        verbose_name=_("device"),
    )
    title = models.CharField(_("title"), max_length=200)
    opened_at = models.DateTimeField(_("opened"), db_index=True)
    last_occurred_at = models.DateTimeField(_("last occurred"))
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_alerts",
        verbose_name=_("assignee"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    # From the alert to the door (上门): the first call to the resident, the person the
    # property office sent up, and when they stood at the door with what they found. Kept on
    # the alert as well as on its timeline, so the measures read one row per alert.
    called_at = models.DateTimeField(_("first called"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    dispatched_to = models.CharField(_("sent to the door"), max_length=100, blank=True)
    arrived_at = models.DateTimeField(_("at the door"), null=True, blank=True)
    arrival_outcome = models.CharField(
        _("found at the door"), max_length=20, choices=Outcome.choices, blank=True
    )
    # Escalation: 0 = the community; each step goes one level up the area tree.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    next_reminder_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ScopedQuerySet["Alert"].as_manager()

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-id"]
        permissions = [("visit_door", _("Can send someone to the door and record the arrival"))]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "kind"],
                condition=~Q(status="resolved"),
                name="one_unresolved_alert_per_subject_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def scope_restrict(user: Viewer) -> Q | None:
        """Within their areas, the property office sees only door alerts."""
        kinds = kinds_visible_to(user)
        return None if kinds is None else Q(kind__in=kinds)


class AlertEntry(models.Model):
    """The alert's timeline: every occurrence and every step a person or the system took."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        OCCURRED = "occurred", _("Occurred again")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        COMMENTED = "commented", _("Comment")
        ESCALATED = "escalated", _("Escalated")
        REMINDED = "reminded", _("Reminder sent")
        RESOLVED = "resolved", _("Resolved")
        SUPPRESSED = "suppressed", _("Within a suppression window")
        CALLED = "called", _("Called the resident")
        DISPATCHED = "dispatched", _("Sent someone to the door")
        ARRIVED = "arrived", _("At the door")
        CASE_ENDED = "case_ended", _("Quarantine case ended")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField()
    kind = models.CharField(max_length=14, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind} {self.at:%H:%M:%S}"


class ChannelKind(models.TextChoices):
    WECOM = "wecom", _("WeCom group bot")
    DINGTALK = "dingtalk", _("DingTalk bot")
    FEISHU = "feishu", _("Feishu bot")
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("JSON webhook")
    SMS = "sms", _("Template SMS")


class Channel(models.Model):
    """Somewhere alerts are sent. The target holds secrets (bot keys, access keys), so it is
    encrypted at rest and shown masked (see `shouwang.alerts.notify.channels.masked_target`)."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=ChannelKind.choices)
    # An apprise URL (wecombot://…, dingtalk://…, feishu://…, mailtos://…, json://…) or, for
    # SMS, the provider settings as JSON.
    target = EncryptedTextField(_("target"))
    per_minute = models.PositiveSmallIntegerField(
        _("messages per minute at most"),
        default=20,
        help_text=_(
            "WeCom and DingTalk bots accept about 20 a minute; a burst becomes a digest. "
            "0: no limit."
        ),
    )
    active = models.BooleanField(_("active"), default=True)
    # Which process sends for this channel now: one at a time, so the rate limit holds across
    # processes. Taken with a conditional UPDATE, given up when done; a crashed holder's lease
    # simply runs out.
    lease_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """Which alerts go to a channel: for a staff member's areas, or for an area."""

    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("channel")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        verbose_name=_("staff member"),
    )
    area = models.ForeignKey(
        "core.Area", null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("area")
    )
    kinds = models.JSONField(_("alert kinds (empty: all)"), default=list, blank=True)
    min_severity = models.PositiveSmallIntegerField(
        _("lowest severity"), choices=Severity.choices, default=Severity.WARNING
    )
    # Escalation levels this subscription hears: 0 the community's own, 1 the town's…
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(area__isnull=False),
                name="subscription_for_a_user_or_an_area",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} ← {self.user_id or self.area_id}"


class Delivery(models.Model):
    """One alert change to be told to one channel: planned in the alert's transaction, sent by
    `shouwang.alerts.notify.sender`, retried until sent or failed for a person to see."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    # Empty only for a delivery that failed when planned: no channel could carry it (a family
    # contact in an area without an SMS channel), kept for a person to see.
    channel = models.ForeignKey(
        Channel,
        null=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("channel"),
    )
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("alert")
    )
    # Who hears it: "" the channel's own recipients (a group, a mailbox, its phone numbers); or
    # a kind registered in `shouwang.alerts.notify.recipients` ("family": the family contacts
    # of the alert's person) with the recipient's id there, looked up when sending.
    recipient_kind = models.CharField(_("recipient kind"), max_length=10, blank=True, default="")
    recipient_ref = models.PositiveIntegerField(_("recipient"), default=0)
    # opened, occurred, escalated, reminded
    reason = models.CharField(_("reason"), max_length=20)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When a waiting delivery is next due. While a sender holds it (`claim`), this lies a few
    # minutes ahead, so a sender that died mid-send leaves it to be retried, never lost.
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Sent as part of a digest message (a burst over the channel's rate limit): the id of the
    # delivery that leads the digest (the lead holds its own id); 0 when sent on its own. A
    # channel's messages are its sent deliveries with digest_of 0 or equal to their own id.
    digest_of = models.PositiveIntegerField(_("in digest"), default=0)
    claim = models.CharField(max_length=32, blank=True, default="", editable=False)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["channel", "status", "sent_at"], name="delivery_channel_sent"),
            models.Index(fields=["recipient_kind", "recipient_ref"], name="delivery_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}→{self.channel_id} {self.status}"
