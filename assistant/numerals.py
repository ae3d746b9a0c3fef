"""Chinese numerals as documents write them in clause numbers.

``cn_to_int`` reads 一 … 九千九百九十九 (第一千一百六十四条), with 零/〇 fillers
(一百零三) and 两 for 二, and Arabic digits; it returns None for a string that is
not one well-formed number (``"十四五"``), so a word made of numeral characters is
never taken for a clause number. ``int_to_cn`` writes a number the way clause
numbers are written (十一, 一百零一, 一百一十五, 一千零五).
"""
from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千"
_CN_WRITE = "一二三四五六七八九"

_D = "[一二两三四五六七八九]"
_Z = "[零〇]"
_CN_RE = re.compile(
    rf"(?:(?P<k>{_D})千)?"
    rf"(?:(?P<kz>{_Z}))?"
    rf"(?:(?P<h>{_D})百)?"
    rf"(?:(?P<hz>{_Z}))?"
    rf"(?:(?P<t>{_D})?(?P<ten>十))?"
    rf"(?P<u>{_D})?"
)
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


def cn_to_int(s: str) -> int | None:
    """``"十七"`` → 17, ``"一百零三"`` → 103, ``"一千一百六十四"`` → 1164, ``"17"`` → 17,
    ``"③"`` → 3; None when ``s`` is not one well-formed number."""
    s = (s or "").strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():
        return int(s)
    if len(s) == 1 and s in CIRCLED:
        return CIRCLED.index(s) + 1
    if s in DIGITS:
        return DIGITS[s] or None
    m = _CN_RE.fullmatch(s)
    if not m or not any(m.group(g) for g in ("k", "h", "ten", "u")):
        return None
    # a filler 零 needs a higher unit before it and a lower digit after it
    if (m.group("kz") and not m.group("k")) or (m.group("hz") and not m.group("h")):
        return None
    if (m.group("kz") or m.group("hz")) and not (m.group("ten") or m.group("u")) and not (m.group("kz") and m.group("h")):
        return None
    if m.group("k") and m.group("h") is None and not m.group("kz") and (m.group("ten") or m.group("u")):
        return None  # 一千五 (abbreviated 1500) is not how clause numbers are written
    if m.group("h") and m.group("ten") is None and m.group("u") and not m.group("hz"):
        return None  # 一百五 likewise
    total = 0
    if m.group("k"):
        total += 1000 * DIGITS[m.group("k")]
    if m.group("h"):
        total += 100 * DIGITS[m.group("h")]
    if m.group("ten"):
        total += 10 * (DIGITS[m.group("t")] if m.group("t") else 1)
    if m.group("u"):
        total += DIGITS[m.group("u")]
    return total or None


def int_to_cn(n: int) -> str:
    """1 → 一, 11 → 十一, 20 → 二十, 101 → 一百零一, 115 → 一百一十五, 1005 → 一千零五."""
    if n <= 0:
        return str(n)
    if n >= 10000:
        return str(n)
    k, rest = divmod(n, 1000)
    h, rest = divmod(rest, 100)
    t, u = divmod(rest, 10)
    out = ""
    if k:
        out += _CN_WRITE[k - 1] + "千"
    if h:
        out += _CN_WRITE[h - 1] + "百"
    elif k and (t or u):
        out += "零"
    if t:
        # 十一 alone, but 一百一十一 once a higher unit stands before it
        out += ("" if t == 1 and not (k or h) else _CN_WRITE[t - 1]) + "十"
    elif (k or h) and u and h:
        out += "零"
    if u:
        out += _CN_WRITE[u - 1]
    return out
