"""Passes, the keys that sign them, the gates that check them, and what happened at each gate.

A pass is signed once when issued (its QR content is kept in `code`), so a code keeps the key id
it was signed with: rotating the signing key leaves every printed or shown code valid until the
old key is retired, and retiring a key re-signs the passes it signed.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shouwang.core import identity
from shouwang.core.fields import EncryptedTextField
from shouwang.core.scoping import ScopedQuerySet


class KeyStatus(models.TextChoices):
    # Not the bare "Active": that msgid is a quarantine case's 隔离中.
    ACTIVE = "active", pgettext_lazy("signing key status", "Active")
    RETIRED = "retired", pgettext_lazy("signing key status", "Retired")


class SigningKey(models.Model):
    """The public half of a pass-signing key. The private half is a 0600 file under var/."""

    kid = models.CharField(_("key id"), max_length=16, unique=True)
    public_key = models.CharField(_("public key (base64url)"), max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=KeyStatus.choices, default=KeyStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        verbose_name = _("pass signing key")
        verbose_name_plural = _("pass signing keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.get_status_display()})"


class PassKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    TENANT = "tenant", _("Tenant")
    VISITOR = "visitor", _("Visitor")


class PassStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("pass status", "Active")
    SUSPENDED = "suspended", pgettext_lazy("pass status", "Suspended")
    REVOKED = "revoked", pgettext_lazy("pass status", "Revoked")
    EXPIRED = "expired", pgettext_lazy("pass status", "Expired")


class Pass(models.Model):
    scope_path = "household__area__path"

    kind = models.CharField(
        _("kind"), max_length=10, choices=PassKind.choices, default=PassKind.RESIDENT
    )
    person = models.ForeignKey(
        "core.Person",
        verbose_name=_("resident"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="passes",
    )
    visitor = models.OneToOneField(
        "passes.Visitor",
        verbose_name=_("visitor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pass_issued",
    )
    # The holder's household (a visitor's host): what scoping and the quarantine rule go by.
    household = models.ForeignKey(
        "core.Household", verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    compounds = models.ManyToManyField(
        "core.Area", verbose_name=_("compounds"), related_name="passes"
    )
    holder_name = models.CharField(_("masked name"), max_length=100)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PassStatus.choices, default=PassStatus.ACTIVE
    )
    status_reason = models.CharField(_("reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # The QR content as signed at issue (or at the last re-signing), and its key id.
    code = models.TextField(_("code"), blank=True)
    kid = models.CharField(_("key id"), max_length=16, blank=True, db_index=True)
    # The resident's personal link: only a hash is kept, the link is shown once.
    link_hash = models.CharField(_("link hash"), max_length=64, unique=True, null=True, blank=True)
    link_expires_at = models.DateTimeField(_("link expires"), null=True, blank=True)
    dynamic = models.BooleanField(_("dynamic code"), default=False)
    issued_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("issued by"),
    )
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)

    objects = ScopedQuerySet["Pass"].as_manager()

    class Meta:
        verbose_name = _("pass")
        verbose_name_plural = _("passes")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["status"], name="pass_status")]

    def __str__(self) -> str:
        return f"{self.holder_name} #{self.pk}"

    def effective_status(self, at: Any = None) -> str:
        at = at or timezone.now()
        if self.status == PassStatus.ACTIVE and self.valid_until and self.valid_until <= at:
            return PassStatus.EXPIRED
        return self.status

    def effective_status_label(self) -> str:
        return str(PassStatus(self.effective_status()).label)


class GateDevice(models.Model):
    """A turnstile, kiosk or gate phone that talks to the API with its own key (hash kept)."""

    scope_path = "compound__path"

    name = models.CharField(_("name"), max_length=100)
    compound = models.ForeignKey(
        "core.Area", verbose_name=_("compound"), on_delete=models.PROTECT, related_name="+"
    )
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    prefix = models.CharField(_("key starts with"), max_length=8)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    objects = ScopedQuerySet["GateDevice"].as_manager()

    class Meta:
        verbose_name = _("gate device")
        verbose_name_plural = _("gate devices")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Direction(models.TextChoices):
    IN = "in", _("In")
    OUT = "out", _("Out")


class Reason(models.TextChoices):
    OK = "ok", _("Valid pass")
    NOT_FOUND = "not_found", _("Pass not found")
    EXPIRED = "expired", _("Pass expired")
    NOT_YET_VALID = "not_yet_valid", _("Pass not yet valid")
    REVOKED = "revoked", _("Pass revoked")
    SUSPENDED = "suspended", _("Pass suspended")
    QUARANTINE = "quarantine", _("Suspended: home quarantine")
    WRONG_COMPOUND = "wrong_compound", _("Pass is for another compound")
    FORGED = "forged", _("Forged code: signature does not verify")
    RETIRED_KEY = "retired_key", _("Old code: its signing key is retired")
    STALE = "stale", _("Dynamic code out of its time window (screenshot?)")
    NEEDS_NETWORK = "needs_network", _("Dynamic code: can only be checked online")
    MALFORMED = "malformed", _("Not a Shouwang pass code")
    QUARANTINE_VISIT = "quarantine_visit", _("Household in home quarantine: visit not approved")
    APPROVED_VISIT = "approved_visit", _("Visit to a household in quarantine: approved")


class VisitApproval(models.TextChoices):
    """Why a worker let a visitor in to a household under home quarantine."""

    DELIVERY = "delivery", _("Delivery to the door")
    MEDICAL = "medical", _("Medical staff")
    SUPPLIES = "supplies", _("Supplies or care for the household")
    REPAIR = "repair", _("Urgent repair")
    OTHER = "other", _("Other")


class Scan(models.Model):
    """One code shown at one gate: the access log. Stored once per client scan id."""

    scope_path = "compound__path"

    scan_id = models.CharField(_("scan id"), max_length=64, unique=True)
    compound = models.ForeignKey(
        "core.Area", verbose_name=_("compound"), on_delete=models.PROTECT, related_name="+"
    )
    gate = models.CharField(_("gate"), max_length=100, blank=True)
    device = models.ForeignKey(
        GateDevice,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scans",
        verbose_name=_("gate device"),
    )
    guard = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("guard"),
    )
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.IN
    )
    at = models.DateTimeField(_("time"), db_index=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    allowed = models.BooleanField(_("allowed"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # Verified in the gate's browser or device while the server could not be reached.
    offline = models.BooleanField(_("offline"), default=False)
    # For offline scans: what the server says of the same code at the same time.
    server_reason = models.CharField(
        _("server verdict"), max_length=20, choices=Reason.choices, blank=True
    )
    method = models.CharField(_("method"), max_length=10, blank=True)
    pass_obj = models.ForeignKey(
        Pass,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scans",
        verbose_name=_("pass"),
    )
    person = models.ForeignKey(
        "core.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resident"),
    )
    holder_name = models.CharField(_("masked name"), max_length=100, blank=True)

    objects = ScopedQuerySet["Scan"].as_manager()

    class Meta:
        verbose_name = _("gate scan")
        verbose_name_plural = _("gate scans")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["compound", "at"], name="scan_compound_at")]
        permissions = [("use_gate", _("Can check passes at the gate"))]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.reason}"

    def reason_label(self) -> str:
        return str(Reason(self.reason).label)


class Visitor(identity.MaskedContact, models.Model):  # noqa: DJ008 - __str__: the masked name
    scope_path = "compound__path"

    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    phone = EncryptedTextField(_("phone number"))
    household = models.ForeignKey(
        "core.Household",
        verbose_name=_("household visited"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    compound = models.ForeignKey(
        "core.Area", verbose_name=_("compound"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason for the visit"), max_length=200)
    registered_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("registered by"),
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    # A visit to a household under home quarantine is refused at the gate until a worker
    # approves it with a reason (see `services.visitors.approve_visit`).
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    approved_by = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approval_reason = models.CharField(
        _("reason for approval"), max_length=12, choices=VisitApproval.choices, blank=True
    )
    approval_note = models.CharField(_("note"), max_length=200, blank=True)

    objects = ScopedQuerySet["Visitor"].as_manager()

    class Meta:
        verbose_name = _("visitor")
        verbose_name_plural = _("visitors")
        ordering = ["-at", "-id"]
        permissions = [
            ("approve_visitor", _("Can let a visitor in to a household under home quarantine"))
        ]
