"""Who a clause makes responsible: the actor its text names, else the unit or post whose section it is.

Read from the sentence, not from a list of names: "由分管副校长审批", "交班主任签字", "报教务处备案",
"保卫科应立即报警", a line opening "后勤处：负责…". A name counts when the rules know it as an owner or
it ends like the name of a unit or post. When a clause assigns different cases to different parties
("一天以内的由年级组长批准；三天以上的由校长批准"), the case the question describes picks one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from bot.answering.cases import asked_length, case_range, narrowest
from bot.answering.intent import asks_recipient
from bot.answering.tuning import LINK_DEPTH, NEAR_EQUAL, SUBJECT_MAX, WHO_DEPTH, WHO_FLOOR
from bot.retrieve import Hit, Retrieval, owner_aliases
from ingest.hanzi import simplified
from ingest.lexicon import ROLE_ENDINGS
from ingest.model import Clause
from ingest.numbering import split_label

_DECISION_ACTS = "决定|审批|批准|核准|审定|签批"  # the step of a procedure that decides
# How a party named after 由/经 does it, between its name and the act: "经校长办公会集体研究决定",
# "由年级组长代为审批", "由政教处按照《学生违纪处分办法》给予警告处分".
_MANNER = r"(?:代为|具体|(?:按照|根据|依照|依据)《[^》]{1,30}》(?:规定)?)?(?:集体)?(?:研究|讨论|审议)?"
# What a party named after 由/经/交 does there ("由家委会主任召集并主持", "由系部副主任带队").
_ACTS = (r"(?:依法)?(?:统一|负责|组织|承担|牵头|审核|审批|批准|同意|签字|签名|签署|办理|登记|保管|安排|管理|处理|备案|"
         r"核实|核准|决定|报告|复核|给予|予以|责令|查处|许可|鉴定|审阅|审定|签发|验收|召集|主持|带队|检查|核查|监督|"
         r"指导|协调|督促|通知|联系|发放|收取|看管|照看|维修|维护|记录|整理|培训|考核|评定|认定|落实|实施|执行|发布|"
         r"保存|存档|接待|巡查)")
_RECEIVE = r"交|报|报请|送|送交"  # handed or reported to: the one who receives it
_HANDED = r"向|转告|告知|报告|交至|交到|送至|送到|上交|交给|报送"  # whom to report or hand it to
# What follows the one something is handed or reported to: a stop, another party, or (after an adverb
# or two: "准确上报") what is done there.
_DONE = (r"[\u4e00-\u9fff]{0,3}?(?:汇报|报告|上报|申请|提出|反映|请假|处理|说明|联系|办理|报到|登记|签字|审批|批准|"
         r"审阅|备案|咨询|报案|报警|求助|申诉|投诉|举报)")
_THEN = r"(?=$|[，。；,;、或和及与]|" + _DONE + ")"
_WHOSE = r"(?:所在|本(?!级)|该|学校)?"  # "报所在学校", "交本部门"; but "本级人民政府" is a name


class _Patterns(NamedTuple):
    """The sentence forms that name a party, by the part the party plays."""

    responsible: list[re.Pattern[str]]  # who the text makes responsible
    receivers: list[re.Pattern[str]]  # whom it hands or reports to
    partners: list[re.Pattern[str]]  # whom else it assists, hands to or works under
    equals: list[re.Pattern[str]]  # whom it works with as an equal ("会同政教处检查", "与X一起")
    name: str  # a party's name, as a group


@lru_cache(maxsize=8)
def _patterns(known: frozenset[str]) -> _Patterns:
    """The party-naming patterns for one knowledge's owner names.

    A name is the fewest characters that end like a known owner or a unit or post ("主管会计", "年级组长")
    and are followed by what the pattern expects; so "由年级组长批准" is not cut at "年级组".
    """
    tail = "(?:" + "|".join(re.escape(e) for e in _endings(known)) + ")"
    # Before its ending a name holds none of the words that join, hand over or relate ("并立即报告学校领导").
    # ("有关领导" is a name; an actor holds no 有: "教研活动有教研组长负责" names 教研组长.)
    char = r"(?:(?![由向报告交经至到送并且及和与或的了在对为将把被让请])[\u4e00-\u9fff])"
    other = r"(?=[\u4e00-\u9fff]{2})" + char + "{0,10}?" + tail
    # "由组长（校长）决定", "由信息联络组（校长办公室）统一发布": a note naming who it is stays with the name.
    name = "(" + other + r"(?:[（(](?=[^（）()]{2})[^（）()，。；,;]{0,10}?(?:" + tail[3:-1] + r"|牵头|负责)[)）])?)"
    # "要求全体教师必须参加", "指导班主任做好…": after a verb that has someone act, the one named is told
    # to, and the actor is the sentence's own subject (a 组织部 is still a name: a name follows the verb).
    # "各班卫生干事请将…": in a notice, the party asked to do it.
    # "…，分管副校长决定；", "年级组审核": a party opening a step of a procedure, with what it does there.
    duty = (r"[，,]?(?:对[^，。；,;]{1,24}?)?(?:应当|应|必须|须|要|负责|组织|承担|履行|统筹|主管|"
            + _DECISION_ACTS + r"|请(?=于|将|在|按|把|及时|务必))")
    causes = r"(?:要求|督促|组织|指导|安排|动员|鼓励|号召|通知|提醒|带领|引导|帮助|派)"
    told = r"(?!" + causes + char + "{1,10}?" + tail + duty + ")"
    # "县级以上人民政府教育行政部门"
    actor = told + r"((?=[\u4e00-\u9fff]{2})(?:(?!有)" + char + "){0,22}?" + tail + ")"
    responsible = [
        # "后勤处：负责…", "班主任：…": a line that opens with a party and a colon.
        re.compile(r"^" + name + r"[：:]"),
        # "由图书馆统一登记", "经分管副校长批准", "交班主任签字", "报教务处备案", "由公安机关依法给予处罚".
        # "交至团委书记处审核": the hand-over's 至/到/给 is not part of the name.
        # "须经过管理部门或专职人员鉴定": of several parties, the first is named.
        # "须得校长或训导处主任之批准", "征得班主任同意": whose approval it takes.
        # "有关部门负责" is no "有 X 负责"; "由本级人民政府" keeps its 本级. "经校长办公会集体研究决定".
        re.compile(r"(?:由|经过|经|交由|有(?!关)|须得|需得|得到|征得|取得|" + _RECEIVE + r")(?:至|到|给)?" + _WHOSE
                   + name + r"(?:[、或和及与]" + other + r")*(?:之|的)?" + _MANNER + _ACTS),
        # "校务部的日常工作包括…", "…是理论部的重头戏": the work the sentence describes is the party's.
        re.compile(r"(?:^|[，。；,;])" + name + r"的[^，。；,;]{0,6}?(?:工作|职责|职能|任务)(?:包括|是|有|为|主要)"),
        re.compile(r"是" + name + r"的"),
        # "校医院应当设保健科(室)，负责师生的卫生保健工作": the unit set up is the one responsible.
        re.compile(r"(?:设立|设置|设|成立|组建)" + name + r"(?:[（(][^）)]{1,4}[）)])?[，,]?(?:负责|承担)"),
        # "学校主要负责人对校园安全工作全面负责": a party answering for a whole field.
        re.compile(r"(?:^|[，。；,;])" + name + r"对[^，。；,;]{1,24}?负责"),
        # "向治安责任人汇报", "转告有关领导", "统一交至组织部": whom to report or hand it to handles it;
        # so does the office one goes to for it ("至训导处报到", not "落实到有关人员").
        re.compile(r"(?:" + _HANDED + r")" + name + _THEN),
        re.compile(r"(?:至|到)" + name + r"(?=" + _DONE + ")"),
        # "…，体育组负责具体组织", "保卫科应立即报警", "各级卫生防疫站，对学校卫生工作承担下列任务":
        # a party opening a sentence or a clause of it.
        # A name holds no 由/有 ("教研活动有教研组长负责" names 教研组长, found by the 有 pattern above).
        # "上级工会组织的各项活动": what a party organised is no duty of it.
        # "，且指导教师必须全程在场": a conjunction opening the clause is no part of the name.
        re.compile(r"(?:^|[，。；,;])(?:并且|且|同时)?(?![由有对在向为经与和交报送请])(?:各级|各)?"
                   + actor + duty + "(?!的)"),
    ]
    # The first of several listed ("向专职安全员、校务办或总务处报告") is the one named.
    receivers = [re.compile(r"(?:" + _RECEIVE + r")(?:至|到|给)?" + _WHOSE + name + _ACTS),
                 re.compile(r"(?:" + _HANDED + r")" + name + _THEN)]
    # "协助总务处做好…": a party the text assists, hands to or works under.
    # "期末书面总结交政教处。": handed over, and the sentence ends there;
    # "在教科研室、教务处、艺体处领导下": the first of those it works under.
    partners = [re.compile(r"(?:协助|配合)" + name),
                re.compile(r"(?:" + _RECEIVE + r")(?:至|到|给)?" + name + r"(?=$|[。；;])"),
                re.compile(r"在" + name + r"(?:[、和及与]" + other + r")*的?(?:领导|指导)下")]
    # "会同政教处检查", "与食堂管理员一起盘点": worked with as equals, so the section's owner does it too.
    equals = [re.compile(r"(?:会同|协同)" + name), re.compile(r"(?:与|同|和)" + name + r"(?:一起|一道|共同)")]
    return _Patterns(responsible, receivers, partners, equals, name)


@lru_cache(maxsize=8)
def _endings(known: frozenset[str]) -> tuple[str, ...]:
    """How a party's name ends: a known owner's name, or a unit's or post's ending; longest first."""
    return tuple(sorted({simplified(name) for name in known if len(name) >= 2} | set(ROLE_ENDINGS),
                        key=len, reverse=True))


@lru_cache(maxsize=8)
def _agent_pattern(known: frozenset[str]) -> re.Pattern[str]:
    """"由X…" with any verb after the name ("由省级以上卫生行政部门聘任"); not "由于", "由此"."""
    return re.compile(r"由(?!于|此)" + _WHOSE + _patterns(known).name + r"(?=[\u4e00-\u9fff])")


def _by_agent(clause: Clause, known: set[str]) -> list[str]:
    """The party after 由, whatever it does; for a clause whose verb no other form knows.

    The name is the fewest characters that end like a party, then extended while the next character
    keeps it ending like one: "由教研组长…" is 教研组长, not 教研组; "卫生行政部门" not 卫生行政部. It
    must end like a known owner or with a two-character ending (部门, 政府, 主任…).
    """
    key = frozenset(known)
    endings, text = _endings(key), simplified(clause.text)
    long_endings = tuple(e for e in endings if len(e) >= 2)
    found: list[str] = []
    for match in _agent_pattern(key).finditer(text):
        start, end = match.start(1), match.end(1)
        while end < len(text) and text[start:end + 1].endswith(endings):
            end += 1
        name = clause.text[start:end]
        # A one-character ending cuts words ("由我校办刊经验的…" is no 我校办): only a longer one counts here.
        if name not in found and text[start:end].endswith(long_endings):
            found.append(name)
    return found


_CASES = re.compile(r"[；;。]")
_EACH = re.compile(r"^(?:各级|各)")
_PARTS = re.compile(r"[，,；;。：:！!？?]")
_QUANTITY = re.compile(r"[\d一二两三四五六七八九十半]")
_HAN_ONLY = re.compile(r"[\u4e00-\u9fff]+")
_QUANTITY_RUN = re.compile(r"[\u4e00-\u9fff]{0,2}[\d一二两三四五六七八九十半]+[\u4e00-\u9fff]?")
_NEGATIONS = ("不", "未")
_VAGUE = re.compile(r"^(?:其他|其它|有关|相关)")  # "会同其他有关部门": no one in particular to go to
_SENTENCES = re.compile(r"[。！？!?]")


def responsible_parties(clause: Clause, known: set[str]) -> list[str]:
    """Everyone the text makes responsible, in order, else the owner of the section it belongs to.

    A name the section owner's name ends with is that owner, named short ("各学院要安排专人…" in the
    section of 学生所在学院)."""
    found = _named(clause, _patterns(frozenset(known)).responsible) or _subject(clause.text, known) \
        or _by_agent(clause, known)
    owner = clause.owner
    found = [owner if owner and len(owner) > len(p) and owner.endswith(p) else p for p in found]
    return list(dict.fromkeys(found)) or _lead_in(clause, known) or ([owner] if owner else [])


def parties_asked(clause: Clause, known: set[str], question: str) -> list[str]:
    """The parties that answer this who-question: the one the clause names with the question's own verb
    (see _aligned); else whom it is handed or reported to, when the question asks that ("材料交哪儿",
    "该跟谁说") and the clause names one; else everyone responsible; then, of one, the party named
    beside what the question asks about, if that is another (see _nearest)."""
    parties = _aligned(clause, known, question)
    if parties:
        return parties
    if asks_recipient(question):
        parties = _named(clause, _patterns(frozenset(known)).receivers)
    parties = parties or responsible_parties(clause, known) or _worked_with(clause, known, question)
    if len(parties) != 1:  # none, or cases for different parties (party_for_case tells them apart)
        return parties
    return [_nearest(clause, known, question, parties[0])]


def named_with_asked_verb(clause: Clause, known: set[str], question: str) -> bool:
    """The clause names one party with the very verb the question asks about ("报表交给谁": "…报表交财务")."""
    return len(_aligned(clause, known, question)) == 1


def _worked_with(clause: Clause, known: set[str], question: str) -> list[str]:
    """A clause naming no actor and in no one's section, that names whom its work is done with, reported
    or handed to ("继续配合基教科做好留守儿童之家相关工作"): that party is the one to go to, unless the
    question names it (then it is the asker)."""
    patterns, asked = _patterns(frozenset(known)), simplified(question)
    named = _named(clause, [*patterns.receivers, *patterns.partners, *patterns.equals])
    return [party for party in named if not _named_in(party, asked) and not _VAGUE.match(party)][:1]


# Where a question's 谁/哪 stands ("交给谁", "配合哪个处", "去哪儿申请", "跟谁说明"): the words before it,
# without the preposition that leads to it, and after it, past the kind of party it asks for.
_WH = re.compile(r"(?:给|到|至|去|向|跟|找|和|与|同)?(?:谁|哪)(?:个|一个|位|些|里|儿)?"
                 r"(?:部门|处室|科室|办公室|单位|机构|老师|领导|岗位|中心|人|处|科|部|组)?(?:去|来)?")
_TOWARD = r"(?:到|至|向|与|跟|由)"


def _aligned(clause: Clause, known: set[str], question: str) -> list[str]:
    """The party the clause names with the question's own verb beside its 谁/哪.

    A 谁/哪 after the verb is its object ("报表交给谁", "配合哪个处"): the clause names the party right
    after that verb ("…报表交财务，…"). One before the verb is where it is done or who is told ("补考去
    哪儿申请", "跟谁说明"): the clause names it after 到/至/向/与/跟, before the verb ("再到教务处申请补
    考"), as it may an object ("联系哪个部门": "请及时与教务处联系"). Verbs are two characters; one
    only where a 给/到/至 hands it over ("报给谁"). A party the question names is the asker, not the answer.
    """
    asked = simplified(question)
    wh = _WH.search(asked)
    if not wh:
        return []
    before, after = asked[:wh.start()], asked[wh.end():]
    handed = wh.group().startswith(("给", "到", "至"))
    # "谁来检查": 谁 is the subject; "请假找谁批", "跟谁说": the verb comes after. Either way the word
    # before ("每月", "请假") is no verb of which 谁 is the object.
    led = wh.group()[0] in "找跟向和与同去"
    # "停不停课谁说了算": who decides is the subject, and the word before it the topic (but "交给谁审批":
    # 谁 is handed to, whatever it does then; "配合哪个处搞的": 搞 says nothing of who it is).
    subject = bool(_ASKS_DECISION.search(after)) and not handed
    objects = [] if wh.group().endswith("来") or led or subject else \
        [v for v in (before[-2:], before[-1:] if handed else "") if _HAN_ONLY.fullmatch(v)]
    places = [v for v in (after[:2],) if _HAN_ONLY.fullmatch(v) and len(v) == 2]
    key = frozenset(known)
    forms = [_verb_form("object", v, key) for v in objects]
    forms += [_verb_form("place", v, key) for v in places + [v for v in objects if len(v) == 2]]
    forms += [_verb_form("known", v, key) for v in objects]
    for form in forms:
        found = [party for party in _named(clause, [form]) if not _named_in(party, asked)]
        if found:
            return found  # cases for different parties too: party_for_case tells them apart
    return []


@lru_cache(maxsize=512)
def _verb_form(kind: str, verb: str, known: frozenset[str]) -> re.Pattern[str]:
    """A party named with a verb: right after it ("交总务处"), after 到/至/向/与/跟 before it ("到教务处
    申请"), or, a name the rules know, right after it with nothing told after ("配合教导处举办…")."""
    name, verb = _patterns(known).name, re.escape(verb)
    if kind == "object":
        return re.compile(verb + r"(?:给|到|至)?" + name + _THEN)
    if kind == "place":
        return re.compile(_TOWARD + name + verb)
    return re.compile(verb + r"(?:给|到|至)?(" + _known_names(known) + ")")


@lru_cache(maxsize=8)
def _known_names(known: frozenset[str]) -> str:
    """An alternation of the known owners' names, longest first."""
    return "|".join(re.escape(simplified(n)) for n in sorted(known, key=len, reverse=True) if len(n) >= 2) or "(?!)"


def _nearest(clause: Clause, known: set[str], question: str, chosen: str) -> str:
    """Another party the clause names beside what the question asks about, when the chosen one is not it.

    A party the question itself names is the asker or the subject, not the answer: "班主任的期末书面总结
    交到哪儿" is answered by "…期末书面总结交政教处" with 政教处. A section owner the text does not name
    gives way to a party the text works with or reports to, when that party's part of the sentence holds
    more of the question: "协助总务处做好校园周边环境综合治理工作" answers "周边环境整治归哪个处牵头".
    """
    asked = simplified(question)
    patterns = _patterns(frozenset(known))
    asker = _named_in(chosen, asked)
    if asker:
        others = _named(clause, [*patterns.responsible, *patterns.receivers, *patterns.partners, *patterns.equals])
    elif chosen == clause.owner and chosen not in clause.text:
        # The owner gives way to one it assists or hands to, not to one it works with as an equal.
        others = _named(clause, [*patterns.receivers, *patterns.partners])
    else:
        return chosen
    scores = _part_scores(clause, [o for o in others if o != chosen and not _named_in(o, asked)], asked)
    parties = [party for party in scores if party is not None]
    if not parties and asker and clause.owner and not _named_in(clause.owner, asked):
        return clause.owner  # "职代会谁负责筹备": not 职代会, named in "向职代会反映", but whose duty it is
    if not parties:
        return chosen
    best = max(parties, key=lambda party: scores[party])
    floor = 0 if asker else scores.get(None, 0)
    return best if scores[best] > floor else chosen


def _part_scores(clause: Clause, parties: list[str], asked: str) -> dict[str | None, int]:
    """For each party, the most of the question a comma-separated part naming it holds (None: parts naming none)."""
    names = sorted(set(parties), key=len, reverse=True)
    scores: dict[str | None, int] = {}
    for part in _PARTS.split(clause.text):
        named = sorted((part.find(n), -len(n), n) for n in names if n in part)  # first, then longest
        party = named[0][2] if named else None
        shared = _shared(simplified(part), asked, simplified(party) if party else "")
        scores[party] = max(scores.get(party, 0), shared)
    return scores


def _shared(part: str, asked: str, party: str) -> int:
    """How many two-character pieces of the question the part holds, outside the party's own name."""
    rest = part.replace(party, "|") if party else part
    return sum(1 for i in range(len(asked) - 1) if asked[i:i + 2] in rest and "|" not in asked[i:i + 2])


def _named_in(party: str, asked: str) -> bool:
    """The question names the party, by its name or a shorter alias ("政教处", "食堂管理员" as "食堂")."""
    return any(alias in asked for alias in owner_aliases(party) if len(alias) >= 2)


def _named(clause: Clause, patterns: Iterable[re.Pattern[str]]) -> list[str]:
    """The parties the patterns find in the text, in order, named as the rules write them."""
    found: list[str] = []
    text = simplified(clause.text)  # matched in simplified characters
    for pattern in patterns:
        for match in pattern.finditer(text):
            name = clause.text[match.start(1):match.end(1)]
            if name not in found:
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
    """Of several parties, the one whose case the question names: by its quantity ("请假一天以内" for
    一天), else by the words of the sentence that names the party ("…负责学校卫生工作的行政管理。卫生
    行政部门负责…监督指导" for "监督指导归谁")."""
    if len(parties) < 2:
        return parties
    chosen = _by_quantity(clause, parties, simplified(question))
    if len(chosen) > 1:
        chosen = _by_sentence(clause, chosen, simplified(question))
    if len(chosen) > 1:
        chosen = _by_decision(clause, chosen, simplified(question))
    return chosen if len(chosen) == 1 else _by_part(clause, chosen, simplified(question))


# A procedure names who proposes, signs or reviews and who decides ("由政教处提出处理意见，分管副校长
# 决定"; "班主任签署意见后，由年级组长审批"). Asked who approves or has the last word, the one who decides.
_ASKS_DECISION = re.compile(r"批|拍板|说了算|决定|定夺|做主")
_DECIDES = r"[\u4e00-\u9fff]{0,6}?(?:" + _DECISION_ACTS + ")"


def _by_decision(clause: Clause, parties: list[str], asked: str) -> list[str]:
    """Of several parties, the ones the clause names as deciding, when the question asks who decides."""
    if not _ASKS_DECISION.search(asked):
        return parties
    text = simplified(clause.text)
    deciding = [p for p in parties if re.search(re.escape(simplified(p)) + _DECIDES, text)]
    return deciding or parties


def _by_part(clause: Clause, parties: list[str], asked: str) -> list[str]:
    """Of parties named in one sentence, the one whose comma-separated part holds most of the question
    ("教研活动有教研组长负责，…，期末上交教科处统一存档" for "教研活动的考勤谁来记"); all when none leads."""
    scores = _part_scores(clause, parties, asked)
    best = _best({party: scores.get(party, 0) for party in parties})
    return best if len(best) == 1 else parties


def _by_quantity(clause: Clause, parties: list[str], asked: str) -> list[str]:
    """The parties whose case holds the question's length of time (bot.answering.cases), else whose case
    holds most of the question's quantity.

    Cases are told apart by what differs between them, mostly a number of days or times; the words
    they share ("请假", written once before the first case) say nothing about which case applies. A case
    that negates the question's quantity ("不超过三天" for "超过三天") is the other case.
    """
    cases = [s for s in _CASES.split(simplified(clause.text)) if s]
    named = {party: _case_of(party, parties, cases) for party in parties}
    length = asked_length(asked)  # "请两天假" is in "三天以内的，由分管副校长批准"
    held = narrowest(length, {party: case_range(case) for party, case in named.items()}) if length else []
    if held:
        return held
    grams = {asked[i:i + 2] for i in range(len(asked) - 1) if _QUANTITY.search(asked[i:i + 2])}
    runs = {run: _negated(run, asked) for run in _QUANTITY_RUN.findall(asked)}
    return _best({party: 0 if any(run in case and _negated(run, case) != negated for run, negated in runs.items())
                  else sum(1 for g in grams if g in case) for party, case in named.items()})


def _by_sentence(clause: Clause, parties: list[str], asked: str) -> list[str]:
    """Of parties named in different sentences, the one whose sentence holds most of the question; cases
    of one sentence share its words, so there they stay together."""
    sentences = [s for s in _SENTENCES.split(simplified(clause.text)) if s]
    home = {party: _case_of(party, parties, sentences) for party in parties}
    if len(set(home.values())) < len(parties):
        return parties
    best = _best({party: _shared(home[party], asked, simplified(party)) for party in parties})
    return best if len(best) == 1 else parties


def _case_of(party: str, parties: list[str], cases: list[str]) -> str:
    """The case that names the party itself, not only inside a longer name ("校长" in "分管副校长")."""
    name = simplified(party)
    longer = [simplified(p) for p in parties if p != party and name in simplified(p)]
    own = [case for case in cases if name in case and name in _without(case, longer)]
    return next(iter(own), "")


def _without(text: str, names: list[str]) -> str:
    """The text with the given names blanked out."""
    for name in names:
        text = text.replace(name, "|")
    return text


def _negated(run: str, text: str) -> bool:
    """The text says "不"/"未" right before the run ("不超过三天")."""
    return any(n + run in text for n in _NEGATIONS)


def _best(scores: dict[str, int]) -> list[str]:
    """The parties with the highest score, in order; all of them when none scores."""
    top = max(scores.values())
    return [party for party, score in scores.items() if score == top] if top > 0 else list(scores)


def _subject(text: str, known: set[str]) -> list[str]:
    """The known department or post a clause opens with ("总务处每月对校舍…进行一次全面检查"), each
    of them too ("各教研组长依本组的学科特征制定教研计划")."""
    text = _EACH.sub("", text, count=1)
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
