"""Key terms of a question and how well a text covers them, weighted by how rare each term is."""
from __future__ import annotations

import math
import re
from collections.abc import Callable

import rjieba

from ingest.hanzi import simplified

# Words that carry the question's form, not its subject.
_STOPWORDS = frozenset("""
什么 哪些 哪个 哪位 哪里 哪儿 哪 怎么 怎样 怎么样 如何 为什么 谁 是 的 了 吗 呢 吧 啊 呀 有 有没有 要 需要
可以 可 能 能否 能不能 应该 应当 该 会 多少 几 几个 几点 几时 几号 几月 几天 几次 多久 多长 时候 什么时候 一次
由 归 找 是否 请问 请 一下 关于
对 和 与 及 或 在 给 被 把 让 做 进行 这 那 个 些 我 我们 你 您 他 她 它 他们 她们 都 也 就 还 又 再
怎么办 东西 事 事情 方面 哪方面 具体 主要 一般 平时 现在 目前 已经 所有 各 每 么 啥 干 干什么 做什么 干嘛 干啥
你好 您好 谢谢 麻烦 请教 想问 问下 问问 知道 告诉 那个 这个 那些 这些 一些 里面 平常 通常
分别 各自 别人 他人 自己 大家 地方 之前 之后 以前 以后 打算 准备 负责 部门 处室 岗位 职责 工作 学校
相关 有关 规定 要求 情况 问题 什么样 包括 包含 具有 哪一个 人
""".split())
CONTEXT_CREDIT = 0.5  # a term found only in the clause's headings or owner counts this much
# The frame of a how- or what-measures question: "如何加强X" and "X有哪些措施" ask about X. The rules
# state measures without repeating "加强" or "措施": a clause need not contain them to answer (they
# still rank: "开展心理咨询工作" is the better match for "怎样开展心理咨询").
_FRAME = re.compile(
    r"(?:怎么样|怎样|如何|怎么)(?:才能|才可以|来|去|更好地|更好的|进一步)?"
    r"(加强|做好|搞好|抓好|开展|推进|推动|提高|提升|落实|实施|完成|改进|强化|实现|保证|确保|促进|组织|进行|改善)|"
    r"(?:哪些|什么|何种|哪几项|哪几条|哪种|有何)(?:具体)?(措施|举措|做法|方法|途径|手段|材料|手续|资料)")
# Separable verbs split by a duration or count: "请一周的假" is about 请假, "开两次会" about 开会.
# Segmented, only the middle survives ("一周") and the question would be judged by it alone.
_SPLIT_VERB = re.compile(r"([请休放开值加排上代调补])"
                         r"[了个的\d一二两三四五六七八九十百半几多天周星期月日小时次回长久整]{1,6}"
                         r"([假会班课])")
_SPLIT_WORDS = {"请假", "休假", "放假", "开会", "值班", "加班", "排班", "上课", "代课", "调课", "补课"}
# "请两天假找谁批": the rule gives a range ("一天以上三天以内的，由分管副校长审批"), rarely the
# question's own duration or count, which still ranks but need not appear.
_QUANTITY = re.compile(r"^[\d一二两三四五六七八九十百半几]+个?(?:天|日|周|星期|月|年|次|小时|分钟|节|课时|学期|学年)$")
# Words school rules and staff use for the same thing ("期中考试谁出题" ↔ "统一命题").
_SYNONYM_GROUPS = (
    ("出题", "命题"), ("施行", "实施", "生效"), ("遗失", "丢失"), ("寝室", "宿舍"), ("教职工", "教职员工"),
    *((f"星期{day}", f"周{day}") for day in "一二三四五六"), ("星期日", "星期天", "周日"),
)
_SYNONYMS = {word: tuple(w for w in group if w != word) for group in _SYNONYM_GROUPS for word in group}
_WORD = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
_CJK_GAP = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def normalize_question(question: str) -> str:
    """The question as the rules are written: simplified characters, no spaces inside Chinese text.

    "班主任有哪些職責" (typed in traditional characters) and "总务处 负责 什么" (spaced out on a phone)
    would otherwise match nothing or miss their intent; the answer still quotes the clause verbatim.
    """
    return _CJK_GAP.sub("", simplified(question))


def frame_words(question: str) -> set[str]:
    """The words of a how- or what-measures frame ("如何加强", "有哪些措施", "需要什么材料"): they rank,
    but aren't required."""
    return {word for match in _FRAME.finditer(question) for word in match.groups() if word}


def subject_weights(question: str, weights: dict[str, float]) -> dict[str, float]:
    """The key-term weights without the frame words and durations: what a clause must cover to answer."""
    frame = frame_words(question)
    return {term: weight for term, weight in weights.items() if term not in frame and not _QUANTITY.match(term)}


def key_terms(question: str) -> list[str]:
    """The question's content words (segmented with rjieba), without question and function words."""
    terms: list[str] = []
    in_dictionary = set(rjieba.cut(question, False))  # without HMM: only the dictionary's words
    for word in rjieba.cut(question):
        word = word.strip()
        if (len(word) < 2 and not word.isdigit()) or word in _STOPWORDS or not _WORD.search(word):
            continue
        if word not in in_dictionary and any(ch in _STOPWORDS for ch in word):
            continue  # a word the HMM guessed by gluing on a function word: "假找", "假要", "找人"
        if word not in terms:
            terms.append(word)
    for match in _SPLIT_VERB.finditer(question):
        word = match.group(1) + match.group(2)
        if word in _SPLIT_WORDS and word not in terms:
            terms.append(word)
    return terms


def lexical_query(question: str) -> str:
    """The question with its question and function words blanked out, adjacency kept for bigrams."""
    return "".join(" " if word.strip() in _STOPWORDS else word for word in rjieba.cut(question)).strip()


def term_weights(terms: list[str], count: Callable[[str], int], documents: int) -> dict[str, float]:
    """Inverse frequency of each term (count(term) = its occurrences); a term never used weighs most."""
    return {t: math.log((documents + 1) / (min(count(t), documents) + 0.5)) for t in terms}


def term_match(term: str, text: str) -> float:
    """1 for a verbatim match or a synonym's; partial credit when at least half of a term's characters appear."""
    if term in text or any(other in text for other in _SYNONYMS.get(term, ())):
        return 1.0
    shared = sum(1 for ch in term if ch in text) / len(term)
    return 0.5 * shared if shared >= 0.5 else 0.0


def coverage(weights: dict[str, float], text: str, context: str = "") -> float:
    """Weighted share of the key terms a clause covers; a term only in its headings counts half.

    A clause that says "向教育局报月总结" is better evidence than one that merely sits under the
    heading "办公室", even when the question names the office.
    """
    total = sum(weights.values())
    if total <= 0:
        return 1.0
    return sum(w * _covered(t, text, context) for t, w in weights.items()) / total


def _covered(term: str, text: str, context: str) -> float:
    """A term's credit: its match in the text, else half credit for its match in the headings."""
    found = term_match(term, text)
    # a full match in the text is the most a term can get: skip the headings (the hot path of retrieval)
    return found if found >= 1.0 or not context else max(found, CONTEXT_CREDIT * term_match(term, context))
