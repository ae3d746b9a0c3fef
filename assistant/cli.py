"""Command line: ``python -m assistant <command>``.

Each command's work lives in its stage's module (``run_cli(args, settings) -> int``);
this file only declares the commands and their flags.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .errors import AssistantError, SettingsError
from .settings import Settings

# command -> module holding run_cli(args, settings)
COMMANDS = {
    "ingest": "assistant.ingest",
    "build": "assistant.index",
    "search": "assistant.retrieval",
    "ask": "assistant.ask",
    "eval": "assistant.eval_run",
    "train": "assistant.eval_run",
    "serve": "assistant.server",
    "add": "assistant.knowledge",
    "list": "assistant.knowledge",
    "remove": "assistant.knowledge",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m assistant",
        description="Answer questions about Chinese IP policy plans, citing the exact clause.",
    )
    p.add_argument("--config", help="TOML settings file (default: assistant.toml or $ASSISTANT_CONFIG)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("config", help="print every setting, its value and where it came from")
    c.add_argument("--json", action="store_true", help="print as JSON")

    c = sub.add_parser("ingest", help="clean and parse corpus/ into index/clauses.jsonl")
    c.add_argument("--json", action="store_true", help="print the per-document report as JSON")
    c.add_argument("--quality-scan", metavar="PATH",
                   help="instead: parse every document of a folder or tar archive (e.g. laws-all.tar.xz) "
                        "and print the parse-quality distribution (python -m assistant.parse_quality)")

    c = sub.add_parser("add", help="add a document (txt, md, pdf, html, docx) to the knowledge base and index it")
    c.add_argument("file")
    c.add_argument("--replace", action="store_true", help="replace a document of the same file name")
    c.add_argument("--json", action="store_true", help="print its parse report as JSON")

    c = sub.add_parser("list", help="the documents of the knowledge base with their parse reports")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("remove", help="remove a document (by id, file name or title) and update the index")
    c.add_argument("ref", metavar="ID-OR-TITLE")

    c = sub.add_parser("build", help="ingest (if needed), chunk, embed and index the corpus into index/")
    c.add_argument("--model", help="embedding model: 'use' or 'st:<name-or-folder>' (overrides the setting)")
    c.add_argument("--force", action="store_true", help="re-embed every document, not only changed ones")
    c.add_argument("--json", action="store_true", help="print the build summary as JSON")

    c = sub.add_parser("search", help="show ranked clauses for a question")
    c.add_argument("question")
    c.add_argument("--k", type=int, default=10)
    c.add_argument("--mode", default="hybrid+qu", choices=["bm25", "dense", "hybrid", "hybrid+qu"])
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("ask", help="answer a question with clause citations")
    c.add_argument("question", nargs="?", help="the question (or use --jsonl)")
    c.add_argument("--history", help="JSON file with earlier turns: [{\"q\": ..., \"a\": ...}]")
    c.add_argument("--jsonl", help="answer every line {id, question, history} of this file")
    c.add_argument("--out", help="with --jsonl: write answers here instead of stdout")
    c.add_argument("--answerer", choices=["extractive", "llm"], help="override the configured answerer")
    c.add_argument("--json", action="store_true", help="print the full JSON answer")

    c = sub.add_parser("eval", help="evaluate every suite (in sample and out of fold) on its gold files")
    c.add_argument("--suite", help="run one suite (plans, laws); default: all")
    c.add_argument("--gold", help="evaluate this gold JSONL file only (of --suite, default the suite it belongs to)")
    c.add_argument("--retrieval-only", action="store_true")
    c.add_argument("--no-cv", action="store_true", help="in-sample figures only (no cross-validation)")
    c.add_argument("--check-floors", action="store_true", help="exit 1 if a metric is below eval/floors.json")
    c.add_argument("--out", help="report directory (default eval/)")
    c.add_argument("--strategies", nargs="?", const="all", metavar="NAMES",
                   help="instead: out-of-fold figures of the tuning suites under each selection rule "
                        "(comma-separated names of eval_run.STRATEGIES; default all); writes strategies.md/json")

    sub.add_parser("train", help="choose the tuned constants on all gold questions; write assistant/tuned.json")

    c = sub.add_parser("serve", help="start the Gradio app (same as python app.py)")
    c.add_argument("--host")
    c.add_argument("--port", type=int)
    return p


def print_config(settings: Settings, as_json: bool) -> int:
    rows = settings.items()
    if as_json:
        print(json.dumps({k: {"value": v, "source": s} for k, v, s in rows}, ensure_ascii=False, indent=2))
        return 0
    w = max(len(k) for k, _, _ in rows)
    vw = min(60, max(len(str(v)) for _, v, _ in rows))
    print(f"{'setting'.ljust(w)}  {'value'.ljust(vw)}  source")
    for k, v, s in rows:
        print(f"{k.ljust(w)}  {str(v).ljust(vw)}  {s}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        if args.config and not os.path.isfile(args.config):
            raise SettingsError(f"settings file {args.config} does not exist")
        settings = Settings.load(args.config)
        if args.command == "config":
            return print_config(settings, args.json)
        module = importlib.import_module(COMMANDS[args.command])
        return int(module.run_cli(args, settings) or 0)
    except AssistantError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
