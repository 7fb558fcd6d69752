"""Pure builders for fedi's AI-image terms: generation metadata, label, licence and remix links.

Terms are defined in schemas/context/fedi.jsonld (namespace https://w3id.org/fedi/ns#);
consumers that do not know them lose nothing: the content carries "Made with MODEL" and #AIart.
"""

from __future__ import annotations

from typing import Any

from fedi.models import Media, Post

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
AS2_LINK_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
Doc = dict[str, Any]


def generation_pairs(post: Post, *, include_prompt: bool) -> list[dict[str, str]]:
    """The generation parameters as PropertyValue pairs (FEP-ee3a's exifData shape)."""
    pairs: list[tuple[str, Any]] = [
        ("model", post.model_name), ("modelVersion", post.model_version),
        ("prompt", post.prompt if include_prompt else None),
        ("negativePrompt", post.negative_prompt if include_prompt else None),
        ("seed", post.seed), ("steps", post.steps), ("sampler", post.sampler),
        ("guidanceScale", post.guidance_scale),
    ]
    pairs += [(str(p.get("name")), p.get("value")) for p in post.parameters if isinstance(p, dict)]
    return [{"type": "PropertyValue", "name": name, "value": str(value)} for name, value in pairs
            if value is not None and value != ""]


def note_terms(post: Post) -> Doc:
    """Note-level terms: the generator, the label, the public parameters, remix links."""
    doc: Doc = {}
    if post.ai_generated:
        doc["aiGenerated"] = True
        if post.model_name:
            generator: Doc = {"type": "Application", "name": post.model_name}
            if post.model_version:
                generator["version"] = post.model_version
            doc["generator"] = generator
        value: str | int | float | None
        if post.prompt_private:
            doc["promptPrivate"] = True
        else:
            for key, value in (("prompt", post.prompt), ("negativePrompt", post.negative_prompt)):
                if value:
                    doc[key] = value
        for key, value in (("seed", post.seed), ("steps", post.steps), ("sampler", post.sampler),
                           ("guidanceScale", post.guidance_scale)):
            if value is not None:
                doc[key] = value
    doc["remixes"] = f"{post.uri}/remixes"
    doc["remixAllowed"] = post.remix_allowed
    if post.remix_of_uri:
        doc["isBasedOn"] = post.remix_of_uri
    return doc


def remix_link(post: Post) -> list[Doc]:
    """FEP-e232 object link to the parent of a remix, for the Note's tag list."""
    if not post.remix_of_uri:
        return []
    return [{"type": "Link", "mediaType": AS2_LINK_TYPE, "href": post.remix_of_uri, "rel": "isBasedOn",
             "name": f"Remix of {post.remix_of_uri}"}]


def image_terms(post: Post, media: Media) -> Doc:
    doc: Doc = {}
    if post.ai_generated:
        doc["digitalSourceType"] = media.digital_source_type or TRAINED_ALGORITHMIC_MEDIA
        pairs = generation_pairs(post, include_prompt=not post.prompt_private)
        if pairs:
            doc["exifData"] = pairs
    elif media.digital_source_type:
        doc["digitalSourceType"] = media.digital_source_type
    if media.license:
        doc["license"] = media.license
    if media.ai_training is not None:
        doc["aiTrainingAllowed"] = media.ai_training
    return doc
