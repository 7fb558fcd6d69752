"""Storage: every row fedi keeps. Models hold data only; conversion lives in builders/serializers."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

VISIBILITIES = ("public", "unlisted", "private", "direct")
DEFAULT_SCOPES = "read write follow push"


class Account(Model):
    """A person: local (domain is None, has keys) or remote (cached copy of an actor)."""

    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=255)
    domain = fields.CharField(max_length=255, null=True, db_index=True)
    uri = fields.CharField(max_length=2048, unique=True)
    url = fields.CharField(max_length=2048, null=True)
    actor_type = fields.CharField(max_length=32, default="Person")
    display_name = fields.CharField(max_length=255, default="")
    summary = fields.TextField(default="")
    avatar_url = fields.CharField(max_length=2048, null=True)
    header_url = fields.CharField(max_length=2048, null=True)
    inbox = fields.CharField(max_length=2048, default="")
    shared_inbox = fields.CharField(max_length=2048, null=True)
    outbox = fields.CharField(max_length=2048, null=True)
    followers_url = fields.CharField(max_length=2048, null=True)
    following_url = fields.CharField(max_length=2048, null=True)
    featured_url = fields.CharField(max_length=2048, null=True)    # remote actors' `featured` (pinned posts)
    key_id = fields.CharField(max_length=2048, null=True, db_index=True)
    public_key_pem = fields.TextField(default="")
    private_key_pem = fields.TextField(null=True)
    password_hash = fields.CharField(max_length=255, null=True)
    manually_approves_followers = fields.BooleanField(default=False)
    discoverable = fields.BooleanField(default=True)
    # show | blur | hide AI-labelled posts from other servers
    ai_filter = fields.CharField(max_length=8, default="show", db_default="show")
    remix_default = fields.BooleanField(default=True, db_default=True)
    bot = fields.BooleanField(default=False)
    suspended = fields.BooleanField(default=False)
    gone = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    fetched_at = fields.DatetimeField(null=True)

    class Meta:
        table = "accounts"
        unique_together = (("username", "domain"),)

    @property
    def local(self) -> bool:
        return self.domain is None

    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


class Post(Model):
    """A status: an image post, a reply, or a boost (reblog_of set, like Mastodon)."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    url = fields.CharField(max_length=2048, null=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="posts", on_delete=fields.CASCADE
    )
    account_id: int
    local = fields.BooleanField(default=False)
    text = fields.TextField(default="")
    content = fields.TextField(default="")
    visibility = fields.CharField(max_length=16, default="public")
    sensitive = fields.BooleanField(default=False)
    spoiler_text = fields.TextField(default="")
    language = fields.CharField(max_length=16, null=True)
    in_reply_to_uri = fields.CharField(max_length=2048, null=True, db_index=True)
    in_reply_to: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    in_reply_to_id: int | None
    reblog_of: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="reblogs", null=True, on_delete=fields.CASCADE
    )
    reblog_of_id: int | None
    # generation metadata (how the image was made); prompt_private keeps the prompt off the wire
    ai_generated = fields.BooleanField(default=False, db_default=False)
    prompt = fields.TextField(null=True)
    negative_prompt = fields.TextField(null=True)
    model_name = fields.CharField(max_length=255, null=True)
    model_version = fields.CharField(max_length=255, null=True)
    seed = fields.BigIntField(null=True)
    steps = fields.IntField(null=True)
    sampler = fields.CharField(max_length=255, null=True)
    guidance_scale = fields.FloatField(null=True)
    # [{"name": ..., "value": ...}]
    parameters: fields.JSONField[list[dict[str, str]]] = fields.JSONField(default=list, db_default="[]")
    prompt_private = fields.BooleanField(default=False, db_default=False)
    remix_of_uri = fields.CharField(max_length=2048, null=True, db_index=True)
    remix_of: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="remixes", null=True, on_delete=fields.SET_NULL
    )
    remix_of_id: int | None
    remix_allowed = fields.BooleanField(default=True, db_default=True)
    tags: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    mentions: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    to: fields.JSONField[list[str]] = fields.JSONField(default=list)
    cc: fields.JSONField[list[str]] = fields.JSONField(default=list)
    favourites_count = fields.IntField(default=0)
    reblogs_count = fields.IntField(default=0)
    replies_count = fields.IntField(default=0)
    published = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    # featured on its author's profile (Mastodon's pins): set by the author for local posts, by Add/Remove
    # to the author's featured collection for remote ones
    pinned_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "posts"


class Media(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="media", on_delete=fields.CASCADE
    )
    account_id: int
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="media", null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    position = fields.IntField(default=0)
    file_name = fields.CharField(max_length=255, null=True)
    thumb_name = fields.CharField(max_length=255, null=True)
    remote_url = fields.CharField(max_length=2048, null=True)
    content_type = fields.CharField(max_length=64, default="image/webp")
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    size = fields.BigIntField(null=True)
    digest = fields.CharField(max_length=128, null=True)
    blurhash = fields.CharField(max_length=128, null=True)
    description = fields.TextField(default="")
    focus_x = fields.FloatField(default=0.0)
    focus_y = fields.FloatField(default=0.0)
    original_name = fields.CharField(max_length=255, null=True)
    license = fields.CharField(max_length=255, null=True)          # a URL or an SPDX id
    ai_training = fields.BooleanField(null=True)                   # consent to AI training; None: not said
    digital_source_type = fields.CharField(max_length=255, null=True)
    # C2PA reading: status, claim generator, ...
    provenance: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "media"


class Like(Model):
    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="likes", on_delete=fields.CASCADE
    )
    account_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="likes", on_delete=fields.CASCADE
    )
    post_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "likes"
        unique_together = (("account", "post"),)


class Follow(Model):
    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    follower: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="following_rel", on_delete=fields.CASCADE
    )
    follower_id: int
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="followers_rel", on_delete=fields.CASCADE
    )
    target_id: int
    accepted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (("follower", "target"),)


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE
    )
    account_id: int
    from_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="caused_notifications", on_delete=fields.CASCADE
    )
    from_account_id: int
    type = fields.CharField(max_length=32)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notifications"


class App(Model):
    """A client application registered through POST /api/v1/apps (OAuth 2 client)."""

    id = fields.BigIntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    client_secret_digest = fields.CharField(max_length=64)
    name = fields.CharField(max_length=255)
    website = fields.CharField(max_length=2048, null=True)
    redirect_uris = fields.TextField(default="urn:ietf:wg:oauth:2.0:oob")   # one per line
    scopes = fields.CharField(max_length=1024, default="read")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "apps"


class AuthCode(Model):
    """A one-time OAuth 2 authorization code (hashed), with its PKCE challenge."""

    id = fields.BigIntField(primary_key=True)
    digest = fields.CharField(max_length=64, unique=True)
    app: fields.ForeignKeyRelation[App] = fields.ForeignKeyField(
        "models.App", related_name="codes", on_delete=fields.CASCADE
    )
    app_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="auth_codes", on_delete=fields.CASCADE
    )
    account_id: int
    redirect_uri = fields.CharField(max_length=2048)
    scopes = fields.CharField(max_length=1024)
    code_challenge = fields.CharField(max_length=128, null=True)
    code_challenge_method = fields.CharField(max_length=16, null=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "auth_codes"


class Token(Model):
    id = fields.BigIntField(primary_key=True)
    digest = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    account_id: int | None          # None for an app's client_credentials token
    app: fields.ForeignKeyNullableRelation[App] = fields.ForeignKeyField(
        "models.App", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    app_id: int | None
    refresh_digest = fields.CharField(max_length=64, null=True, unique=True)
    scopes = fields.CharField(max_length=1024, default=DEFAULT_SCOPES, db_default=DEFAULT_SCOPES)
    expires_at = fields.DatetimeField(null=True)
    revoked = fields.BooleanField(default=False, db_default=False)
    last_used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tokens"


class Activity(Model):
    """An activity we sent, kept so it can be served at its id."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    type = fields.CharField(max_length=32)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="activities", on_delete=fields.CASCADE
    )
    account_id: int
    post_id_ref = fields.BigIntField(null=True, db_index=True)
    body: fields.JSONField[dict[str, Any]] = fields.JSONField()
    public = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "activities"


class Delivery(Model):
    """One signed POST to one inbox: pending -> done | dead, with retries and backoff."""

    id = fields.BigIntField(primary_key=True)
    activity_uri = fields.CharField(max_length=2048)
    post_id_ref = fields.BigIntField(null=True, db_index=True)
    sender: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="deliveries", on_delete=fields.CASCADE
    )
    sender_id: int
    inbox = fields.CharField(max_length=2048)
    host = fields.CharField(max_length=255, db_index=True)
    body = fields.TextField()
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_try = fields.DatetimeField(db_index=True)
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "deliveries"


class Host(Model):
    """Availability of a remote server, as delivery sees it."""

    domain = fields.CharField(max_length=255, primary_key=True)
    failure_days: fields.JSONField[list[str]] = fields.JSONField(default=list)
    unavailable = fields.BooleanField(default=False)
    last_success = fields.DatetimeField(null=True)

    class Meta:
        table = "hosts"


class InboxItem(Model):
    """Every inbound activity id we accepted (so replays are no-ops), and queued work."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(max_length=2048, unique=True)
    type = fields.CharField(max_length=32)
    actor_uri = fields.CharField(max_length=2048)
    body: fields.JSONField[dict[str, Any]] = fields.JSONField()
    state = fields.CharField(max_length=16, default="done", db_index=True)
    attempts = fields.IntField(default=0)
    next_try = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "inbox_items"


class Bookmark(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bookmarks", on_delete=fields.CASCADE
    )
    account_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="bookmarked_by", on_delete=fields.CASCADE
    )
    post_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bookmarks"
        unique_together = (("account", "post"),)


class Block(Model):
    """One account blocking (kind "block") or muting (kind "mute") another."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=8, default="block")
    uri = fields.CharField(max_length=2048, null=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocks_made", on_delete=fields.CASCADE
    )
    account_id: int
    target: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocks_received", on_delete=fields.CASCADE
    )
    target_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blocks"
        unique_together = (("kind", "account", "target"),)


class Marker(Model):
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="markers", on_delete=fields.CASCADE
    )
    account_id: int
    timeline = fields.CharField(max_length=16)
    last_read_id = fields.CharField(max_length=32)
    version = fields.IntField(default=0, db_default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "markers"
        unique_together = (("account", "timeline"),)


class StatusEdit(Model):
    """An earlier version of a post, kept when it is edited (for the edit history)."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="edits", on_delete=fields.CASCADE
    )
    post_id: int
    content = fields.TextField()
    spoiler_text = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    # the images as they were (fedi/edits.py), null before migration 0007
    media: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)

    class Meta:
        table = "status_edits"


class DomainBlock(Model):
    """A remote server the operator refuses: its activities are rejected, nothing is delivered to it."""

    domain = fields.CharField(max_length=255, primary_key=True)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "domain_blocks"


class Tombstone(Model):
    uri = fields.CharField(max_length=2048, primary_key=True)
    former_type = fields.CharField(max_length=32, default="Note")
    deleted_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tombstones"


class Filter(Model):
    """A reader's own filter (Mastodon filters v2), matching by keywords and by listed statuses.

    context lists where it applies, action is warn, hide or blur, expires_at ends it."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="filters", on_delete=fields.CASCADE, db_index=True
    )
    account_id: int
    title = fields.CharField(max_length=255)
    # home, notifications, public, thread, account
    context: fields.JSONField[list[str]] = fields.JSONField(default=list)
    action = fields.CharField(max_length=8, default="warn")
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filters"


class FilterKeyword(Model):
    id = fields.BigIntField(primary_key=True)
    custom_filter: fields.ForeignKeyRelation[Filter] = fields.ForeignKeyField(
        "models.Filter", related_name="keywords", on_delete=fields.CASCADE, db_index=True
    )
    custom_filter_id: int
    keyword = fields.CharField(max_length=512)
    whole_word = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filter_keywords"


class FilterStatus(Model):
    id = fields.BigIntField(primary_key=True)
    custom_filter: fields.ForeignKeyRelation[Filter] = fields.ForeignKeyField(
        "models.Filter", related_name="statuses", on_delete=fields.CASCADE, db_index=True
    )
    custom_filter_id: int
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="filtered_by", on_delete=fields.CASCADE
    )
    post_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "filter_statuses"
        unique_together = (("custom_filter", "post"),)
