from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='ai_filter',
            field=fields.CharField(default='show', max_length=8),
        ),
        ops.AddField(
            model_name='Account',
            name='remix_default',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Media',
            name='ai_training',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Media',
            name='digital_source_type',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Media',
            name='license',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Media',
            name='original_name',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Media',
            name='provenance',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Post',
            name='ai_generated',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='guidance_scale',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Post',
            name='model_version',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Post',
            name='negative_prompt',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Post',
            name='parameters',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Post',
            name='prompt_private',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='remix_allowed',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Post',
            name='remix_of',
            field=fields.ForeignKeyField('models.Post', source_field='remix_of_id', null=True, db_constraint=True, to_field='id', related_name='remixes', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Post',
            name='remix_of_uri',
            field=fields.CharField(null=True, db_index=True, max_length=2048),
        ),
        ops.AddField(
            model_name='Post',
            name='sampler',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Post',
            name='seed',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Post',
            name='steps',
            field=fields.IntField(null=True),
        ),
    ]
