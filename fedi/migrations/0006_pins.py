"""Pinned posts (Mastodon's pins, the featured collection): Post.pinned_at, and Account.featured_url for remote
actors, whose Add/Remove to that collection pin and unpin their posts here.

Nullable columns are added with ALTER TABLE ADD COLUMN on both databases; tortoise does not rebuild the tables
for them on SQLite, so the indexes of 0005 stay (tests/unit/test_migrations.py checks them)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='featured_url',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='Post',
            name='pinned_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
