"""Does the knowledge base answer the question? The fitted model's verdict on the clause an answer cites.

No single figure vetoes: the clause the answer would cite first is measured (bot.answering.features),
the shipped model turns the figures into a probability, and its thresholds give the status:
`answered` (the clause states it), `related` (close clauses, nothing claimed) or `refused`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.answering import model as fitted
from bot.answering.cases import case_sibling
from bot.answering.features import NAMES, asks_for_value, content_runs, measure, states_what_is_asked
from bot.answering.intent import DUTIES, WHO, detect_intent, without_speaker_opening
from bot.answering.owners import (
    best_owned,
    linked_owner,
    named_with_asked_verb,
    names_topic,
    parties_asked,
    party_for_case,
)
from bot.answering.tuning import SUBJECT_SHARE, VALUE_DEPTH
from bot.knowledge import Knowledge, compact
from bot.retrieve import Hit, Retrieval
from bot.terms import CONTEXT_CREDIT, subject_weights

_VALUE_MISSING = NAMES.index("value_missing")


@dataclass
class Support:
    """The verdict on a retrieval: status, its probability, and the clause it was judged on."""

    status: str
    probability: float = 0.0
    hit: Hit | None = None  # the clause the answer cites first
    states: str | None = None  # id of the clause a fact answer cites first, when not the top hit
    missing: list[str] = field(default_factory=list)  # key terms that clause lacks (for explanations)
    figures: list[float] = field(default_factory=list)
    intent: str | None = None  # what the question asks for, read with the knowledge at hand

    @property
    def supported(self) -> bool:
        """True for a confident answer."""
        return self.status == "answered"


def assess(retrieval: Retrieval, knowledge: Knowledge, model: fitted.Model | None = None) -> Support:
    """Judge the clause an answer would cite first."""
    hits = retrieval.hits
    if not hits:
        return Support("refused", missing=list(retrieval.weights))
    cited = [hit for hit in hits if hit.clause.id in retrieval.articles]
    if retrieval.article_refs:  # "考勤办法第三条": the article is the answer, or nothing is
        # The rest of the question (the document's name, mostly in headings, which count half) must
        # point at it; a bare "第八条" needs nothing more.
        best = max(cited, key=lambda hit: hit.coverage, default=None)
        return Support("answered", 1.0, best) if best and best.coverage >= CONTEXT_CREDIT else Support("refused")
    intent = question_intent(retrieval, knowledge)
    known = set(knowledge.owners)
    hit = candidate(retrieval, known, intent)
    parties = party_for_case(hit.clause, parties_asked(hit.clause, known, retrieval.question), retrieval.question) \
        if intent == "who" else []
    figures = measure(retrieval, hit, intent == "who", parties)
    model = model or fitted.load()
    probability = model.probability(figures)
    status = model.status(probability)
    if status == "refused" and figures[_VALUE_MISSING] and hit.coverage >= SUBJECT_SHARE:
        # A value the clause does not state rules out answering, not relating: a clause about the
        # question's subject is still the closest one to show.
        status = "related" if model.status(model.probability(_value_stated(figures))) != "refused" else status
    if status == "related" and not shares_content(retrieval.question, hit):
        status = "refused"  # closest by score, but not two characters of the question in common: nothing relevant
    if status == "related" and intent == "who" and named_with_asked_verb(hit.clause, known, retrieval.question):
        status = "answered"  # the clause names the party with the question's own verb: it states the answer
    # A fact answer quotes the judged clause first when it is not the top one: it states the value asked for.
    states = hit.clause.id if intent != "who" and hit is not hits[0] else None
    return Support(status, probability, hit, states, _missing(retrieval, hit), figures, intent)


def question_intent(retrieval: Retrieval, knowledge: Knowledge) -> str:
    """The intent, where a duty question about one of the post's tasks ("突发事件了安全办要做啥") asks a fact.

    A question that names nothing but a post and the duty frame wants the whole duty list; one that
    also names a topic of that post's own clauses wants the clause about it. Words that only restate
    the post ("管档案" for 档案管理员) or the speaker's situation ("刚调到", "上班") are no such topic,
    nor is an opening in which the speaker describes their job ("我在食堂管仓库，平时要做些啥").
    """
    intent = detect_intent(retrieval.question, retrieval.owners)
    if intent != "duties":
        return intent
    owner = retrieval.owners[0]
    duties = "".join(knowledge.compact[c.id][1] for c in knowledge.owner_clauses(owner))
    asked = without_speaker_opening(retrieval.question)
    topic = [t for t in subject_weights(retrieval.question, retrieval.weights)
             if t in asked and t in duties and not names_topic(owner, [t])]
    return "fact" if topic else intent


def link_owner(retrieval: Retrieval, knowledge: Knowledge) -> Retrieval:
    """A duty question that names no post as the rules do gets the post its words link to, if any."""
    question = retrieval.question
    if retrieval.owners or not DUTIES.search(question) or WHO.search(question):
        return retrieval
    counts = {name: owner.clause_count for name, owner in knowledge.owners.items()}
    owner = linked_owner(question, retrieval, counts)
    return replace(retrieval, owners=[owner]) if owner else retrieval


def candidate(retrieval: Retrieval, known: set[str], intent: str) -> Hit:
    """The clause an answer cites first: for "who", one naming a party; for a value, one stating it;
    of a list whose items are cases by length of time, the item of the question's case."""
    chosen = _first_choice(retrieval, known, intent)
    return case_sibling(retrieval.pool or retrieval.hits, chosen, retrieval.question) or chosen


def _first_choice(retrieval: Retrieval, known: set[str], intent: str) -> Hit:
    """For "who", the top clause naming a party; for a value, the first stating it; else the top one."""
    if intent == "who":
        return best_owned(retrieval, known)
    top = retrieval.hits[:VALUE_DEPTH]
    stating = [hit for hit in top if states_what_is_asked(retrieval.question, hit.clause.text)]
    return stating[0] if stating and asks_for_value(retrieval.question) else top[0]


def shares_content(question: str, hit: Hit) -> bool:
    """The clause or its headings (a roster row's column labels) have two characters in a row of the
    question's content, or two of its content characters ("借的书弄丢了要咋赔" and "负责图书借阅")."""
    matched = "".join(compact(hit.clause))
    runs = content_runs(question)
    if any(run[i:i + 2] in matched for run in runs for i in range(len(run) - 1)):
        return True
    return len({ch for run in runs for ch in run if ch in matched}) >= 2


def _value_stated(figures: list[float]) -> list[float]:
    """The figures as if the clause stated the value asked for."""
    return [0.0 if i == _VALUE_MISSING else f for i, f in enumerate(figures)]


def _missing(retrieval: Retrieval, hit: Hit) -> list[str]:
    """The question's subject terms the clause does not state."""
    matched = "".join(compact(hit.clause))
    return [t for t in subject_weights(retrieval.question, retrieval.weights) if t not in matched]
