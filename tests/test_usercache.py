"""Derived model data cached once per user (usercache.py): jieba's dictionary here
(the USE tokenizer and weights are tested in test_embeddings.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from assistant.settings import PROJECT_ROOT

TEXTS = ["知识产权质押融资的贴息政策", "专利侵权纠纷行政裁决", "著作权登记"]
SCRIPT = ("import json, sys; from assistant.tokens import plain_jieba, tokenize; "
          "print(json.dumps([tokenize(t) for t in sys.argv[1:]] + [plain_jieba().lcut(t) for t in sys.argv[1:]]))")


def _tokens_in_a_new_process(cache_home) -> list:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    out = subprocess.run([sys.executable, "-c", SCRIPT, *TEXTS], cwd=PROJECT_ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def test_jieba_dictionary_cache_gives_the_same_tokens(tmp_path):
    first = _tokens_in_a_new_process(tmp_path)
    cached = list((tmp_path / "ip-assistant").glob("jieba-*.dict.pickle"))
    assert len(cached) == 1
    assert _tokens_in_a_new_process(tmp_path) == first
    cached[0].write_bytes(b"\x80damaged")
    assert _tokens_in_a_new_process(tmp_path) == first
    assert cached[0].read_bytes() != b"\x80damaged"  # made again and rewritten
