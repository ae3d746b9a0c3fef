"""Q&A over Chinese intellectual-property policy plans, with clause citations."""

__version__ = "0.1.0"
