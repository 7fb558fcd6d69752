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
        ops.CreateModel(
            name='App',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('client_id', fields.CharField(unique=True, max_length=64)),
                ('client_secret_digest', fields.CharField(max_length=64)),
                ('name', fields.CharField(max_length=255)),
                ('website', fields.CharField(null=True, max_length=2048)),
                ('redirect_uris', fields.TextField(default='urn:ietf:wg:oauth:2.0:oob', unique=False)),
                ('scopes', fields.CharField(default='read', max_length=1024)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'apps', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A client application registered through POST /api/v1/apps (OAuth 2 client).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuthCode',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('digest', fields.CharField(unique=True, max_length=64)),
                ('app', fields.ForeignKeyField('models.App', source_field='app_id', db_constraint=True, to_field='id', related_name='codes', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='auth_codes', on_delete=OnDelete.CASCADE)),
                ('redirect_uri', fields.CharField(max_length=2048)),
                ('scopes', fields.CharField(max_length=1024)),
                ('code_challenge', fields.CharField(null=True, max_length=128)),
                ('code_challenge_method', fields.CharField(null=True, max_length=16)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'auth_codes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A one-time OAuth 2 authorization code (hashed), with its PKCE challenge.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DomainBlock',
            fields=[
                ('domain', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'domain_blocks', 'app': 'models', 'pk_attr': 'domain', 'table_description': 'A remote server the operator refuses: its activities are rejected, nothing is delivered to it.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='ai_filter',
            field=fields.CharField(default='show', db_default='show', max_length=8),
        ),
        ops.AddField(
            model_name='Account',
            name='remix_default',
            field=fields.BooleanField(default=True, db_default=True),
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
            field=fields.BooleanField(default=False, db_default=False),
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
            field=fields.JSONField(default=list, db_default='[]', encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Post',
            name='prompt_private',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Post',
            name='remix_allowed',
            field=fields.BooleanField(default=True, db_default=True),
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
        ops.AlterField(
            model_name='Token',
            name='account',
            field=fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Token',
            name='scopes',
            field=fields.CharField(default='read write follow push', db_default='read write follow push', max_length=1024),
        ),
        ops.AddField(
            model_name='Token',
            name='app',
            field=fields.ForeignKeyField('models.App', source_field='app_id', null=True, db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Token',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Token',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Token',
            name='refresh_digest',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
        ops.AddField(
            model_name='Token',
            name='revoked',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
