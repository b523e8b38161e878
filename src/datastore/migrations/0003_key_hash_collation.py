"""Row keys of existing data tables compared byte by byte on PostgreSQL (decision 0011), as new
tables declare them: a merge compares a table's keys with its staging table's."""

from django.db import migrations


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    DataTable = apps.get_model("datastore", "DataTable")
    existing = set(connection.introspection.table_names())
    quote = connection.ops.quote_name
    for name in DataTable.objects.values_list("table_name", flat=True):
        if name in existing:
            schema_editor.execute(
                f'ALTER TABLE {quote(name)} ALTER COLUMN _gh_key_hash TYPE varchar(32) COLLATE "C"'
            )


class Migration(migrations.Migration):
    dependencies = [("datastore", "0002_changelog_span")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
