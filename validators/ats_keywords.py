"""ATS keywords: a numbered list of distinct, short terms an applicant-tracking system matches.

Long items are sentences, not keywords, and a repeated keyword (in any case) pads the count,
so both fail. Markdown emphasis and trailing punctuation are not part of a keyword. Keywords
must come from the job description: an ATS matches the posting's own terms, and a small model
otherwise returns the example list from its prompt.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping

from hrstack.validators.base import Check, ValidationResult
from hrstack.validators.checks import (
    NUMBERED_LIST_CHECKS,
    collapse_spaces,
    numbered_list_checks,
    occurs_as_word,
    skipped,
)
from hrstack.validators.grammar import Constraint, Line, grammar, numbered
from hrstack.validators.lists import has_letter, heading_key, numbered_list
from hrstack.validators.rules import AtsKeywordsRules

DOMAIN = "ats_keywords"
CHECKS = (
    *NUMBERED_LIST_CHECKS[:2],
    "min_keywords",
    *NUMBERED_LIST_CHECKS[3:],
    "keywords_short",
    "keywords_from_input",
)

#: The checks the decoding grammar makes true by construction (the self-check proves it).
FORMAT_CHECKS = (
    "numbered_list", "items_in_order", "min_keywords", "items_non_empty", "keywords_short",
    "keywords_from_input",
)  # fmt: skip

_TRAILING = " \t.,;:"
# A term as postings write them: letters and digits with the joiners of tech names (C++, C#,
# Node.js, CI/CD, scikit-learn); edge punctuation is not part of it.
_TERM = re.compile(r"[^\W_][\w+#./&'-]*[\w+#]|[^\W_]")
_CLAUSE = re.compile(r"[,;:()\[\]{}<>\"|!?\n\u2022\u2013\u2014]|\.(?:\s|$)")
# Where sentences (and lines, and bullets) begin: the capital after one says nothing.
_SENTENCE = re.compile(r"\n[ \t]*+(?:[-*\u2022][ \t]+)?|[.!?](?:\s+|$)")
# A heading line ("Requirements:", "## Tools we use:", "**Nice to have:** Go, Rust"): a short
# label before a colon. Longer labels are sentences with a colon in them.
_SECTION = re.compile(r"[ \t]*+#*[ \t]*+(?:\*\*|__)?([^\W\d_][^:*#\n]{0,60}?)(?:\*\*|__)?[ \t]*:")
_MAX_HEADING_WORDS = 5
# Where a title line stops naming the job: "Data Analyst at Acme Retail (hybrid, Dublin)".
_TITLE_END = re.compile(r"\s+(?:at|@|-|–|—|\|)\s+|\s*[(,]")
_SYMBOL = re.compile(r"[+#/.]")
_EDGE_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
    "it", "its", "of", "on", "or", "our", "the", "their", "this", "to", "we", "with", "you",
    "your", "will", "who", "what", "can", "all", "any", "more", "most", "other", "such", "than",
    "that", "these", "those", "into", "over", "per", "via", "etc", "e.g", "i.e", "including",
    "include", "includes", "using", "use", "strong", "good", "great", "ability", "able",
    "experience", "years", "year", "plus", "must", "should", "would", "may", "also", "well",
    "within", "across", "work", "working", "team", "role", "job", "new", "help", "about",
    "own", "nice", "if", "not", "but", "so", "do", "up", "out", "us", "they", "them", "he",
    "she", "his", "her", "ideally", "preferred", "required", "requirements", "responsibilities",
    "qualifications", "benefits", "exposure", "knowledge", "understanding", "familiarity",
    "against", "weekly", "daily", "monthly", "clear", "excellent", "solid", "proven", "build",
    "write", "create", "develop", "manage", "support", "ensure", "drive", "deliver",
    "which", "where", "when", "how", "why", "while", "whose", "skills", "skill", "proficiency",
    "proficient", "hands-on",
))  # fmt: skip


def validate(
    text: str, rules: AtsKeywordsRules, context: Mapping[str, str] | None = None
) -> ValidationResult:
    """Check an ATS keyword list against ``context["job_description"]`` when given."""
    parsed_list = numbered_list(text)
    keywords = [_plain(item) for item in parsed_list.items]
    checks = (
        *numbered_list_checks(
            parsed_list, rules.min_keywords, count_name="min_keywords", noun="keywords"
        ),
        _short(keywords, rules) if keywords else skipped("keywords_short", "no numbered list"),
        _from_input(keywords, rules, context),
    )
    return ValidationResult(DOMAIN, checks, {"keywords": keywords})


def requirements(rules: AtsKeywordsRules) -> list[str]:
    """What an answer must satisfy, in words an API user can act on."""
    return [
        "A numbered list starting at '1.' and numbered 1, 2, 3... in order, one keyword per item.",
        f"At least {rules.min_keywords} keywords; none empty and none repeated (ignoring case).",
        f"Each keyword at most {rules.max_keyword_words} words and "
        f"{rules.max_keyword_chars} characters.",
        f"At least {rules.min_from_input_share:.0%} of the keywords occur in the job description "
        "(as a phrase, or word by word).",
    ]


def _plain(item: str) -> str:
    """The keyword without markdown emphasis or trailing punctuation ("**Python**." -> "Python")."""
    return item.replace("**", "").replace("__", "").replace("`", "").strip(_TRAILING)


def _short(keywords: list[str], rules: AtsKeywordsRules) -> Check:
    for position, keyword in enumerate(keywords, start=1):
        words = len(keyword.split())
        if words > rules.max_keyword_words or len(keyword) > rules.max_keyword_chars:
            return Check(
                "keywords_short",
                False,
                f"keyword {position} has {words} words / {len(keyword)} chars (allowed "
                f"{rules.max_keyword_words} / {rules.max_keyword_chars}): {keyword!r:.60}",
            )
    return Check("keywords_short", True, f"all {len(keywords)} keywords are short")


def _from_input(
    keywords: list[str], rules: AtsKeywordsRules, context: Mapping[str, str] | None
) -> Check:
    posting = (context or {}).get("job_description")
    if not isinstance(posting, str):
        return Check("keywords_from_input", True, "no context")
    if not keywords:
        return skipped("keywords_from_input", "no numbered list")
    haystack = collapse_spaces(posting.casefold())
    missing = [k for k in keywords if not _occurs(collapse_spaces(k.casefold()), haystack)]
    share = 1 - len(missing) / len(keywords)
    ok = share >= rules.min_from_input_share
    detail = f"{share:.0%} of keywords occur in the job description"
    if missing:
        detail += f"; not found: {', '.join(missing)[:100]}"
    return Check("keywords_from_input", ok, detail)


def _occurs(keyword: str, haystack: str) -> bool:
    return occurs_as_word(keyword, haystack) or all(
        occurs_as_word(word, haystack) for word in keyword.split()
    )


def keyword_text(posting: str, rules: AtsKeywordsRules) -> str:
    """The part of a posting keywords come from: the job title (the first line, up to " at
    Company" or a parenthesis) and the sections named in ``rules.keyword_sections``
    (requirements, nice to have, skills, tools). Real postings
    are mostly company story, team, benefits and legal text; counted whole, they offered the
    company, its city and words like "join" or "How" as keywords. A posting without any such
    heading (a one-paragraph ad) is used whole."""
    wanted = {heading_key(name) for name in rules.keyword_sections}
    kept: list[str] = []
    inside = found = False
    for line in posting.splitlines():
        if not kept and line.strip():
            kept.append(_TITLE_END.split(line, maxsplit=1)[0])  # "Data Analyst" at Acme (...)
            continue
        label = _SECTION.match(line)
        if label is not None and len(label.group(1).split()) <= _MAX_HEADING_WORDS:
            inside = heading_key(label.group(1)) in wanted
            found = found or inside
        if inside:
            kept.append(line)
    return "\n".join(kept) if found else posting


def posting_terms(posting: str, rules: AtsKeywordsRules) -> list[str]:
    """The posting's best keyword phrases, at most ``rules.grammar_candidates``, in the order
    they first occur, taken from :func:`keyword_text`. Each clause is cut at filler words
    ("4+ years of SQL on Snowflake or BigQuery" -> SQL, Snowflake, BigQuery): what is left are
    runs of content words, kept whole when they are at most ``max_keyword_words`` long ("Power
    BI", "A/B testing", "stakeholder management"), and word by word otherwise. Ranked by how
    often they occur, tech-shaped terms (inner capitals, symbols: SQL, C++, CI/CD, BigQuery)
    first, then capitalised ones (not counting the capital every clause starts with).
    Every phrase is verbatim from the posting, so a list of them passes
    ``keywords_from_input`` and ``keywords_short`` by construction."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    named: set[str] = set()  # capitalised somewhere other than a clause's first word

    def add(phrase: str, initial: bool) -> None:
        if len(phrase) > rules.max_keyword_chars or not has_letter(phrase):
            return
        key = phrase.casefold()
        counts[key] += 1
        if not initial and phrase[0].isupper():
            named.add(key)
            spelling[key] = phrase
        if key not in first_seen:
            spelling.setdefault(key, phrase)
            first_seen[key] = len(first_seen)

    for sentence in _SENTENCE.split(keyword_text(posting, rules)):
        for number, clause in enumerate(_CLAUSE.split(sentence)):
            run: list[str] = []
            start = 0  # index in the clause of the run's first word
            words = [*_TERM.findall(clause), ""]  # "" closes the last run
            for index, word in enumerate(words):
                if word and word.casefold() not in _EDGE_STOPWORDS:
                    if not run:
                        start = index
                    run.append(word)
                    continue
                whole = len(run) <= rules.max_keyword_words
                for offset, phrase in enumerate([" ".join(run)] if whole else run):
                    if phrase:  # a sentence's first word is capitalised whatever it is
                        add(phrase, initial=number == 0 and start + offset == 0)
                run = []

    def rank(key: str) -> tuple[int, int]:
        phrase = spelling[key]
        inner = phrase[1:]
        tech = _SYMBOL.search(phrase) is not None or inner != inner.lower()
        weight = 3 if tech else 2 if key in named else 1
        return (-counts[key] * weight, first_seen[key])

    best = sorted(counts, key=rank)[: rules.grammar_candidates]
    return [spelling[key] for key in sorted(best, key=first_seen.__getitem__)]


def constraint(
    rules: AtsKeywordsRules, context: Mapping[str, str] | None = None, *, after: str = ""
) -> Constraint:
    """Per request: ``min_keywords``..``max_keywords`` numbered lines, each one of the phrases
    :func:`posting_terms` took from ``context["job_description"]``, **in the order the posting
    names them**. The order is what makes the list distinct by construction: each keyword
    must come later in the posting's phrase list than the one before, so none can repeat
    (measured before this: the 135M model, free to pick any phrase, wrote "1. Data Analyst
    2. SQL 3. Tableau 4. Data Analyst" on 6 of 6 seeds, and copied its list again when shown
    the failed check). Without a posting (or with too few phrases in it) each line is a short
    free term instead, and distinctness is left to the validator."""
    posting = (context or {}).get("job_description") or ""
    terms = posting_terms(posting, rules) if posting else []
    if len(terms) < rules.min_keywords:
        free = Line(1, min(rules.max_keyword_chars, 24))
        return grammar(
            numbered(free, rules.min_keywords, rules.min_keywords, after=after), after=after
        )
    return _ordered_choice(terms, rules.min_keywords, rules.max_keywords, after)


def _ordered_choice(terms: list[str], at_least: int, at_most: int, after: str) -> Constraint:
    """EBNF for "n. term" lines, n = 1.. in order, terms strictly ascending in ``terms``.

    ``pick_n_j`` is "item n is term j or a later one". A state exists only where enough terms
    remain to reach ``at_least``, so the grammar can always be completed: one rule per
    (item, term), linear, not a permutation table.

    Compile cost is what shaped it (xgrammar 0.2.8, SmolLM2's 49k vocabulary, 100 real
    postings, p50): xgrammar inlines a rule that is a bare string into every rule that uses
    it, and computes token masks for each copy, so each phrase was compiled once per item
    (12.5 ms). Written ``("phrase"){1,1}`` the phrase stays one rule (8.9 ms); folding the
    optional continuation into the pick rule instead of a rule of its own: 7.2 ms."""
    first = "1. "
    if not first.startswith(after):
        raise ValueError(f"a numbered list cannot continue after {after!r}")
    count = len(terms)
    at_most = min(at_most, count)

    def feasible(n: int, j: int) -> bool:  # item n may be term j (0-based) or later
        return n <= at_most and j < count and count - j >= at_least - n + 1

    rules = [
        f"t{j} ::= ({json.dumps(term, ensure_ascii=False)}){{1,1}}" for j, term in enumerate(terms)
    ]
    for n in range(1, at_most + 1):
        separator = json.dumps(f"\n{n + 1}. ")
        for j in range(count):
            if not feasible(n, j):
                continue
            ways = [f"t{j} {separator} pick_{n + 1}_{j + 1}"] if feasible(n + 1, j + 1) else []
            if n >= at_least:
                ways.append(f"t{j}")
            if feasible(n, j + 1):
                ways.append(f"pick_{n}_{j + 1}")
            rules.append(f"pick_{n}_{j} ::= {' | '.join(ways)}")
    spec = f"root ::= {json.dumps(first[len(after) :])} pick_1_0\n" + "\n".join(rules) + "\n"
    lengths = sorted(len(term) for term in terms)
    numbers = [len(f"\n{n}. ") for n in range(2, at_most + 1)]
    return Constraint(
        "grammar",
        spec,
        min_chars=len(first) + sum(lengths[:at_least]) + sum(numbers[: at_least - 1]),
        max_chars=len(first) + sum(lengths[-at_most:]) + sum(numbers),
        seeded_after=after,
    )
