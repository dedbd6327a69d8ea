"""Extractive answers: who is responsible, a role's duties, or the clauses that state a fact.

Every sentence that states something from the rules quotes a clause and carries its `[n]`.
Nothing is said that a clause does not say; when the rules don't cover a question, we refuse.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Literal

import prompts
from bot.answering.intent import asks_who_holds, detect_intent
from bot.answering.owners import best_owned, parties_asked, party_for_case
from bot.answering.tuning import MAX_OWNERS, PHONE_ROW_WORDS, RELATED_MAX, SECOND_CLAUSE_RATIO, SECTION_TOPIC_SHARE
from bot.knowledge import Knowledge, section_heading
from bot.retrieve import Hit, Retrieval, owner_aliases
from bot.support import Support
from bot.terms import coverage, subject_weights
from ingest.hanzi import simplified
from ingest.model import Clause
from ingest.owners import PHONE, is_unit_work

Status = Literal["answered", "related", "refused"]

_CONJUNCTION = re.compile(r"\s*(?:和|与|及|以及|、|跟|同|还有|或|或者|,|，)\s*")
_CONTACT_PHRASES = ("联系方式", "联系电话", "电话号码", "办公电话", "手机号码", "联系人", "怎么联系", "如何联系")
_RELATED_LEAD = "规章中没有直接写明这一点；最接近的条款是："


@dataclass
class Answer:
    """The composed answer: text with [n] markers, the clauses cited (in marker order), the owner."""

    text: str
    citations: list[Hit] = field(default_factory=list)
    owner: str | None = None
    contact: str | None = None
    status: Status = "answered"
    mode: str = "extractive"

    @property
    def refused(self) -> bool:
        """Not a confident answer: `related` or `refused` (kept for existing clients)."""
        return self.status != "answered"


def refusal_message() -> str:
    """The fixed message for questions the rules do not answer."""
    return prompts.path("refusal.txt").read_text(encoding="utf-8").strip()


def compose(retrieval: Retrieval, knowledge: Knowledge, support: Support, limit: int = 2) -> Answer:
    """Build the extractive answer for a retrieval the support check has judged.

    A duty list of a named department or post is its own support: those clauses are the answer.
    `limit` caps the clauses a fact answer quotes (a duty list always lists every duty).
    """
    intent = support.intent or detect_intent(retrieval.question, retrieval.owners)
    if intent == "duties":
        return _duty_lists(retrieval, knowledge)
    if intent == "contact" and (support.supported or _only_asks_how_to_reach(support)):
        return _contacts(retrieval.owners, knowledge, retrieval)
    if support.status == "refused" or asks_who_holds(retrieval.question, retrieval.owners):
        # "谁是校长？" asks for the person in a post: the rules name posts, not people.
        return Answer(text=refusal_message(), status="refused")
    if support.status == "related":
        return _related(retrieval, knowledge, support, limit)
    if intent == "who":
        return _who(retrieval, knowledge, support.hit)
    return _fact(retrieval, knowledge, limit, support.states)


def _related(retrieval: Retrieval, knowledge: Knowledge, support: Support, limit: int = RELATED_MAX) -> Answer:
    """Say plainly that the rules don't clearly state it, and quote the closest clauses, claiming nothing.

    The closest are the clause judged, then the next best; or, when the question is about a short
    section's heading, that section's items in document order (as a confident answer would quote them).
    """
    limit = max(1, min(limit, RELATED_MAX))
    first = [support.hit] if support.hit else []
    hits = _topic_section(retrieval, knowledge, limit) or \
        list({h.clause.id: h for h in [*first, *retrieval.hits]}.values())[:limit]
    lines = [_RELATED_LEAD] + [f"{n}. {_where(h.clause)}{_quote(h, n)}" for n, h in enumerate(hits, start=1)]
    return Answer(text="\n".join(lines), citations=hits, status="related")


def _where(clause: Clause) -> str:
    """The document and the heading a closest clause sits under: who-askers see whose duty it is."""
    heading = clause.section[-1] if clause.section and clause.section[-1] != clause.document else ""
    return f"《{clause.document}》{heading}：" if heading else f"《{clause.document}》"


def _only_asks_how_to_reach(support: Support) -> bool:
    """True when all the question asks beyond the owner's name is how to reach it ("政教处的联系方式").

    Those words are its form, like "谁" or "哪些": the phone row states no "联系方式", yet answers it,
    however unlike the question it looks to the embedder. "总务处的传真号码" misses "传真": still refused.
    """
    return all(any(term in phrase for phrase in _CONTACT_PHRASES) for term in support.missing)


def _quote(hit_or_clause: Hit | Clause, marker: int) -> str:
    clause = hit_or_clause.clause if isinstance(hit_or_clause, Hit) else hit_or_clause
    return f"「{clause.quoted()}」[{marker}]"


def _source_line(clause: Clause) -> str:
    headings = [h.rstrip(":：") for h in clause.section if h != clause.document][-2:]
    section = " · ".join(headings)
    return f"《{clause.document}》" + (f"{section}" if section else "")


def _who(retrieval: Retrieval, knowledge: Knowledge, hit: Hit | None = None) -> Answer:
    """Name who the cited clause makes responsible (for the case the question describes), with a contact."""
    known = set(knowledge.owners)
    hit = hit or best_owned(retrieval, known)
    parties = party_for_case(hit.clause, parties_asked(hit.clause, known, retrieval.question), retrieval.question)
    if not parties:
        return _fact(retrieval, knowledge)
    if len(parties) > 1:  # a clause that assigns cases to different people: naming one would be a guess
        text = f"此条按不同情形规定了负责人：{'、'.join(parties)}。\n依据{_source_line(hit.clause)}：{_quote(hit, 1)}"
        return Answer(text=text, citations=[hit], owner="、".join(parties))
    party = parties[0]
    contact = _contact_of(party, hit.clause, knowledge)
    reach = f"（联系电话：{contact}）" if contact else ""
    text = f"负责此事的是：{party}{reach}。\n依据{_source_line(hit.clause)}：{_quote(hit, 1)}"
    return Answer(text=text, citations=[hit], owner=party, contact=contact)


def _contact_of(party: str, clause: Clause, knowledge: Knowledge) -> str | None:
    """The party's contact, only when it comes from the same document as the clause (never another school's)."""
    if party not in knowledge.owners or not knowledge.owners[party].contact:
        return None
    same = [c for c in knowledge.owner_clauses(party) if c.doc_id == clause.doc_id and c.contact]
    return same[0].contact if same else None


def _duty_lists(retrieval: Retrieval, knowledge: Knowledge) -> Answer:
    """The duty list of the owner asked about, or of each owner the question lists ("教务处和政教处…")."""
    parts: list[Answer] = []
    for owner in _listed_owners(retrieval.question, retrieval.owners)[:MAX_OWNERS]:
        parts.append(_duties(owner, knowledge, retrieval, first_marker=1 + sum(len(p.citations) for p in parts)))
    if len(parts) == 1:
        return parts[0]
    return Answer(text="\n\n".join(p.text for p in parts), citations=[h for p in parts for h in p.citations],
                  owner=parts[0].owner, contact=parts[0].contact)


def _listed_owners(question: str, owners: list[str]) -> list[str]:
    """The first owner the question names, and those listed right after it with 和/与/、…

    "班主任要配合政教处做哪些工作" names 政教处 without asking for its duties: one list, not two.
    """
    spans = sorted((_span(question, name), name) for name in owners)
    listed = [spans[0][1]]
    for ((_, end), _), ((start, _), name) in itertools.pairwise(spans):
        if not _CONJUNCTION.fullmatch(question[end:start]):
            break
        listed.append(name)
    return listed


def _span(question: str, owner: str) -> tuple[int, int]:
    """Where the question first names the owner, by its longest alias found."""
    found = [(question.find(alias), alias) for alias in sorted(owner_aliases(owner), key=len, reverse=True)]
    start, alias = next(((i, a) for i, a in found if i >= 0), (len(question), ""))
    return start, start + len(alias)


def _duties(owner: str, knowledge: Knowledge, retrieval: Retrieval, first_marker: int = 1) -> Answer:
    """List every clause of the owner under each document and section it comes from: the owner's own
    list first, then items under topics of its section (a plan's), each run in document order.

    Items are numbered from 1; their [n] markers start at `first_marker` (a second owner's list). A
    lead-in ("…其职责如下：") introduces the duties and is none of them: it is left out when duties follow.
    A row that only gives the owner's phone ("机构名称 安全办 办公电话 …") is no duty: cited last, for the phone.
    """
    clauses = _distinct(knowledge.owner_clauses(owner))
    clauses = [c for c in clauses if not is_lead_in(c)] or clauses
    scores = {hit.clause.id: hit for hit in retrieval.hits}
    hits = [scores.get(c.id) or Hit(c, 0.0, 0.0, 0.0) for c in clauses]
    phone_rows = [h for h in hits if _only_gives_phone(h.clause, owner)]
    hits = [h for h in hits if h not in phone_rows] or hits
    groups = _source_groups(hits, owner)
    contact = _contact_of(owner, groups[0][1][0].clause, knowledge) if groups else None  # the first list's document
    reach = f"（联系电话：{contact}）" if contact else ""
    where = f"（{groups[0][0]}）：" if len(groups) == 1 else f"，出自 {len(groups)} 处："
    lines = [f"{owner}{reach}的职责共 {len(hits)} 条{where}"]
    cited: list[Hit] = []
    for source, group in groups:  # several documents or sections: say where each run comes from
        lines += [f"{source}："] if len(groups) > 1 else []
        for hit in group:
            cited.append(hit)
            lines.append(f"{len(cited)}. {_quote(hit, first_marker + len(cited) - 1)}")
    for hit in (h for h in phone_rows if h not in hits):
        cited.append(hit)
        lines.append(f"联系电话依据{_source_line(hit.clause)}：{_quote(hit, first_marker + len(cited) - 1)}")
    return Answer(text="\n".join(lines), citations=cited, owner=owner, contact=contact)


def _only_gives_phone(clause: Clause, owner: str) -> bool:
    """The clause states a phone and, besides it and the owner's name, only a few words of labels."""
    found = PHONE.search(clause.text)
    if not found:
        return False
    rest = simplified(clause.text).replace(found.group(0), "")
    for alias in sorted(owner_aliases(owner), key=len, reverse=True):  # aliases are simplified
        rest = rest.replace(alias, "")
    return len(re.sub(r"[\W_]", "", rest)) <= PHONE_ROW_WORDS


def _source_groups(hits: list[Hit], owner: str) -> list[tuple[str, list[Hit]]]:
    """The owner's clauses by where they come from: its own list first, then a plan's section for it,
    then a plan's items under topics of that section; each place once, its items in document order."""
    runs = [(source, list(run)) for source, run in groupby(hits, key=lambda h: _source_line(h.clause))]
    runs.sort(key=lambda run: min(_below_owner(h.clause, owner) for h in run[1]))  # stable: ties keep order
    merged: dict[str, list[Hit]] = {}
    for source, run in runs:
        merged.setdefault(source, []).extend(run)
    return list(merged.items())


def _below_owner(clause: Clause, owner: str) -> tuple[int, bool]:
    """How many headings lie between the clause and the one naming its owner (0 for the owner's own list,
    "安全办：" then its items; more for a plan's items under a topic of the owner's section), and whether
    that heading is a plan's section for the owner ("（七）总务处工作"), which comes after its duties."""
    aliases = owner_aliases(owner)  # simplified, as the headings are compared
    named = [i for i, heading in enumerate(clause.section) if any(a in simplified(heading) for a in aliases)]
    if not named:
        return 0, False
    return len(clause.section) - 1 - named[-1], is_unit_work(clause.section[named[-1]])


def is_lead_in(clause: Clause) -> bool:
    """A clause that only introduces the next ("…其职责如下：", "全员全程核心德育：")."""
    return clause.text.rstrip().endswith((":", "："))


def _distinct(clauses: list[Clause]) -> list[Clause]:
    """Clauses without repeats of the same text (a document ingested twice under two names)."""
    seen: set[str] = set()
    kept = []
    for clause in clauses:
        if clause.sha256 not in seen:
            seen.add(clause.sha256)
            kept.append(clause)
    return kept


def _contacts(owners: list[str], knowledge: Knowledge, retrieval: Retrieval) -> Answer:
    """Every named owner's contact ("教务处和政教处的电话"), each with its own citation."""
    if len(owners) == 1:
        return _contact(owners[0], knowledge, retrieval)
    lines: list[str] = []
    found: list[Answer] = []
    for owner in sorted(owners, key=lambda name: _span(retrieval.question, name))[:MAX_OWNERS]:
        part = _contact(owner, knowledge, retrieval, marker=len(found) + 1)
        if part.refused:
            lines.append(f"规章中没有{owner}的联系电话。")
        elif all(part.owner != seen.owner for seen in found):  # two posts of one unit: its number once
            found.append(part)
            lines.append(part.text)
    if not found:
        return Answer(text=refusal_message(), status="refused")
    citations = [hit for part in found for hit in part.citations]
    return Answer(text="\n".join(lines), citations=citations, owner=found[0].owner, contact=found[0].contact)


def _contact(owner: str, knowledge: Knowledge, retrieval: Retrieval, marker: int = 1) -> Answer:
    """Give the owner's contact, citing the clause that states it; else its unit's; else say there is none.

    Quoting whatever ranks best instead would hand out another department's number for this one.
    """
    unit = owner if knowledge.owners[owner].contact else _unit_with_contact(owner, knowledge)
    stating = [c for c in knowledge.owner_clauses(unit) if PHONE.search(c.text)] if unit else []
    if not stating:
        return Answer(text=refusal_message(), status="refused")
    # Two schools may both have a 总务处: the number comes from the document the question is about.
    docs = list(dict.fromkeys(h.clause.doc_id for h in retrieval.hits))
    clause = min(stating, key=lambda c: docs.index(c.doc_id) if c.doc_id in docs else len(docs))
    found = PHONE.search(clause.text)  # every stating clause holds a number; its own contact when it quotes it
    contact = clause.contact if clause.contact and clause.contact in clause.text else found.group(0) if found else ""
    hit = next((h for h in retrieval.hits if h.clause.id == clause.id), Hit(clause, 0.0, 0.0, 0.0))
    lead = f"{owner}的联系电话是 {contact}。" if unit == owner else \
        f"规章中没有单列{owner}的联系电话；{unit}的联系电话是 {contact}。"
    return Answer(text=f"{lead}\n依据{_source_line(clause)}：{_quote(hit, marker)}", citations=[hit], owner=unit,
                  contact=contact)


def _unit_with_contact(post: str, knowledge: Knowledge) -> str | None:
    """The longest owner with a contact whose name the post's name contains (教务处主任 → 教务处)."""
    units = [name for name, o in knowledge.owners.items() if o.contact and name != post and name in post]
    return max(units, key=len, default=None)


def _fact(retrieval: Retrieval, knowledge: Knowledge, limit: int = 2, states: str | None = None) -> Answer:
    """Quote the best clause, and the runner-up when it ranks nearly as high (at most `limit`).

    When the question is about a whole short section, quote all of its items in document order. When
    it asks for a value (a time, an amount), the clause that states it (`states`) is quoted first.
    """
    if states:
        stating = [hit for hit in [*retrieval.hits, *retrieval.pool] if hit.clause.id == states][:1]
        retrieval = replace(retrieval, hits=stating + [hit for hit in retrieval.hits if hit.clause.id != states])
    first = retrieval.hits[0]
    section = None if states else _topic_section(retrieval, knowledge, limit)
    if section:  # one source line, then the items as the section numbers them
        cited = section
        lines = [f"根据{_source_line(first.clause)}（共 {len(cited)} 条）："]
        lines += [_quote(hit, n) for n, hit in enumerate(cited, start=1)]
    else:
        runners = [h for h in retrieval.hits[1:2] if h.score >= first.score * SECOND_CLAUSE_RATIO]
        cited = ([first] + runners)[:max(1, limit)]
        lines = [f"根据{_source_line(hit.clause)}：{_quote(hit, n)}" for n, hit in enumerate(cited, start=1)]
    owner = first.clause.owner
    contact = _contact_of(owner, first.clause, knowledge) if owner else None
    return Answer(text="\n".join(lines), citations=cited, owner=owner, contact=contact)


def _topic_section(retrieval: Retrieval, knowledge: Knowledge, limit: int) -> list[Hit]:
    """The items of the best clause's section, in document order, when the question asks about that section.

    "学校计划怎样加强心理健康教育" is about the heading "心理健康教育工作": each of its items is part of
    the answer, and quoting only the one that happens to repeat "加强" would drop the others. It applies
    when the two best clauses are items of one section whose own heading covers most of the question's
    key terms, and the section is short enough to quote whole.
    """
    hits = retrieval.hits
    if len(hits) < 2 or not retrieval.weights or not hits[0].clause.section or retrieval.article_refs:
        return []  # "考勤办法第二条" asks for one article, not the section it sits in
    first, second = hits[0].clause, hits[1].clause
    if (second.doc_id, second.section) != (first.doc_id, first.section):
        return []
    items = _distinct(knowledge.section(first))
    topic = subject_weights(retrieval.question, retrieval.weights)
    if not 2 <= len(items) <= limit or coverage(topic, section_heading(first)) < SECTION_TOPIC_SHARE:
        return []
    ranked = {hit.clause.id: hit for hit in hits}
    return [ranked.get(c.id) or Hit(c, 0.0, 0.0, 0.0) for c in items]
