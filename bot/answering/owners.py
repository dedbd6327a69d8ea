"""Who a clause makes responsible: the actor its text names, else the unit or post whose section it is.

Read from the sentence, not from a list of names: "由分管副校长审批", "交班主任签字", "报教务处备案",
"保卫科应立即报警", a line opening "后勤处：负责…". A name counts when the rules know it as an owner or
it ends like the name of a unit or post. When a clause assigns different cases to different parties
("一天以内的由年级组长批准；三天以上的由校长批准"), the case the question describes picks one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot.answering.intent import asks_recipient
from bot.answering.tuning import LINK_DEPTH, NEAR_EQUAL, SUBJECT_MAX, WHO_DEPTH, WHO_FLOOR
from bot.retrieve import Hit, Retrieval
from ingest.hanzi import simplified
from ingest.lexicon import ROLE_ENDINGS
from ingest.model import Clause
from ingest.numbering import split_label

_NAME = r"([\u4e00-\u9fff]{2,10}?)"
_ACTOR_NAME = r"((?:(?![由有])[\u4e00-\u9fff]){2,16}?)"  # a regulation's actors: "县级以上人民政府教育行政部门"
_ACTS = (r"(?:依法)?(?:统一|负责|组织|承担|牵头|审核|审批|批准|同意|签字|签名|签署|办理|登记|保管|安排|管理|处理|备案|"
         r"核实|核准|决定|报告|复核|给予|予以|责令|查处)")
_RECEIVE = r"交|报|报请|送|送交"  # handed or reported to: the one who receives it
_TEXT_OWNER = [
    # "后勤处：负责…", "班主任：…": a line that opens with a party and a colon.
    re.compile(r"^" + _NAME + r"[：:]"),
    # "由图书馆统一登记", "经分管副校长批准", "交班主任签字", "报教务处备案", "由公安机关依法给予处罚".
    # "交至团委书记处审核": the hand-over's 至/到/给 is not part of the name.
    re.compile(r"(?:由|经|交由|有|" + _RECEIVE + r")(?:至|到|给)?(?:所在|本|该|学校)?" + _NAME + _ACTS),
    # "学校主要负责人对校园安全工作全面负责": a party answering for a whole field.
    re.compile(r"(?:^|[，。；,;])" + _NAME + r"对[^，。；,;]{1,24}?负责"),
    # "向治安责任人汇报", "转告有关领导", "统一交至组织部": whom to report or hand it to handles it.
    re.compile(r"(?:向|转告|告知|交至|交到|送至|送到|上交|交给|报送)" + _NAME
               + r"(?=$|[，。；,;汇报报告申请提出反映请假])"),
    # "…，体育组负责具体组织", "保卫科应立即报警", "各级卫生防疫站，对学校卫生工作承担下列任务":
    # a party opening a sentence or a clause of it.
    # A name holds no 由/有 ("教研活动有教研组长负责" names 教研组长, found by the 有 pattern above).
    re.compile(r"(?:^|[，。；,;])(?![由有对在向为经与和交报送请])(?:各级|各)?" + _ACTOR_NAME +
               r"[，,]?(?:对[^，。；,;]{1,24}?)?(?:应当|应|必须|须|要|负责|组织|承担|履行|统筹|主管)"),
]
# The patterns that name whom something is handed or reported to (see parties_asked).
# The first of several listed ("向专职安全员、校务办或总务处报告") is the one named.
_RECEIVERS = (re.compile(r"(?:" + _RECEIVE + r")(?:至|到|给)?(?:所在|本|该|学校)?" + _NAME + _ACTS),
              re.compile(r"(?:向|转告|告知|交至|交到|送至|送到|上交|交给|报送)" + _NAME +
                         r"(?=$|[，。；,;、或和及与汇报报告申请提出反映请假])"))
_CASES = re.compile(r"[；;。]")
_QUANTITY = re.compile(r"[\d一二两三四五六七八九十半]")


def responsible_parties(clause: Clause, known: set[str]) -> list[str]:
    """Everyone the text makes responsible, in order, else the owner of the section it belongs to."""
    found = _named(clause, known, _TEXT_OWNER)
    return found or _subject(clause.text, known) or _lead_in(clause, known) or ([clause.owner] if clause.owner else [])


def parties_asked(clause: Clause, known: set[str], question: str) -> list[str]:
    """The parties that answer this who-question: whom it is handed or reported to, when the question
    asks that ("材料交哪儿", "该跟谁说") and the clause names one; else everyone responsible."""
    if asks_recipient(question):
        receivers = _named(clause, known, _RECEIVERS, trim=True)
        if receivers:
            return receivers
    return responsible_parties(clause, known)


def _named(clause: Clause, known: set[str], patterns: Iterable[re.Pattern[str]], trim: bool = False) -> list[str]:
    """The parties the patterns find in the text, in order: known owners, or names that end like one.

    With `trim`, a name that runs on into what is done with it ("向县教体局安全科准确上报") is cut
    after its last unit or post ending.
    """
    found: list[str] = []
    text = simplified(clause.text)
    for pattern in patterns:
        for match in pattern.finditer(text):
            start, end = match.span(1)
            form = text[start:end]  # matched in simplified characters; named as the rules write it
            if trim and not (form in known or form.endswith(ROLE_ENDINGS)):
                ends = (i for i in range(2, len(form)) if form[:i].endswith(ROLE_ENDINGS))
                end = start + max(ends, default=len(form))
                form = text[start:end]
            name = clause.text[start:end]
            if (name in known or form in known or form.endswith(ROLE_ENDINGS)) and name not in found:
                found.append(name)
    return found


def _lead_in(clause: Clause, known: set[str]) -> list[str]:
    """The actor the item's lead-in names ("第二十六条 各级卫生防疫站，对学校卫生工作承担下列任务：")."""
    if not clause.section or not clause.section[-1].rstrip().endswith((":", "：")):
        return []
    numbered = split_label(clause.section[-1])
    heading = numbered.rest if numbered else clause.section[-1]
    lead = Clause(clause.id, clause.doc_id, clause.document, (), None, None, None, heading, clause.source, 0)
    return [p for p in responsible_parties(lead, known) if p != heading]


def responsible_party(clause: Clause, known: set[str]) -> str | None:
    """The first party the clause makes responsible, if any."""
    parties = responsible_parties(clause, known)
    return parties[0] if parties else None


def party_for_case(clause: Clause, parties: list[str], question: str) -> list[str]:
    """Of several parties, the one whose case the question's quantity names ("请假一天以内" for 一天).

    Cases are told apart by what differs between them, mostly a number of days or times; the words
    they share ("请假", written once before the first case) say nothing about which case applies.
    """
    if len(parties) < 2:
        return parties
    grams = {question[i:i + 2] for i in range(len(question) - 1) if _QUANTITY.search(question[i:i + 2])}
    cases = [s for s in _CASES.split(simplified(clause.text)) if s]
    scored = []
    for party in parties:
        case = next((s for s in cases if simplified(party) in s), "")
        scored.append((sum(1 for g in grams if g in case), party))
    best = max(score for score, _ in scored)
    chosen = [party for score, party in scored if score == best]
    return chosen if best > 0 else parties


def _subject(text: str, known: set[str]) -> list[str]:
    """The known department or post a clause opens with ("总务处每月对校舍…进行一次全面检查")."""
    for size in range(min(len(text), SUBJECT_MAX), 1, -1):
        if text[:size] in known:
            return [text[:size]]
    return []


def best_owned(retrieval: Retrieval, known: set[str]) -> Hit:
    """The clause a who-answer cites: the top hit, unless it names nobody and one close below does."""
    first = retrieval.hits[0]
    if responsible_parties(first.clause, known):
        return first
    for hit in retrieval.hits[1:3]:
        if responsible_parties(hit.clause, known) and hit.score >= first.score * NEAR_EQUAL:
            return hit
    for hit in retrieval.hits[1:WHO_DEPTH]:
        owner = hit.clause.owner
        if owner and hit.score >= first.score * WHO_FLOOR and names_topic(owner, retrieval.weights):
            return hit
    return first


def linked_owner(question: str, retrieval: Retrieval, knowledge_owners: dict[str, int]) -> str | None:
    """The post a duty question means without naming it as the rules do ("我刚开始管档案" → 档案管理员).

    Linked by what the documents show, not by a list: the owner of a top clause whose name shares two
    characters in a row with the question, among owners with a duty list (three clauses or more).
    """
    text = simplified(question)
    for hit in retrieval.hits[:LINK_DEPTH]:
        owner = hit.clause.owner
        if owner and knowledge_owners.get(owner, 0) >= 3 and names_topic(owner, [text]):
            return owner
    return None


def names_topic(owner: str, terms: Iterable[str]) -> bool:
    """The owner's name shares two characters in a row with a key term (食堂管理员 and 学校食堂)."""
    owner = simplified(owner)
    return any(term[i:i + 2] in owner for term in terms for i in range(len(term) - 1))
