"""Door sensors: the registry, their lifecycle, every event they send, and their health."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shouwang.core.scoping import ScopedQuerySet


class DeviceStatus(models.TextChoices):
    # Heard from but not registered: kept (with its events) for an operator to claim.
    UNCLAIMED = "unclaimed", _("Unclaimed")
    IN_STOCK = "in_stock", _("In stock")
    INSTALLED = "installed", _("Installed")
    RECOVERED = "recovered", _("Recovered")
    RETIRED = "retired", _("Retired")
    LOST = "lost", _("Lost")


class DoorState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class DeviceKind(models.Model):
    """Settings per device model: how long silence means offline, when the battery is low."""

    model = models.CharField(_("model"), max_length=100, unique=True)
    offline_after = models.DurationField(_("offline after"), default=timedelta(hours=25))
    low_battery_percent = models.PositiveSmallIntegerField(_("low battery at (%)"), default=20)

    class Meta:
        verbose_name = _("device model")
        verbose_name_plural = _("device models")

    def __str__(self) -> str:
        return self.model


class Device(models.Model):
    scope_path = "area__path"

    adapter = models.CharField(_("adapter"), max_length=20)
    # The identifier the network uses (friendly name, DevEUI, platform device id…).
    key = models.CharField(_("device id"), max_length=200)
    # A hardware-bound id when the network also sends one (IEEE address, IMEI).
    hardware_id = models.CharField(_("hardware id"), max_length=64, blank=True, db_index=True)
    # The code printed on the sensor's sticker, for workers typing it in.
    label = models.CharField(_("label"), max_length=64, blank=True, db_index=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=DeviceStatus.choices,
        default=DeviceStatus.UNCLAIMED,
        db_index=True,
    )
    # Where the device is: the household's area when installed, the stock's area otherwise.
    # Scoping goes through it; NULL (not yet claimed) is seen by platform-wide roles only.
    area = models.ForeignKey(
        "core.Area",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("area"),
    )
    household = models.ForeignKey(
        "core.Household",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="devices",
        verbose_name=_("household"),
    )
    offline_after = models.DurationField(
        _("offline after (this device)"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use the model's or the default timeout."),
    )
    # Health, as of the newest message (state fields only move forward in event time).
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    state_at = models.DateTimeField(_("state as of"), null=True, blank=True)
    door = models.CharField(_("door"), max_length=6, choices=DoorState.choices, blank=True)
    door_changed_at = models.DateTimeField(_("door changed"), null=True, blank=True)
    battery_percent = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    battery_mv = models.PositiveIntegerField(_("battery (mV)"), null=True, blank=True)
    battery_low = models.BooleanField(_("battery low"), default=False)
    tamper = models.BooleanField(_("tampered or removed"), default=False)
    signal = models.IntegerField(_("signal"), null=True, blank=True)
    offline = models.BooleanField(_("offline"), default=False, db_index=True)
    offline_since = models.DateTimeField(_("offline since"), null=True, blank=True)
    # For networks without message ids: the hash of the last message, to drop a redelivery.
    last_raw_hash = models.CharField(_("last message hash"), max_length=64, blank=True)
    # MQTT deliveries of keyless messages stored lately (time- and count-bounded), written with
    # the events: a redelivered one (DUP flag) found here is dropped, even after a restart.
    # Fixed-width entries; see devices/services/ingest/redelivery.py.
    recent_deliveries = models.TextField(_("recent deliveries"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ScopedQuerySet["Device"].as_manager()

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["adapter", "key"]
        constraints = [
            models.UniqueConstraint(fields=["adapter", "key"], name="device_adapter_key"),
        ]

    def __str__(self) -> str:
        return self.label or self.key


class Installation(models.Model):
    """One stay of a device at a household: who installed it, who took it back, when."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="installations")
    household = models.ForeignKey(
        "core.Household", on_delete=models.PROTECT, related_name="installations"
    )
    installed_at = models.DateTimeField()
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-installed_at"]
        constraints = [
            # A device is at one household at a time.
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(recovered_at__isnull=True),
                name="one_open_installation_per_device",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.household_id} {self.installed_at:%Y-%m-%d}"


class DeviceEvent(models.Model):
    """Every message a device sent, normalised, with the raw message kept."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="events")
    received_at = models.DateTimeField()
    event_time = models.DateTimeField()
    kind = models.CharField(max_length=12)
    door = models.CharField(max_length=6, blank=True)
    battery_percent = models.PositiveSmallIntegerField(null=True)
    battery_mv = models.PositiveIntegerField(null=True)
    battery_low = models.BooleanField(null=True)
    tamper = models.BooleanField(null=True)
    online = models.BooleanField(null=True)
    signal = models.IntegerField(null=True)
    # Older than the device's state when it arrived: stored, but it changed nothing.
    stale = models.BooleanField(default=False)
    # The network's message identity; NULL where the network has none.
    dedup_key = models.CharField(max_length=120, null=True)  # noqa: DJ001
    transport = models.CharField(max_length=6)
    raw = models.JSONField()

    class Meta:
        ordering = ["-event_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "dedup_key"], name="device_event_dedup"),
        ]
        indexes = [models.Index(fields=["device", "-event_time"], name="device_event_timeline")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.door} {self.event_time:%Y-%m-%d %H:%M:%S}"


class HealthKind(models.TextChoices):
    OFFLINE = "offline", _("Went offline")
    ONLINE = "online", _("Back online")
    TAMPER = "tamper", _("Tampered or removed")
    TAMPER_CLEARED = "tamper_cleared", _("Tamper cleared")
    BATTERY_LOW = "battery_low", _("Battery low")
    BATTERY_OK = "battery_ok", _("Battery replaced")


class HealthEvent(models.Model):
    """A change in a device's health; the alerts app turns these into alerts."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="health_events")
    kind = models.CharField(max_length=16, choices=HealthKind.choices)
    at = models.DateTimeField(db_index=True)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class DeadLetter(models.Model):
    """A message that could not be decoded, kept with the reason for an operator to see.

    Held by the area of the ingest key (HTTP) or of the batch it came in; one with no area
    (MQTT: nothing decoded says where it is from) is seen by platform-wide roles only.
    """

    scope_path = "area__path"

    received_at = models.DateTimeField(_("received"), db_index=True)
    adapter = models.CharField(_("adapter"), max_length=20)
    transport = models.CharField(_("transport"), max_length=6)
    topic = models.CharField(_("topic"), max_length=300, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    # Readable text of `body`: invalid UTF-8 and NUL (which PostgreSQL's text refuses) replaced.
    payload = models.TextField(_("payload"))
    # The bytes exactly as received (up to DEAD_LETTER_MAX_BYTES).
    body = models.BinaryField(_("bytes received"), default=b"")
    # ingest key name or client address
    source = models.CharField(_("source"), max_length=100, blank=True)
    area = models.ForeignKey(
        "core.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The same message again (a broker's redelivery, a gateway's retry) is this one row:
    # a hash of where it came from and its bytes. NULL on rows from before it existed.
    fingerprint = models.CharField(_("fingerprint"), max_length=64, null=True, unique=True)  # noqa: DJ001
    # Times the same message came again, not counting MQTT redeliveries (DUP).
    repeats = models.PositiveIntegerField(_("repeats"), default=0)

    objects = ScopedQuerySet["DeadLetter"].as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")

    def __str__(self) -> str:
        return f"{self.adapter} {self.received_at:%Y-%m-%d %H:%M}: {self.reason[:60]}"


class IngestKey(models.Model):
    """A credential for one gateway or integration to push messages. Only its hash is kept."""

    name = models.CharField(_("name"), max_length=100)
    adapter = models.CharField(_("adapter"), max_length=20)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    prefix = models.CharField(_("key starts with"), max_length=8)
    # New, unknown devices heard through this key are placed here for claiming.
    area = models.ForeignKey(
        "core.Area", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("area")
    )
    # Adapter settings, e.g. {"token": "..."} for OneNET's signature.
    config = models.JSONField(_("adapter settings"), default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("ingest key")
        verbose_name_plural = _("ingest keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.adapter}, {self.prefix}…)"
