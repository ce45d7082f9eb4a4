"""Prompt text to canonical tokens: the forms the cache can vouch for written one way.

Lower case, contractions expanded, possessive `'s` dropped, a hyphen between words read as a
space (so `high-priority` is `high priority`), number words as digits (`twenty-two` = 22,
`3 thousand` = `3k` = 3000, `1,000` = 1000), a number with a unit as one quantity token compared by
value (`90 minutes` = `1.5 hours`, `$1,000` = `1000 dollars`), articles dropped, a light stemmer
for inflections, then the phrases of equivalences.json: filler and politeness (dropped),
abbreviations (`2FA` = `two-factor authentication`), question frames (`how do I` = `how can I`)
and a short list of synonyms. A signed number keeps its sign (`-1` is not `1`); operators and any
other symbol are tokens of their own, and words in any script are words; only punctuation and
space are left out. What is not listed here stays as written, and services/gateway/cache/
aligner.py refuses any difference in it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("equivalences.json")

_CONTRACTIONS = [
    (re.compile(r"\bcan't\b"), "can not"), (re.compile(r"\bwon't\b"), "will not"), (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"), (re.compile(r"'ve\b"), " have"), (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'m\b"), " am"), (re.compile(r"'d\b"), " would"),
    (re.compile(r"\b(what|that|it|there|here|who|where|how|when|which|why)'s\b"), r"\1 is"),
    (re.compile(r"(?<=\w)'s\b"), ""), (re.compile(r"(?<=s)'(?=\s|$)"), ""), (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bu\b(?!\.\w)"), "you"), (re.compile(r"\br\b(?!\.\w)"), "are"),
]
_UNICODE = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "−": "-", "–": "-", "—": " ", "×": "*", "÷": "/",
                          "²": "^2", "³": "^3", "π": " pi ", "ß": "ss", "æ": "ae", "ø": "o", "œ": "oe"})
# a sign belongs to a number only where no word or number precedes it: `-1` but `x-1`, `10-2`
_TOKEN = re.compile(
    r"(?P<ph>\x00\d+\x00)"
    r"|(?P<dotted>\d+(?:\.\d+){2,})"  # dates, versions, addresses: 14.08.2024, 1.2.3, 192.168.0.1
    r"|(?P<num>(?<![\w)\].])[-+]?\d+(?:,\d{3})+(?:\.\d+)?(?!\w|,\d)|(?<![\w)\].])[-+]?\d+(?:\.\d+)?(?!\w|\.\d))"
    r"|(?P<word>[^\W\d]\w*(?:\+\+|#)?(?:[.@/]\w+)*|\d+(?:\.\d+)?[^\W\d]\w*)"  # any script's letters
    r"|(?P<op>!=|==|<=|>=|->|=>|\*\*|//|&&|\|\||[+*/=<>^%$€£¥₹&|()~\\@-])"
    r"|(?P<sym>[^\s\w.,;:!?'\"`\[\]{}])"  # any other symbol counts too: ±, →, °, an emoji
)
_ONES = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                      "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                                      "seventeen", "eighteen", "nineteen"])}
_TENS = {w: 10 * (i + 2) for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                                                 "ninety"])}
_SCALES = {"hundred": 100, "thousand": 1000, "k": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_DIGITS = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
_TIME_UNITS = frozenset(["minute", "hour", "day", "week", "fortnight", "month", "year"])  # not `second`: `a second try`
_NUMBER_UNIT = re.compile(r"(\d+(?:\.\d+)?)([a-z]+)")
_IRREGULAR = {"children": "child", "men": "man", "women": "woman", "people": "person", "mice": "mouse",
              "teeth": "tooth", "geese": "goose", "better": "better", "best": "best", "data": "data"}
# irregular verb forms, as the suffix stripper treats regular ones (`calculated` = `calculate`)
_IRREGULAR.update({form: base for base, forms in {
    "write": "wrote written", "run": "ran", "make": "made", "take": "took taken", "give": "gave given",
    "find": "found", "get": "got gotten", "buy": "bought", "sell": "sold", "think": "thought",
    "begin": "began begun", "choose": "chose chosen", "know": "knew known", "speak": "spoke spoken",
    "send": "sent", "spend": "spent", "keep": "kept", "pay": "paid", "say": "said", "tell": "told",
    "understand": "understood", "win": "won", "drive": "drove driven", "eat": "ate eaten",
    "fall": "fell fallen", "grow": "grew grown", "draw": "drew drawn", "break": "broke broken",
    "freeze": "froze frozen", "steal": "stole stolen", "hide": "hid hidden", "show": "shown",
    "teach": "taught", "catch": "caught", "bring": "brought", "hold": "held", "lose": "lost",
    "feel": "felt", "hear": "heard", "build": "built", "forget": "forgot forgotten", "rise": "rose risen",
}.items() for form in forms.split()})
_AMERICAN_OUR = frozenset(["colour", "favour", "favourite", "behaviour", "neighbour", "honour", "labour", "flavour",
                           "humour", "harbour", "rumour", "savour", "vapour", "endeavour", "armour"])
_AMERICAN_RE = frozenset(["centre", "metre", "litre", "theatre", "fibre", "calibre", "meagre", "sombre", "spectre"])
_NOT_ISE = frozenset(["advertis", "exercis", "compromis", "enterpris", "otherwis", "expertis", "promis", "surpris",
                      "franchis", "merchandis", "premis", "supervis", "televis", "revis", "improvis", "devis",
                      "compris", "concis", "precis", "paradis", "rais", "prais", "nois", "pois", "wis", "ris",
                      "advis", "despis", "chastis", "disguis", "apprais", "circumcis", "incis", "excis", "demis"])


@dataclass(frozen=True)
class Table:
    articles: frozenset[str]
    phrases: dict[tuple[str, ...], str]  # stemmed words -> canonical token ("" drops them)
    longest: int
    currencies: dict[str, str]
    units: dict[str, tuple[str, Decimal]]
    droppable: frozenset[str]
    relations: frozenset[str]


@cache
def table() -> Table:
    raw = json.loads(DATA.read_text())
    phrases: dict[tuple[str, ...], str] = {}
    for name, forms in raw["phrases"].items():
        canonical = " ".join(_key(name))  # as the text's own words look, so the two compare
        for form in forms:
            phrases[_key(form)] = canonical
    for form in raw["filler"]:
        phrases[_key(form)] = ""
    currencies = {form: code for code, forms in raw["currencies"].items() for form in forms}
    units = {u: (v[0], Decimal(v[1])) for u, v in raw["units"].items() if not u.startswith("_")}
    return Table(frozenset(raw["articles"]), phrases, max(len(k) for k in phrases), currencies, units,
                 frozenset(raw["droppable_prepositions"]), frozenset(raw["relations"]))


def _key(phrase: str) -> tuple[str, ...]:
    """A phrase of the table as the text's tokens will look when it is compared."""
    return tuple(stem(w) for w in _numbers(phrase.split()))


def stem(word: str) -> str:
    """A light suffix stripper: `duplicates`/`duplicate`, `making`/`make`, `calculated`/`calculate`."""
    if word in _IRREGULAR:
        base = _IRREGULAR[word]
        return base if base == word else stem(base)
    if not word.isalpha() or len(word) <= 3:
        return word
    word = _american(word)
    base = word
    if word.endswith("ies") and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h") and len(word) > 4:
        base = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        base = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        base = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        base = word[:-2]
    if len(base) > 3 and base[-1] == base[-2] and base[-1] in "bdgmnprt" and base != word:
        base = base[:-1]  # running -> run, stopped -> stop
    return base[:-1] if base.endswith("e") and len(base) > 3 else base


def _american(word: str) -> str:
    """British spellings as American: colour, centre, organise/organisation, analyse."""
    for our in _AMERICAN_OUR:
        if word.startswith(our):
            return our[:-2] + "r" + word[len(our):]
    for re_ in _AMERICAN_RE:
        if word.startswith(re_):
            return re_[:-2] + "er" + word[len(re_):]
    m = re.fullmatch(r"([a-z]+)is(e|ed|es|ing|ation|ations|er|ers)", word)
    if m and len(m.group(1)) >= 3 and m.group(1) + "is" not in _NOT_ISE:
        return m.group(1) + "iz" + m.group(2)
    if re.fullmatch(r"[a-z]+lys(e|ed|es|ing)", word):
        return word.replace("lys", "lyz")  # analyse, paralyse
    return word


def canonical_tokens(text: str) -> tuple[list[str], list[str]]:
    """(canonical tokens, the plain lower-case words before any rewriting) of free text, where
    verbatim segments already stand as `\\x00N\\x00` placeholders."""
    low = _fold(text.translate(_UNICODE).lower())
    for pattern, repl in _CONTRACTIONS:
        low = pattern.sub(repl, low)
    low = re.sub(r"(?<=[a-z0-9])-(?=[a-z])", " ", low)  # high-priority, 3-day (but x-1 stays a subtraction)
    raw = [part for m in _TOKEN.finditer(low) for part in _split_unit(m.group(0))]
    plain = [t for t in raw if t not in table().articles]
    toks = _quantities(_numbers(raw))
    toks = [t for t in toks if t not in table().articles]
    return _possessive_of(_phrases([stem(t) for t in toks])), plain


def _fold(text: str) -> str:
    """Accents off letters (`Fjällräven` = `Fjallraven`); other characters as they are."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _split_unit(tok: str) -> list[str]:
    """`5km` -> `5 km`, `3k` -> `3 k`, `100c` -> `100 c`; `2fa`, `3d` stay one word."""
    m = _NUMBER_UNIT.fullmatch(tok)
    if m and (m.group(2) in table().units or m.group(2) in table().currencies or m.group(2) in _SCALES):
        return [m.group(1), m.group(2)]
    return [tok]


def _numbers(toks: list[str]) -> list[str]:
    """Number words and scales to digits: `twenty two` -> 22, `3 thousand` -> 3000, `1,000` -> 1000.
    A number written in digits alone keeps its text (`3.10` is not `3.1`), an explicit `+` too."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        value, j = _read_number(toks, i)
        if j == i:
            out.append(toks[i])
            i += 1
        elif j == i + 1 and toks[i][0] in "-0123456789":
            out.append(toks[i].replace(",", ""))
            i = j
        else:
            out.append(_fmt(value))
            i = j
    return out


def _read_number(toks: list[str], i: int) -> tuple[Decimal, int]:
    total, current, j, seen = Decimal(0), Decimal(0), i, False
    while j < len(toks):
        t = toks[j]
        if _DIGITS.fullmatch(t) and not seen:
            current, seen = Decimal(t.replace(",", "")), True
        elif t in _ONES and (not seen or current % 10 == 0 and current >= 20 and _ONES[t] < 10):
            current += _ONES[t]
            seen = True
        elif t in _TENS and (not seen or current % 100 == 0 and current >= 100):
            current += _TENS[t]
            seen = True
        elif t in _SCALES and seen:
            if t == "hundred":
                current *= 100
            else:
                total += current * _SCALES[t]
                current = Decimal(0)
        elif not (t == "and" and seen and j + 1 < len(toks) and (toks[j + 1] in _ONES or toks[j + 1] in _TENS)):
            break
        j += 1
    return (total + current, j) if seen else (Decimal(0), i)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _is_number(tok: str) -> bool:
    try:
        Decimal(tok)
    except InvalidOperation:
        return False
    return tok[0] not in "+" and not tok.lower().startswith(("nan", "inf", "-nan", "-inf"))


def _quantities(toks: list[str]) -> list[str]:
    """`90 minutes` -> `5400 s`, `$1,000` / `1000 dollars` / `usd 1000` -> `1000 usd`, `15 percent` -> `15 %`."""
    t = table()
    out: list[str] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if tok in t.articles and nxt in _TIME_UNITS and i + 1 < len(toks):  # `a day` = `24 hours`
            dim, factor = t.units[nxt]
            out.append(f"{_fmt(factor)} {dim}")
            i += 2
            continue
        if tok == "half" and nxt in t.articles and i + 2 < len(toks) and toks[i + 2] in _TIME_UNITS:
            dim, factor = t.units[toks[i + 2]]
            out.append(f"{_fmt(factor / 2)} {dim}")
            i += 3
            continue
        if tok in t.currencies and i + 1 < len(toks) and _is_number(nxt):
            out.append(f"{nxt} {t.currencies[tok]}")
            i += 2
            continue
        if _is_number(tok):
            unit = nxt
            skip = 2
            if unit in ("degree", "degrees") and i + 2 < len(toks) and toks[i + 2] in t.units:
                unit, skip = toks[i + 2], 3
            if unit in t.currencies:
                out.append(f"{tok} {t.currencies[unit]}")
                i += skip
                continue
            if unit in t.units:
                dim, factor = t.units[unit]
                out.append(f"{_fmt(Decimal(tok) * factor)} {dim}")
                i += skip
                continue
        out.append(tok)
        i += 1
    return out


def _possessive_of(toks: list[str]) -> list[str]:
    """`Y of X` as `X Y` for single words, as `X's Y` reads once `'s` is gone: `name of the CEO` =
    `CEO's name`, `time of the meeting` = `meeting time`. Numbers, operators and relation words
    are never moved (`15 % of 200`)."""
    t = table()
    out: list[str] = []
    i = 0
    while i < len(toks):
        if (i + 2 < len(toks) and toks[i + 1] == "of" and _movable(toks[i], t) and _movable(toks[i + 2], t)
                and (i + 3 == len(toks) or toks[i + 3] != "of")):
            out += [toks[i + 2], toks[i]]
            i += 3
        else:
            out.append(toks[i])
            i += 1
    return out


def _movable(tok: str, t: Table) -> bool:
    return tok[0].isalpha() and tok not in t.relations and tok not in t.droppable and " " not in tok


def _phrases(toks: list[str]) -> list[str]:
    """Longest match first against the phrase table; filler goes, everything else as written."""
    t = table()
    out: list[str] = []
    i = 0
    while i < len(toks):
        for n in range(min(t.longest, len(toks) - i), 0, -1):
            canonical = t.phrases.get(tuple(toks[i:i + n]))
            if canonical is not None:
                if canonical:
                    out.append(canonical)
                i += n
                break
        else:
            out.append(toks[i])
            i += 1
    return out
