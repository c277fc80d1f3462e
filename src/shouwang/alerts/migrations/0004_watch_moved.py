# Watch now belongs to the quarantine app (quarantine 0003 took it over, table and rows
# unchanged); the alerts app only forgets it. No database operation.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_delivery_recipients"),
        ("quarantine", "0003_watch"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Watch")],
            database_operations=[],
        ),
    ]
