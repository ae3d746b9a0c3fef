"""Q&A over Chinese intellectual-property policy plans, with clause citations."""

from .gradio_import import install as _lean_gradio_import

__version__ = "0.1.0"

_lean_gradio_import()  # gradio, when this process imports it, without its stub writing (gradio_import.py)
