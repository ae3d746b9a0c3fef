"""Start the web app: ``python app.py [--host H] [--port P] [--config FILE]``.

Same as ``python -m assistant serve``. Builds the index first when it is missing
or stale. Host and port default to the settings, which honour
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT.
"""
from __future__ import annotations

import argparse
import sys

from assistant.errors import AssistantError
from assistant.settings import Settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Q&A over IP policy plans, with clause citations (Gradio app)")
    p.add_argument("--host", help="interface to listen on (default: server_name setting / GRADIO_SERVER_NAME)")
    p.add_argument("--port", type=int, help="port (default: server_port setting / GRADIO_SERVER_PORT)")
    p.add_argument("--config", help="TOML settings file (default: assistant.toml or $ASSISTANT_CONFIG)")
    args = p.parse_args(argv)
    try:
        settings = Settings.load(args.config)
        from assistant.server import run_cli

        return run_cli(args, settings)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
