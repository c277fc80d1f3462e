# The Watch model moves from the alerts app to this one, which owns it (cases and care
# enrolments start and end watches; its rules read them). Only Django's idea of the model
# moves: the table keeps its name (alerts_watch), its rows, its index and the foreign keys
# pointing at it, so nothing is copied and nothing can be lost. alerts 0004 then forgets it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("quarantine", "0002_family_notices_are_deliveries"),
        ("alerts", "0003_delivery_recipients"),
        ("core", "0003_labels"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Watch",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("quarantine", "Home quarantine"), ("care", "Care watch")],
                                max_length=12,
                                verbose_name="kind",
                            ),
                        ),
                        ("starts_at", models.DateTimeField(verbose_name="starts")),
                        (
                            "ends_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="ends"),
                        ),
                        ("paused", models.BooleanField(default=False, verbose_name="paused")),
                        (
                            "params",
                            models.JSONField(blank=True, default=dict, verbose_name="settings"),
                        ),
                        (
                            "household",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="watches",
                                to="core.household",
                                verbose_name="household",
                            ),
                        ),
                        (
                            "person",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="watches",
                                to="core.person",
                                verbose_name="person",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "alerts_watch",
                        "verbose_name": "watch",
                        "verbose_name_plural": "watches",
                        "indexes": [
                            models.Index(
                                fields=["household", "kind"], name="alerts_watc_househo_fad9d2_idx"
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="case",
                    name="watch",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="quarantine.watch",
                    ),
                ),
                migrations.AlterField(
                    model_name="careenrolment",
                    name="watch",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="quarantine.watch",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
