"""The staff groups Pricing, Account executives and Support, with the permissions ``core.permissions`` defines."""

from django.db import migrations

from core.permissions import groups_delete, groups_sync


def groups_create(apps, schema_editor):
    groups_sync(apps=apps, using=schema_editor.connection.alias)


def groups_remove(apps, schema_editor):
    groups_delete(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("catalog", "0002_feature_forced_value"),
        ("entitlements", "0003_company_has_payment_method_companyoverride"),
    ]

    operations = [
        migrations.RunPython(groups_create, groups_remove),
    ]
