from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_bookmarks_blocks_markers_edits')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Filter',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_index=True, db_constraint=True, to_field='id', related_name='filters', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('context', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('action', fields.CharField(default='warn', max_length=8)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filters', 'app': 'models', 'pk_attr': 'id', 'table_description': "A reader's own filter (Mastodon filters v2), matching by keywords and by listed statuses."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FilterKeyword',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_index=True, db_constraint=True, to_field='id', related_name='keywords', on_delete=OnDelete.CASCADE)),
                ('keyword', fields.CharField(max_length=512)),
                ('whole_word', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filter_keywords', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FilterStatus',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('custom_filter', fields.ForeignKeyField('models.Filter', source_field='custom_filter_id', db_index=True, db_constraint=True, to_field='id', related_name='statuses', on_delete=OnDelete.CASCADE)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='filtered_by', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'filter_statuses', 'app': 'models', 'unique_together': (('custom_filter', 'post'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
