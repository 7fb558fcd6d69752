"""Every IRI fedi mints, in one place."""

from __future__ import annotations

from fedi.config import Config

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class Urls:
    def __init__(self, cfg: Config) -> None:
        self.base = cfg.base_url
        self.domain = cfg.domain

    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    def post(self, username: str, post_id: int) -> str:
        return f"{self.actor(username)}/statuses/{post_id}"

    def post_html(self, username: str, post_id: int) -> str:
        return f"{self.base}/@{username}/{post_id}"

    def activity(self, username: str, kind: str, ident: object) -> str:
        return f"{self.actor(username)}/{kind}/{ident}"

    def media(self, name: str) -> str:
        return f"{self.base}/media/{name}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name}"
