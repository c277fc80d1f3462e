"""Family SMS notices become deliveries of the alerts' one delivery engine (recipient kind
"family"): each notice is carried over with its status, attempts and error, through the SMS
channel subscribed nearest above its alert's area (none: kept as failed, as before)."""

from django.db import migrations


def carry_over(apps, schema_editor):
    FamilyNotice = apps.get_model("quarantine", "FamilyNotice")
    Delivery = apps.get_model("alerts", "Delivery")
    Subscription = apps.get_model("alerts", "Subscription")
    channels = {}
    for notice in FamilyNotice.objects.select_related("alert__area").iterator():
        area = notice.alert.area
        path = area.path if area is not None else ""
        if path not in channels:
            covering = [path[:end] for end in range(4, len(path) + 1, 4)]
            found = (
                Subscription.objects.filter(
                    channel__active=True, channel__kind="sms", area__path__in=covering
                )
                .order_by("-area__depth")
                .first()
            )
            channels[path] = found.channel_id if found else None
        channel_id = channels[path]
        status = notice.status if channel_id or notice.status != "pending" else "failed"
        Delivery.objects.create(
            channel_id=channel_id,
            alert_id=notice.alert_id,
            reason="opened",
            recipient_kind="family",
            recipient_ref=notice.contact_id or 0,
            status=status,
            created_at=notice.created_at,
            attempts=notice.attempts,
            next_attempt_at=notice.next_attempt_at,
            sent_at=notice.sent_at,
            last_error=notice.last_error or ("" if channel_id else "该区域没有短信渠道"),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("quarantine", "0001_initial"),
        ("alerts", "0003_delivery_recipients"),
    ]

    operations = [
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.DeleteModel(name="FamilyNotice"),
    ]
