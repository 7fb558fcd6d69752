"""Pure builders: models and values in, ActivityStreams documents out. No database, no network."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import schemas
from fedi.models import Account, Media, Post
from fedi.urls import AS_PUBLIC, Urls
from outbox import ai

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SEC_CONTEXT = "https://w3id.org/security/v1"
EXTRA_TERMS: dict[str, Any] = {
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
    "sensitive": "as:sensitive",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "Hashtag": "as:Hashtag",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}
# fedi's own terms (schemas/context/fedi.jsonld), inlined so no consumer has to fetch anything;
# the same file is served at /ns/fedi.jsonld for people and processors that want to read it.
FEDI_TERMS: dict[str, Any] = {k: v for k, v in schemas.context("fedi")["@context"].items()
                              if k not in EXTRA_TERMS}
CONTEXT: list[Any] = [AS_CONTEXT, SEC_CONTEXT, {**EXTRA_TERMS, **FEDI_TERMS}]
Doc = dict[str, Any]


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def with_context(doc: Doc) -> Doc:
    return {"@context": CONTEXT, **doc}


def audience(visibility: str, followers_url: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """to/cc by visibility, as Mastodon addresses them."""
    if visibility == "public":
        return [AS_PUBLIC], [followers_url, *mentioned]
    if visibility == "unlisted":
        return [followers_url], [AS_PUBLIC, *mentioned]
    if visibility == "private":
        return [followers_url], list(mentioned)
    return list(mentioned), []


def image(media: Media, urls: Urls, post: Post | None = None) -> Doc:
    doc: Doc = {
        "type": "Image",
        "mediaType": media.content_type,
        "url": media.remote_url or urls.media(media.file_name or ""),
        "name": media.description or None,
        "summary": media.description or None,
        "blurhash": media.blurhash,
        "focalPoint": [media.focus_x, media.focus_y],
        "width": media.width,
        "height": media.height,
    }
    if media.digest:
        doc["digestMultibase"] = "f1220" + media.digest  # multihash sha2-256, base16 multibase
    if media.size:
        doc["size"] = media.size
    if post is not None:
        doc.update(ai.image_terms(post, media))
    return doc


def note(post: Post, author: Account, media: list[Media], urls: Urls) -> Doc:
    doc: Doc = {
        "id": post.uri,
        "type": "Note",
        "attributedTo": author.uri,
        "content": post.content,
        "published": iso(post.published),
        "url": post.url or post.uri,
        "to": post.to,
        "cc": post.cc,
        "sensitive": post.sensitive,
        "summary": post.spoiler_text or None,
        "inReplyTo": post.in_reply_to_uri,
        "attachment": [image(m, urls, post) for m in media],
        "tag": [*post.mentions, *post.tags, *ai.remix_link(post)],
        "replies": f"{post.uri}/replies",
        "likes": f"{post.uri}/likes",
        "shares": f"{post.uri}/shares",
    }
    if post.edited_at:
        doc["updated"] = iso(post.edited_at)
    doc.update(ai.note_terms(post))
    return doc


def actor(account: Account, urls: Urls) -> Doc:
    u = account.username
    doc: Doc = {
        "id": account.uri,
        "type": account.actor_type,
        "preferredUsername": u,
        "name": account.display_name or u,
        "summary": account.summary,
        "url": urls.profile(u),
        "inbox": urls.inbox(u),
        "outbox": urls.outbox(u),
        "followers": urls.followers(u),
        "following": urls.following(u),
        "featured": urls.featured(u),
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": account.manually_approves_followers,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
        "published": iso(account.created_at),
        "publicKey": {"id": account.key_id or urls.key_id(u), "owner": account.uri,
                      "publicKeyPem": account.public_key_pem},
    }
    if account.avatar_url:
        doc["icon"] = {"type": "Image", "mediaType": "image/webp", "url": account.avatar_url}
    if account.header_url:
        doc["image"] = {"type": "Image", "mediaType": "image/webp", "url": account.header_url}
    return doc


def instance_actor(account: Account, urls: Urls) -> Doc:
    """The Application actor that signs fetches; its collections exist and stay empty."""
    uri = account.uri
    return {
        "id": uri,
        "type": "Application",
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": "",
        "url": urls.base + "/",
        "inbox": f"{uri}/inbox",
        "outbox": f"{uri}/outbox",
        "followers": f"{uri}/followers",
        "following": f"{uri}/following",
        "featured": f"{uri}/collections/featured",
        "endpoints": {"sharedInbox": urls.shared_inbox()},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "published": iso(account.created_at),
        "publicKey": {"id": account.key_id, "owner": uri, "publicKeyPem": account.public_key_pem},
    }


def activity(kind: str, ident: str, actor_uri: str, obj: Any, *, to: list[str] | None = None,
             cc: list[str] | None = None, published: datetime | None = None) -> Doc:
    doc: Doc = {"id": ident, "type": kind, "actor": actor_uri, "object": obj}
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    if published is not None:
        doc["published"] = iso(published)
    return doc


def create(note_doc: Doc) -> Doc:
    return activity("Create", note_doc["id"] + "/activity", note_doc["attributedTo"], note_doc,
                    to=note_doc["to"], cc=note_doc["cc"], published=_parse(note_doc["published"]))


def update(note_doc: Doc, when: datetime) -> Doc:
    ident = f"{note_doc['id']}#updates/{int(when.timestamp())}"
    return activity("Update", ident, note_doc["attributedTo"], note_doc, to=note_doc["to"], cc=note_doc["cc"])


def update_actor(actor_doc: Doc, when: datetime) -> Doc:
    ident = f"{actor_doc['id']}#updates/{int(when.timestamp())}"
    return activity("Update", ident, actor_doc["id"], actor_doc, to=[AS_PUBLIC], cc=[actor_doc["followers"]])


def delete(post_uri: str, actor_uri: str, to: list[str], cc: list[str]) -> Doc:
    tomb = {"id": post_uri, "type": "Tombstone"}
    return activity("Delete", f"{post_uri}#delete", actor_uri, tomb, to=to, cc=cc)


def follow(ident: str, actor_uri: str, target_uri: str) -> Doc:
    return activity("Follow", ident, actor_uri, target_uri)


def accept(ident: str, actor_uri: str, follow_doc: Doc) -> Doc:
    return activity("Accept", ident, actor_uri, follow_doc)


def reject(ident: str, actor_uri: str, follow_doc: Doc) -> Doc:
    return activity("Reject", ident, actor_uri, follow_doc)


def like(ident: str, actor_uri: str, object_uri: str) -> Doc:
    return activity("Like", ident, actor_uri, object_uri)


def announce(ident: str, actor_uri: str, object_uri: str, to: list[str], cc: list[str],
             published: datetime) -> Doc:
    return activity("Announce", ident, actor_uri, object_uri, to=to, cc=cc, published=published)


def add(ident: str, actor_uri: str, object_uri: str, target: str) -> Doc:
    """A post pinned: added, by IRI, to the actor's featured collection (Mastodon's AddSerializer, plus an id)."""
    return {**activity("Add", ident, actor_uri, object_uri), "target": target}


def remove(ident: str, actor_uri: str, object_uri: str, target: str) -> Doc:
    """A post unpinned: removed from the actor's featured collection."""
    return {**activity("Remove", ident, actor_uri, object_uri), "target": target}


def undo(actor_uri: str, inner: Doc) -> Doc:
    body = {k: v for k, v in inner.items() if k != "@context"}
    return activity("Undo", f"{inner['id']}/undo", actor_uri, body, to=inner.get("to"), cc=inner.get("cc"))


def tombstone(uri: str, former_type: str, deleted: datetime) -> Doc:
    return {"id": uri, "type": "Tombstone", "formerType": former_type, "deleted": iso(deleted)}


def ordered_collection(ident: str, total: int, first: str | None = None, items: list[Any] | None = None) -> Doc:
    doc: Doc = {"id": ident, "type": "OrderedCollection", "totalItems": total}
    if first is not None:
        doc["first"] = first
    if items is not None:
        doc["orderedItems"] = items
    return doc


def collection_page(ident: str, part_of: str, items: list[Any], next_url: str | None,
                    prev_url: str | None = None) -> Doc:
    doc: Doc = {"id": ident, "type": "OrderedCollectionPage", "partOf": part_of, "orderedItems": items}
    if next_url:
        doc["next"] = next_url
    if prev_url:
        doc["prev"] = prev_url
    return doc


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
