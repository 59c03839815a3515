"""Fact matching that tolerates how numbers, dates and times are written.

Both the expected fact and the answer go through :func:`normalize`, then the
fact must occur in the answer on word boundaries:

>>> has_fact("Tillerson took office on February 1.", "Feb. 1")
True
>>> has_fact("It began at 2:15 pm [1].", "2:15 p.m.")
True
>>> has_fact("more than twenty missiles", "more than 20")
True
>>> has_fact("March 16th, 2017", "16 March 2017")
True
>>> has_fact("Article 50", "Article 5")
False
"""

from __future__ import annotations

import re
import unicodedata

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_MONTH = "(" + "|".join(MONTHS) + ")"
_ABBREV = {"jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
           "jul": "july", "aug": "august", "sep": "september", "sept": "september", "oct": "october",
           "nov": "november", "dec": "december"}

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())
        if w != "_"}
SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
ORDINALS = {w: f"{i}th" for i, w in enumerate(
    "_ first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()) if w != "_"}
ORDINALS.update({"first": "1st", "second": "2nd", "third": "3rd", "twentieth": "20th"})

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "−": "-"})


def normalize(text: str) -> str:
    """Lower-cased words separated by single spaces, with numbers as digits,
    months spelled out, times on a 24-hour clock and punctuation dropped.

    >>> normalize("On Feb. 1, the U.S. [2] met at 5:40 p.m. for twenty-one minutes")
    'on february 1 the us met at 17:40 for 21 minutes'
    """
    t = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).lower()
    t = re.sub(r"\[\d{1,3}\]", " ", t)                       # citation markers are not content
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)                 # 1,000 -> 1000
    t = re.sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", _iso_date, t)
    t = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", _us_date, t)
    t = re.sub(r"\b((?:[a-z]\.){2,})", lambda m: m.group(1).replace(".", ""), t)  # u.s. -> us, p.m. -> pm
    t = re.sub(r"\b(" + "|".join(_ABBREV) + r")\b\.?(?=\s*\d)", lambda m: _ABBREV[m.group(1)], t)
    t = re.sub(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)\b", r"\1 \2", t)
    t = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"\b", r"\2 \1", t)
    t = re.sub(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])m\b", _clock, t)
    t = re.sub(r"\b0(\d):(\d{2})\b", r"\1:\2", t)
    t = t.replace("%", " percent ").replace("+", " plus ").replace("&", " and ")
    # Keep ':' and '.' only inside numbers (2:15, 1.5); everything else separates words.
    t = re.sub(r"(?<!\d)[:.]|[:.](?!\d)", " ", t)
    t = re.sub(r"[^a-z0-9:.]+", " ", t)
    return " ".join(_number_words(t.split()))


def has_fact(answer: str, fact: str) -> bool:
    """True when ``fact`` occurs in ``answer`` after normalising both."""
    want = normalize(fact)
    return bool(want) and f" {want} " in f" {normalize(answer)} "


def _iso_date(m: re.Match) -> str:
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return f"{MONTHS[mo - 1]} {d} {y}" if 1 <= mo <= 12 else m.group(0)


def _us_date(m: re.Match) -> str:
    mo, d, y = int(m.group(1)), int(m.group(2)), m.group(3)
    return f"{MONTHS[mo - 1]} {d} {y}" if 1 <= mo <= 12 else m.group(0)


def _clock(m: re.Match) -> str:
    h, minutes, half = int(m.group(1)), m.group(2) or "00", m.group(3)
    if not 1 <= h <= 12:
        return m.group(0)
    h = h % 12 + (12 if half == "p" else 0)
    return f" {h}:{minutes} "


def _number_words(words: list[str]) -> list[str]:
    """Runs of number words become one number ('twenty one' -> '21',
    'two hundred five' -> '205'); ordinals become '5th'."""
    out: list[str] = []
    total = current = 0
    last: str | None = None  # kind of the previous number word; None outside a number

    def flush() -> None:
        nonlocal total, current, last
        if last is not None:
            out.append(str(total + current))
        total = current = 0
        last = None

    for w in words:
        if w in UNITS:
            if last == "unit" or (last == "tens" and UNITS[w] in (0,) + tuple(range(10, 20))):
                flush()  # 'one two' is two numbers
            current += UNITS[w]
            last = "unit"
        elif w in TENS:
            if last in ("unit", "tens"):
                flush()
            current += TENS[w]
            last = "tens"
        elif w in SCALES and last is not None:
            if SCALES[w] == 100:
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * SCALES[w], 0
            last = "scale"
        else:
            flush()
            out.append(ORDINALS.get(w, w))
    flush()
    return out
