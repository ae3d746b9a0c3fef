"""Settings and the command line, exercised the way a user does: ``python -m assistant``
in a subprocess, with real environment variables and real TOML files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from assistant.settings import Settings

# The commands the README documents; each must be offered by --help.
COMMANDS = ["config", "ingest", "build", "search", "ask", "eval", "serve"]

# Variables that would change a setting; removed so the developer's shell can't leak in.
_ALIAS_VARS = {"GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "OPENAI_API_KEY", "OPENAI_BASE_URL"}


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k not in _ALIAS_VARS}
    # Point the config file at one that does not exist, so an assistant.toml a developer
    # keeps in the project root does not change the defaults under test.
    env["ASSISTANT_CONFIG"] = str(tmp_path / "absent.toml")
    return env


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def config_json(env: dict[str, str], cwd: Path, *extra: str) -> dict[str, dict]:
    r = run_cli([*extra, "config", "--json"], env, cwd)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


SETTING_NAMES = [f.name for f in fields(Settings) if f.name != "sources"]


def test_help_lists_every_command(clean_env, project_root):
    r = run_cli(["--help"], clean_env, project_root)
    assert r.returncode == 0, r.stderr
    for cmd in COMMANDS:
        assert cmd in r.stdout, f"--help does not mention {cmd!r}:\n{r.stdout}"
    assert "--config" in r.stdout


def test_no_command_prints_help(clean_env, project_root):
    r = run_cli([], clean_env, project_root)
    assert r.returncode == 0, r.stderr
    assert "COMMAND" in r.stdout and "config" in r.stdout


def test_unknown_command_is_rejected(clean_env, project_root):
    r = run_cli(["frobnicate"], clean_env, project_root)
    assert r.returncode == 2
    assert "invalid choice" in r.stderr


def test_config_table_shows_every_setting_with_its_source(clean_env, project_root):
    r = run_cli(["config"], clean_env, project_root)
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines()[1:]:  # first line is the header
        parts = line.split()
        rows[parts[0]] = (parts[1:-1], parts[-1])
    assert sorted(rows) == sorted(SETTING_NAMES)
    defaults = Settings()
    for name, (value_words, source) in rows.items():
        assert source == "default", name
        assert " ".join(value_words) == str(getattr(defaults, name)), name


def test_config_json_values_and_types_are_the_defaults(clean_env, project_root):
    data = config_json(clean_env, project_root)
    defaults = Settings()
    assert sorted(data) == sorted(SETTING_NAMES)
    for name in SETTING_NAMES:
        assert data[name] == {"value": getattr(defaults, name), "source": "default"}, name


def test_env_var_overrides_default(clean_env, project_root):
    clean_env["ASSISTANT_TOP_K"] = "7"
    clean_env["ASSISTANT_FUSION"] = "convex"
    clean_env["ASSISTANT_WEIGHT_DENSE"] = "0.25"
    data = config_json(clean_env, project_root)
    assert data["top_k"] == {"value": 7, "source": "env:ASSISTANT_TOP_K"}
    assert data["fusion"] == {"value": "convex", "source": "env:ASSISTANT_FUSION"}
    assert data["weight_dense"] == {"value": 0.25, "source": "env:ASSISTANT_WEIGHT_DENSE"}
    # the table form names the variable too
    table = run_cli(["config"], clean_env, project_root).stdout
    top_k_line = next(line for line in table.splitlines() if line.startswith("top_k "))
    assert top_k_line.split()[1:] == ["7", "env:ASSISTANT_TOP_K"]


def test_toml_file_via_config_flag(clean_env, project_root, tmp_path):
    cfg = tmp_path / "my settings.toml"
    cfg.write_text('top_k = 3\nembedding_model = "st:all-MiniLM-L6-v2"\nrrf_k = 20\n', encoding="utf-8")
    data = config_json(clean_env, project_root, "--config", str(cfg))
    assert data["top_k"] == {"value": 3, "source": f"file:{cfg}"}
    assert data["embedding_model"] == {"value": "st:all-MiniLM-L6-v2", "source": f"file:{cfg}"}
    assert data["rrf_k"] == {"value": 20, "source": f"file:{cfg}"}
    assert data["fusion"]["source"] == "default"


def test_toml_file_via_env_and_env_wins_over_file(clean_env, project_root, tmp_path):
    cfg = tmp_path / "assistant.toml"
    cfg.write_text("top_k = 3\nrrf_k = 20\n", encoding="utf-8")
    clean_env["ASSISTANT_CONFIG"] = str(cfg)
    clean_env["ASSISTANT_TOP_K"] = "7"
    data = config_json(clean_env, project_root)
    assert data["top_k"] == {"value": 7, "source": "env:ASSISTANT_TOP_K"}
    assert data["rrf_k"] == {"value": 20, "source": f"file:{cfg}"}


def test_gradio_server_aliases(clean_env, project_root):
    clean_env["GRADIO_SERVER_PORT"] = "8123"
    clean_env["GRADIO_SERVER_NAME"] = "0.0.0.0"
    data = config_json(clean_env, project_root)
    assert data["server_port"] == {"value": 8123, "source": "env:GRADIO_SERVER_PORT"}
    assert data["server_name"] == {"value": "0.0.0.0", "source": "env:GRADIO_SERVER_NAME"}


def test_assistant_prefix_wins_over_alias(clean_env, project_root):
    clean_env["GRADIO_SERVER_PORT"] = "8123"
    clean_env["ASSISTANT_SERVER_PORT"] = "9001"
    data = config_json(clean_env, project_root)
    assert data["server_port"] == {"value": 9001, "source": "env:ASSISTANT_SERVER_PORT"}


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_api_key_is_masked(clean_env, project_root, as_json):
    secret = "sk-test-0123456789abcdef"
    clean_env["OPENAI_API_KEY"] = secret
    clean_env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
    r = run_cli(["config", "--json"] if as_json else ["config"], clean_env, project_root)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout and secret not in r.stderr
    if as_json:
        data = json.loads(r.stdout)
        assert data["llm_api_key"] == {"value": "***", "source": "env:OPENAI_API_KEY"}
        assert data["llm_base_url"] == {"value": "http://127.0.0.1:9/v1", "source": "env:OPENAI_BASE_URL"}
    else:
        line = next(line for line in r.stdout.splitlines() if line.startswith("llm_api_key "))
        assert line.split()[1:] == ["***", "env:OPENAI_API_KEY"]


def test_empty_api_key_is_shown_empty_not_masked(clean_env, project_root):
    # Masking an unset key would hide the fact that none is configured.
    data = config_json(clean_env, project_root)
    assert data["llm_api_key"] == {"value": "", "source": "default"}


def test_tmp_settings_fixture_is_isolated(tmp_settings, project_root):
    corpus = Path(tmp_settings.corpus_dir)
    assert corpus.is_dir() and not corpus.is_relative_to(project_root)
    real = sorted(p.name for p in (project_root / "corpus").iterdir())
    assert sorted(p.name for p in corpus.iterdir()) == real
    assert Path(tmp_settings.index_dir).is_dir() and not any(Path(tmp_settings.index_dir).iterdir())


def test_bad_settings_get_clear_errors(tmp_path):
    import pytest as _pytest

    from assistant.errors import SettingsError
    from assistant.settings import Settings

    with _pytest.raises(SettingsError, match="ASSISTANT_TOP_K"):
        Settings.load(env={"ASSISTANT_TOP_K": "abc"})
    bad = tmp_path / "s.toml"
    bad.write_text("topk = 3\n")
    with _pytest.raises(SettingsError, match="unknown setting"):
        Settings.load(bad, env={})
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "assistant", "--config", str(tmp_path / "missing.toml"), "config"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "does not exist" in out.stderr
