"""One exception type per failure a user can cause, each saying what to do next."""
from __future__ import annotations


class AssistantError(Exception):
    """Base class: the message is meant for the user."""


class SettingsError(AssistantError):
    """A setting has a value of the wrong type, or the settings file is missing or malformed."""


class LoadError(AssistantError):
    """A file could not be read as a plan document."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class MetadataError(AssistantError):
    """corpus/plans.toml is missing, malformed or names a file that is not there."""


class IndexMissingError(AssistantError):
    def __init__(self, index_dir: str):
        super().__init__(
            f"No index in {index_dir}. Build it with: python -m assistant build"
        )


class IndexMismatchError(AssistantError):
    """The index was built with another embedding model, other chunking settings or an older corpus."""

    def __init__(self, index_dir: str, what: str):
        super().__init__(
            f"The index in {index_dir} is stale: {what}. Rebuild it with: python -m assistant build"
        )


class IndexCorruptError(AssistantError):
    """An index file is unreadable, truncated or does not match what the index recorded."""

    def __init__(self, index_dir: str, what: str):
        super().__init__(
            f"The index in {index_dir} is damaged ({what}). Repair it with: python -m assistant build"
        )


class EmbeddingModelError(AssistantError):
    """The configured embedding model cannot be loaded."""


class LLMUnavailableError(AssistantError):
    """The LLM endpoint is not configured, unreachable, too slow or answered unusably."""


class BadQuestionError(AssistantError):
    """The question is empty or cannot be answered as given."""
