import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import shouwang.core.fields


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Rows from before pickup codes (none outside development): a unique placeholder index,
    # their slot ending when their round's window does.
    reservation = apps.get_model("masks", "Reservation")
    for row in reservation.objects.select_related("round"):
        row.pin_index = f"none-{row.pk}"
        row.slot_end = row.round.closes_at
        row.save(update_fields=["pin_index", "slot_end"])


class Migration(migrations.Migration):
    dependencies = [
        ("masks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="round",
            name="pickup_hours",
            field=models.PositiveIntegerField(default=48, verbose_name="hours to pick up"),
        ),
        migrations.AddField(
            model_name="reservation",
            name="slot_end",
            field=models.DateTimeField(null=True, verbose_name="pick up by"),
        ),
        migrations.AddField(
            model_name="reservation",
            name="pin",
            field=shouwang.core.fields.EncryptedTextField(
                blank=True, null=True, verbose_name="pickup code"
            ),
        ),
        migrations.AddField(
            model_name="reservation",
            name="pin_index",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="reservation",
            name="slot_end",
            field=models.DateTimeField(verbose_name="pick up by"),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="pin_index",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="reservation",
            name="picked_up_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="picked up at"),
        ),
        migrations.AddField(
            model_name="reservation",
            name="picked_up_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="handed out by",
            ),
        ),
        migrations.AlterField(
            model_name="reservation",
            name="status",
            field=models.CharField(
                choices=[
                    ("reserved", "Reserved"),
                    ("cancelled", "Cancelled"),
                    ("picked_up", "Picked up"),
                    ("released", "Not picked up: released"),
                ],
                default="reserved",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(fields=["status", "slot_end"], name="masks_resv_due"),
        ),
    ]
