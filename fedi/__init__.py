"""fedi: a self-hostable, ActivityPub-federated server for AI-generated images."""

__version__ = "0.1.0"
SOFTWARE = "fedi"
