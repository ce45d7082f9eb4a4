"""Near-miss guards: the facts two prompts must share before a semantic hit may be served.

An embedding says "these are about the same thing"; it cannot say "2+2" is not "2+3" or "French"
is not "German". Each guard compares one kind of fact exactly (numbers and operators, quoted
strings, names, language names, negations, antonyms, direction words, word order) and the content
alignment check asks every content word on one side to be matched by a word on the other side
(same stem, or an embedding neighbour). Measured on tests/data/cache_pairs.jsonl
(scripts/bench/cache_quality.py): without them no threshold reaches a precision of 0.75.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

_CONTRACTIONS = [
    (re.compile(r"\bcan['’]t\b"), "can not"), (re.compile(r"\bwon['’]t\b"), "will not"),
    (re.compile(r"n['’]t\b"), " not"), (re.compile(r"['’]re\b"), " are"), (re.compile(r"['’]ve\b"), " have"),
    (re.compile(r"['’]ll\b"), " will"), (re.compile(r"['’]m\b"), " am"), (re.compile(r"['’]d\b"), " would"),
    (re.compile(r"\b(what|that|it|there|here|who|where|how|when|which)['’]s\b"), r"\1 is"),
    (re.compile(r"['’]s\b"), ""), (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bu\b"), "you"), (re.compile(r"\br\b"), "are"),
]
_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
# `one` is left out: it is more often a pronoun ("write one") than a count
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(_SMALL) if w != "one"}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                      "eighty": "80", "ninety": "90", "hundred": "100", "thousand": "1000",
                      "million": "1000000", "billion": "1000000000", "dozen": "12"})
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_OPERATORS = re.compile(r"[+*/^=%$€£<>×÷]")
_NAMED_WITH_SYMBOLS = re.compile(r"\b[a-z]\w*(?:\+\+|#)")  # c++, c#, f#: names, not arithmetic
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|(?<![\w'])'([^']+)'(?![\w'])|‘([^’]+)’")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[.+#-][A-Za-z0-9+#]+)*[+#]*|\d+(?:[.,]\d+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\s*[\"'“(]*([A-Za-z][\w.+#-]*)")
_NEGATIONS = frozenset(["not", "no", "never", "without", "none", "nobody", "nothing", "neither", "nor"])

STOPWORDS = frozenset([
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into",
    "onto", "about", "as", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing",
    "have", "has", "had", "having", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "i",
    "me", "my", "mine", "we", "us", "our", "you", "your", "yours", "he", "him", "his", "she", "her", "it", "its",
    "they", "them", "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "whose",
    "when", "where", "why", "how", "whether", "than", "then", "so", "such", "very", "just", "also", "too", "please",
    "any", "some", "all", "each", "every", "other", "another", "more", "most", "much", "many", "few", "own", "same",
    "s", "t", "up", "out", "over", "under", "again", "further", "once", "only", "both", "either", "one", "get", "got",
    "let", "lets", "go", "going", "want", "need", "like", "tell", "give", "show", "explain", "describe", "define",
    "mean", "meaning", "means", "know", "way", "ways", "thing", "things", "kind", "sort", "something", "anything",
    "way", "someone", "way", "best", "good", "better", "simple", "simply", "simple", "briefly", "brief", "quick",
    "quickly", "short", "example", "examples", "help", "question", "answer", "use", "used", "using", "make", "makes",
    "made", "would", "between", "tip", "tips", "suggest", "recommend", "share", "say", "translate", "compute",
    "calculate", "list", "name", "provide", "find", "people", "really", "actually", "hey", "hi", "thanks", "thank"
])
# measures and currencies: like numbers, a different one is a different question
UNITS = frozenset([
    "teaspoon", "tablespoon", "cup", "pint", "quart", "gallon", "liter", "litre", "milliliter", "ml", "gram",
    "kilogram", "kg", "mg", "pound", "lb", "ounce", "oz", "ton", "tonne", "mile", "kilometer", "km", "meter", "metre",
    "centimeter", "cm", "millimeter", "mm", "foot", "feet", "inch", "yard", "acre", "hectare", "celsius", "fahrenheit",
    "kelvin", "second", "minute", "hour", "day", "week", "month", "year", "decade", "century", "byte", "kilobyte",
    "megabyte", "gigabyte", "terabyte", "kb", "mb", "gb", "tb", "watt", "kilowatt", "volt", "amp", "calorie", "joule",
    "dollar", "euro", "yen", "yuan", "rupee", "peso", "franc", "sterling", "usd", "eur", "gbp", "jpy", "cny", "inr",
    "percent", "degree"
])
# words that change what is asked when swapped for their opposite (either spelling on either side)
ANTONYMS = [
    ("increase", "decrease"), ("increase", "reduce"), ("encrypt", "decrypt"), ("compress", "extract"),
    ("compress", "decompress"), ("ascending", "descending"), ("enable", "disable"), ("upload", "download"),
    ("add", "remove"), ("add", "drop"), ("add", "delete"), ("gain", "lose"), ("uppercase", "lowercase"),
    ("start", "stop"), ("pros", "cons"), ("in", "out"), ("hottest", "coldest"), ("hot", "cold"),
    ("import", "export"), ("true", "false"), ("formal", "informal"), ("formally", "informally"),
    ("safe", "toxic"), ("safe", "unsafe"), ("safe", "dangerous"), ("on", "off"), ("benefits", "risks"),
    ("advantages", "disadvantages"), ("soft", "hard"), ("accept", "decline"), ("accepting", "declining"),
    ("minimum", "maximum"), ("min", "max"), ("older", "younger"), ("oldest", "youngest"), ("before", "after"),
    ("first", "last"), ("more", "less"), ("most", "least"), ("best", "worst"), ("buy", "sell"),
    ("open", "close"), ("win", "lose"), ("positive", "negative"), ("happy", "sad"), ("above", "below"),
    ("over", "under"), ("larger", "smaller"), ("largest", "smallest"), ("high", "low"), ("higher", "lower"),
    ("highest", "lowest"), ("long", "short"), ("longest", "shortest"), ("fast", "slow"), ("fastest", "slowest"),
    ("early", "late"), ("push", "pull"), ("send", "receive"), ("encode", "decode"), ("serialize", "deserialize"),
    ("lock", "unlock"), ("mount", "unmount"), ("install", "uninstall"), ("subscribe", "unsubscribe"),
    ("follow", "unfollow"), ("block", "unblock"), ("allow", "deny"), ("include", "exclude"), ("min", "max"),
    ("success", "failure"), ("legal", "illegal"), ("valid", "invalid"), ("public", "private"),
    ("input", "output"), ("inbound", "outbound"), ("north", "south"), ("east", "west"), ("left", "right"),
    ("up", "down"), ("cheap", "expensive"), ("cheapest", "most expensive"), ("rich", "poor"), ("love", "hate"),
]
_ANTONYM_OF: dict[str, set[str]] = {}
for _a, _b in ANTONYMS:
    _ANTONYM_OF.setdefault(_a, set()).add(_b)
    _ANTONYM_OF.setdefault(_b, set()).add(_a)
_NEG_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "de", "non", "anti")
DIRECTION_WORDS = frozenset({"to", "into", "from", "than", "vs", "versus"})

LANGUAGES = frozenset([
    "english", "french", "german", "spanish", "italian", "portuguese", "dutch", "russian", "polish", "ukrainian",
    "czech", "greek", "turkish", "arabic", "hebrew", "hindi", "bengali", "urdu", "chinese", "mandarin", "cantonese",
    "japanese", "korean", "vietnamese", "thai", "indonesian", "malay", "swedish", "norwegian", "danish", "finnish",
    "icelandic", "hungarian", "romanian", "bulgarian", "serbian", "croatian", "persian", "farsi", "swahili", "latin",
    "tagalog", "catalan", "basque", "welsh", "irish", "python", "java", "javascript", "typescript", "kotlin", "golang",
    "php", "perl", "scala", "haskell", "elixir", "erlang", "clojure", "bash", "powershell", "sql", "c++", "c#", "f#",
    "matlab", "fortran", "cobol", "ocaml", "groovy", "objective-c", "html", "css", "yaml", "json", "xml", "toml",
    "markdown", "latex"
])


def normalize(text: str) -> str:
    """Lower case, contractions expanded, number words as digits, runs of space as one."""
    low = text.lower()
    for pattern, repl in _CONTRACTIONS:
        low = pattern.sub(repl, low)
    low = re.sub(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", lambda m: _NUMBER_WORDS[m.group(1)], low)
    return " ".join(low.split())


def stem(word: str) -> str:
    """A light suffix stripper, enough to see `duplicates`/`duplicate`, `making`/`make`; a final e
    goes too, so that both forms end alike."""
    base = word
    if word.endswith("ies") and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith("es") and word[-3:-2] in ("s", "x", "z", "h") and len(word) > 4:
        base = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        base = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        base = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        base = word[:-2]
    return base[:-1] if base.endswith("e") and len(base) > 3 else base


@dataclass
class Facts:
    """What the guards read from one prompt, each fact computed once, when first asked for."""

    text: str

    @cached_property
    def norm(self) -> str:
        return normalize(self.text)

    @cached_property
    def tokens(self) -> list[str]:
        return [t.rstrip(".-") or t for t in _TOKEN.findall(self.norm)]

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.tokens)

    @cached_property
    def numbers(self) -> Counter[str]:
        found = Counter(n.replace(",", "") for n in _NUMBER.findall(self.norm))
        found.update(_OPERATORS.findall(_NAMED_WITH_SYMBOLS.sub(" ", self.norm)))
        return found

    @cached_property
    def quoted(self) -> frozenset[str]:
        out = set()
        for groups in _QUOTED.findall(self.text):
            inner = next(g for g in groups if g)
            out.add(" ".join(re.findall(r"[\w+#]+", normalize(inner))))
        return frozenset(out)

    @cached_property
    def entities(self) -> frozenset[str]:
        """Names: capitalised words not at a sentence start, acronyms, and tokens such as C++ or C#."""
        starts = {m.start(1) for m in _SENTENCE_START.finditer(self.text)}
        out = set()
        for m in _TOKEN.finditer(self.text):
            tok = m.group(0).rstrip(".-")
            if tok == "I" or (tok == "A" and m.start() in starts):
                continue
            upper = sum(c.isupper() for c in tok)
            if upper >= 2 or any(c in tok for c in "+#") or (tok[0].isupper() and m.start() not in starts):
                out.add(tok.lower())
        return frozenset(out)

    @cached_property
    def units(self) -> frozenset[str]:
        return frozenset(s for s in (_singular(t) for t in self.tokens) if s in UNITS)

    @cached_property
    def languages(self) -> frozenset[str]:
        return frozenset(t for t in self.tokens if t in LANGUAGES)

    @cached_property
    def negations(self) -> int:
        return sum(1 for t in self.tokens if t in _NEGATIONS)

    @cached_property
    def content(self) -> list[str]:
        """Content words in order, stemmed, without stop words, numbers or quoted text."""
        unquoted = _QUOTED.sub(" ", normalize(self.text))
        toks = [t.rstrip(".-") for t in _TOKEN.findall(unquoted)]
        return [stem(t) for t in toks if t not in STOPWORDS and t not in _NEGATIONS and not t[0].isdigit()]

    @cached_property
    def pairs(self) -> frozenset[tuple[str, str]]:
        """(direction word, the content word after it): `to kilometers`, `from spanish`."""
        toks = self.tokens
        out = set()
        for i, tok in enumerate(toks):
            if tok in DIRECTION_WORDS:
                nxt = next((t for t in toks[i + 1:] if t not in STOPWORDS or t in LANGUAGES), None)
                if nxt:
                    out.add((tok, stem(nxt)))
        return frozenset(out)


WordSimilarity = Callable[[Sequence[str], Sequence[str]], "list[list[float]]"]


def why_not(a: Facts, b: Facts, word_similarity: WordSimilarity | None = None,
            word_threshold: float = 0.45) -> str | None:
    """The first guard that separates the two prompts, or None when none does."""
    if a.numbers != b.numbers:
        return "numbers"
    if a.quoted != b.quoted:
        return "quoted"
    if not a.entities <= b.words | b.entities or not b.entities <= a.words | a.entities:
        return "entities"
    if a.languages != b.languages:
        return "languages"
    if a.units != b.units:
        return "units"
    if a.negations != b.negations:
        return "negation"
    if _opposed(a, b):
        return "antonym"
    if _direction_differs(a, b):
        return "direction"
    if word_similarity is not None and _unaligned(a, b, word_similarity, word_threshold):
        return "content"
    return None


def _singular(word: str) -> str:
    if word in ("feet", "degrees"):
        return "foot" if word == "feet" else "degree"
    return word[:-1] if word.endswith("s") and word[:-1] in UNITS else word


def _opposed(a: Facts, b: Facts) -> bool:
    wa, wb = a.words, b.words
    for word in wa - wb:
        if any(opp in wb and opp not in wa for opp in _ANTONYM_OF.get(word, ())):
            return True
        for prefix in _NEG_PREFIXES:
            if len(word) < 4:
                continue
            if (word.startswith(prefix) and word[len(prefix):] in wb - wa) or (prefix + word) in wb - wa:
                return True
    return False


def _direction_differs(a: Facts, b: Facts) -> bool:
    """`miles to kilometers` vs `kilometers to miles`: the same direction word points at the other
    side's word; or the very same words in another order (`is a square a rectangle`)."""
    for word, nxt in a.pairs:
        for other_word, other_nxt in b.pairs:
            if (word == other_word and nxt != other_nxt and other_nxt in a.content and nxt in b.content
                    and (word, other_nxt) not in a.pairs and (word, nxt) not in b.pairs):
                return True
    return Counter(a.tokens) == Counter(b.tokens) and a.tokens != b.tokens


def _unaligned(a: Facts, b: Facts, word_similarity: WordSimilarity, threshold: float) -> bool:
    """True when some content word on one side has no counterpart on the other: neither the same
    stem nor a word whose embedding is at least `threshold` similar."""
    ca, cb = set(a.content), set(b.content)
    for only, other in ((sorted(ca - cb), sorted(cb)), (sorted(cb - ca), sorted(ca))):
        if not only:
            continue
        if not other:
            return True
        if any(max(row) < threshold for row in word_similarity(only, other)):
            return True
    return False
