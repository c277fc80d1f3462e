from django.db import migrations

TAGS = [
    ("living_alone", "独居老人", "Elderly, living alone", False),
    ("elderly", "老年人", "Elderly", False),
    ("disabled", "残疾人", "Disabled", False),
    ("chronic_illness", "慢性病", "Chronic illness", False),
    ("pregnant", "孕产妇", "Pregnant or postpartum", False),
    ("tenant", "租户", "Tenant", False),
    ("under_quarantine", "居家隔离中", "Under home quarantine", True),
]


def add_tags(apps, schema_editor):
    Tag = apps.get_model("core", "Tag")
    for code, name, name_en, system in TAGS:
        Tag.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "system": system}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(add_tags, migrations.RunPython.noop)]
