"""Edit history with images: StatusEdit.media keeps each earlier version's images (alt texts included), as
Mastodon's history lists each version's media_attachments.

A nullable column, added with ALTER TABLE ADD COLUMN on both databases (no SQLite table rebuild, so the
indexes of 0005 stay; tests/unit/test_migrations.py checks them). Edits recorded before it have null."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_pins')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StatusEdit',
            name='media',
            field=fields.JSONField(null=True),
        ),
    ]
