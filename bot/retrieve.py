"""Hybrid retrieval: BM25 over character n-grams + dense vectors, fused by rank, owner-aware."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.knowledge import Knowledge
from bot.terms import coverage, key_terms, lexical_query, term_weights
from ingest.embed import Embedder
from ingest.errors import BackendUnavailableError
from ingest.hanzi import simplified
from ingest.model import Clause
from ingest.numbering import article_numbers, blank_article_refs

_POOL = 40  # candidates taken from each side before blending
# Blend weights, chosen on the dev set together with a separate held-out set (evals/holdout.jsonl).
DENSE_WEIGHT = 0.2
LEXICAL_WEIGHT = 0.4
COVERAGE_WEIGHT = 0.6
OWNER_BONUS = 0.1  # a clause of the owner the question names outranks a stranger's similar clause
ARTICLE_BONUS = 1.0  # the 第X条 a question cites outranks any clause that merely resembles the question
_ALIAS_SUFFIXES = ("人员", "主任", "员")  # "出纳" names 出纳员, "后勤处" names 后勤处主任
# A regulation names a body with its jurisdiction ("县级以上人民政府公安机关"); people say "公安机关".
_JURISDICTION = re.compile(r"^(?:(?:地方)?各级|(?:县|市|省|设区的市)级?以上)?(?:地方)?(?:人民政府)?")


@dataclass
class Hit:
    """A retrieved clause with its fused score and the two underlying signals."""

    clause: Clause
    score: float
    dense: float
    lexical: float
    coverage: float = 0.0


@dataclass
class Retrieval:
    """The ranked hits for a question, the owners it names, and what it cost."""

    question: str
    hits: list[Hit]
    owners: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    milliseconds: float = 0.0
    articles: set[str] = field(default_factory=set)  # ids of the clauses labelled 第X条 the question cites
    article_refs: list[int] = field(default_factory=list)  # the 第X条 numbers it cites, found or not
    # Every candidate scored, in rank order (hits is its head): where the item of a question's case is
    # found when its list's other items outrank it (bot.answering.cases).
    pool: list[Hit] = field(default_factory=list)


_NOTE = re.compile(r"[（(][^（）()]*[)）]")


def owner_aliases(name: str) -> list[str]:
    """The names a question may use for an owner: the name, without its jurisdiction, without a generic
    post suffix.

    In simplified characters, as questions are: "教務處" is asked about as "教务处".
    """
    name = simplified(name)
    aliases = [name]
    bare = _NOTE.sub("", name)  # "抢险组（总务处牵头）" is asked about as 抢险组
    if len(bare) >= 2 and bare != name:
        aliases.append(bare)
        name = bare
    body = _JURISDICTION.sub("", name, count=1)
    if len(body) >= 2 and body != name:
        aliases.append(body)
    for alias in list(aliases):
        for suffix in _ALIAS_SUFFIXES:
            if alias.endswith(suffix) and len(alias) - len(suffix) >= 2:
                aliases.append(alias[: -len(suffix)])
    return aliases


@lru_cache(maxsize=8)
def _alias_candidates(owners: tuple[str, ...]) -> list[tuple[str, str]]:
    """(alias, owner) pairs, longest alias first: built once per set of owners, not per question."""
    return sorted(((alias, name) for name in owners for alias in owner_aliases(name)),
                  key=lambda pair: (-len(pair[0]), pair[0] != pair[1]))


def mentioned_owners(question: str, owners: list[str]) -> list[str]:
    """Owners the question names, longest names first, no two claiming the same characters."""
    question = simplified(question)
    candidates = [(a, n) for a, n in _alias_candidates(tuple(owners)) if a in question]
    taken = [False] * len(question)
    found: list[str] = []
    for alias, name in candidates:
        start = question.find(alias)
        if start < 0 or any(taken[start:start + len(alias)]) or name in found:
            continue
        taken[start:start + len(alias)] = [True] * len(alias)
        found.append(name)
    return found


def resolve_owner(name: str, owners: list[str]) -> str | None:
    """The owner a user means by a name: exact, else the one the name mentions ("出纳" → 出纳员)."""
    if name in owners:
        return name
    found = mentioned_owners(name, owners)
    return found[0] if found else None


def blank_owner_mentions(question: str, owners: list[str]) -> str:
    """The question with the names (or aliases) of the owners it mentions replaced by spaces."""
    question = simplified(question)
    for name in owners:
        for alias in owner_aliases(name):
            if alias in question:
                question = question.replace(alias, " " * len(alias))
                break
    return question


class Retriever:
    """Ranks clauses for a question from one knowledge snapshot."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed(self, question: str) -> np.ndarray:
        """The query vector; any failure of the embedding engine is a 503, not a 500."""
        try:
            return self.embedder.embed_query(question)
        except BackendUnavailableError:
            raise
        except Exception as exc:
            raise BackendUnavailableError(f"嵌入模型出错：{type(exc).__name__}") from exc

    def retrieve(self, knowledge: Knowledge, question: str, limit: int = 30) -> Retrieval:
        """Blend dense similarity, BM25 and key-term coverage; clauses of a named owner get a lift."""
        started = time.perf_counter()
        owners = mentioned_owners(question, list(knowledge.owners))
        # The owner a question names is matched by the owner lift, not as a key term: its name
        # often appears only in headings, and segmenters split "后勤保障处有…" into odd words.
        # "考勤办法第三条": article 3 is looked up by its label; the rest of the question says which document.
        refs = article_numbers(question)
        articles = {cid for number in refs for cid in knowledge.articles.get(number, [])}
        terms = key_terms(blank_article_refs(blank_owner_mentions(question, owners)))
        weights = term_weights(terms, knowledge.term_count, len(knowledge.clauses))
        dense = dict(knowledge.dense(self.embed(question), _POOL))
        # BM25 without question words: "是/谁/的" would otherwise outvote the subject of the question.
        lexical = knowledge.lexical_scores(lexical_query(question) or question)
        candidates = list(dict.fromkeys([*dense, *(knowledge.clauses[i].id for i in _top_rows(lexical)),
                                         *sorted(articles)]))
        dense_norm = _minmax({cid: dense.get(cid) for cid in candidates})
        top_lexical = float(lexical.max()) if len(lexical) else 0.0
        hits = []
        for clause_id in candidates:
            clause = knowledge.by_id[clause_id]
            context, text = knowledge.compact[clause_id]
            covered = coverage(weights, text, context)
            lexical_norm = float(lexical[knowledge.row(clause_id)]) / top_lexical if top_lexical > 0 else 0.0
            score = (DENSE_WEIGHT * dense_norm[clause_id] + LEXICAL_WEIGHT * lexical_norm
                     + COVERAGE_WEIGHT * covered + (OWNER_BONUS if clause.owner in owners else 0.0)
                     + (ARTICLE_BONUS if clause_id in articles else 0.0))
            hits.append(Hit(clause, score, dense.get(clause_id, 0.0), lexical_norm, covered))
        hits.sort(key=lambda hit: -hit.score)
        elapsed = (time.perf_counter() - started) * 1000
        return Retrieval(question, hits[:limit], owners, weights, elapsed, articles, refs, pool=hits)


def _minmax(values: dict[str, float | None]) -> dict[str, float]:
    """Scale similarities to 0..1 over the candidates (a candidate the dense side missed gets 0)."""
    present = [v for v in values.values() if v is not None]
    if not present:
        return dict.fromkeys(values, 0.0)
    low, high = min(present), max(present)
    span = high - low or 1.0
    return {k: 0.0 if v is None else (v - low) / span for k, v in values.items()}


def _top_rows(scores: np.ndarray) -> list[int]:
    """Rows of the best-scoring clauses (score > 0), best first (a partial sort: the index may be large)."""
    if len(scores) > _POOL:
        top = np.argpartition(-scores, _POOL)[:_POOL]
        top = top[np.argsort(-scores[top])]
    else:
        top = np.argsort(-scores)
    return [int(i) for i in top if scores[i] > 0]
