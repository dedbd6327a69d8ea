// The office page: ask, read the cited clause in its section, verify quotes, browse owners and documents,
// and (gaps.js) review the questions the rules could not answer.
// Everything that comes from the user or the documents is inserted as text (see dom.js), never as HTML.

import { api } from "./api.js";
import { diffChars, h, replace, when } from "./dom.js";
import { initGaps } from "./gaps.js";

// Every question from this page says so, so the server can tell the web page from Telegram or the CLI.
const FRONT = { "X-DutyDesk-Front": "web" };
const CONVERSATION = `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

const $ = (id) => document.getElementById(id);
const NARROW = window.matchMedia("(max-width: 900px)");
const REDUCED_MOTION = window.matchMedia("(prefers-reduced-motion: reduce)");

const state = {
  answers: 0,           // answers shown so far (for element ids)
  ids: null,            // {ids: [citation id], question} used to resolve [n] in a pasted answer
  clauseRequest: 0,     // the latest clause request; older responses are dropped
  opener: null,         // the button that opened the clause panel (focus returns there)
  directoryLoaded: false,
};

// ---------------------------------------------------------------- text helpers

function lines(source) {
  if (!source) return "";
  const range = source.line_end && source.line_end !== source.line_start
    ? `${source.line_start}–${source.line_end}` : `${source.line_start}`;
  return `${source.path} 第 ${range} 行`;
}

function where(clause) {
  const section = clause.section && clause.section.length ? clause.section[clause.section.length - 1] : "";
  return [`《${clause.document}》`, section, clause.label || ""].filter(Boolean).join(" ");
}

/** Label and text as the source writes them (the server's `quote`; history entries may predate it). */
function labelled(clause) {
  if (clause.quote) return clause.quote;
  return clause.label ? `${clause.label} ${clause.text}` : clause.text;
}

function showError(id, message) {
  const box = $(id);
  replace(box, h("strong", {}, "出错了："), message);
  box.hidden = false;
}

function hideError(id) {
  const box = $(id);
  box.hidden = true;
  box.replaceChildren();
}

function scrollTo(element, block = "nearest") {
  element.scrollIntoView({ block, behavior: REDUCED_MOTION.matches ? "auto" : "smooth" });
}

// ---------------------------------------------------------------- tabs

const tabs = [...document.querySelectorAll('[role="tab"]')];

function selectTab(tab, focus = false) {
  for (const each of tabs) {
    const selected = each === tab;
    each.setAttribute("aria-selected", String(selected));
    each.tabIndex = selected ? 0 : -1;
    $(each.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  if (location.hash !== `#${tab.dataset.name}`) history.replaceState(null, "", `#${tab.dataset.name}`);
  if (tab.dataset.name === "directory") loadDirectory();
  if (tab.dataset.name === "gaps") gaps.show();
}

tabs.forEach((tab, index) => {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (event) => {
    const target = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    selectTab(tabs[(target + tabs.length) % tabs.length], true);
  });
});

// ---------------------------------------------------------------- ask

$("ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("question");
  const question = input.value.trim();
  hideError("ask-error");
  if (!question) {
    showError("ask-error", "请先输入问题。");
    input.focus();
    return;
  }
  const button = $("ask-button");
  button.disabled = true;
  $("answers").setAttribute("aria-busy", "true");
  $("ask-status").textContent = "正在查找相关条款…";
  try {
    // One conversation per page: "那他们的电话呢？" after a who-answer means that department.
    const data = await api("/ask", { question, conversation_id: CONVERSATION }, FRONT);
    $("ask-status").textContent = "";
    showAnswer(question, data);
    input.value = "";
  } catch (error) {
    $("ask-status").textContent = "";
    showError("ask-error", error.message);
  } finally {
    button.disabled = false;
    $("answers").removeAttribute("aria-busy");
  }
});

function showAnswer(question, data) {
  const n = (state.answers += 1);
  const citations = data.citations || [];
  const status = data.status || (data.refused ? "refused" : "answered");
  // A related answer claims nothing but is no failure: only a refusal wears the refusal's colours.
  const card = h("li", { class: `answer-card ${status}`, "aria-labelledby": `q-${n}` },
    h("p", { class: "question", id: `q-${n}` }, h("span", { class: "speaker" }, "问"), question),
    verdict(status),
    h("div", { class: "answer-text" },
      data.answer.split("\n").map((line) => h("p", {}, withCitations(line, citations)))),
    ownerLine(data.owner),
    modeNote(data.mode),
    citations.length ? sources(citations) : null,
    citations.length
      ? h("div", { class: "actions" },
          h("button", { type: "button", class: "secondary", onclick: () => verifyAnswer(data.answer, citations, question) },
            "核对此回答"))
      : null,
    data.id ? feedback(data.id, n) : null);
  if (citations.length) state.ids = { ids: citations.map((c) => c.id), question };
  updateKeepIds();
  $("answers").prepend(card);
}

/** The badge for a status: a related answer claims nothing, a refusal found nothing. */
function verdict(status) {
  if (status === "related") {
    return h("p", { class: "verdict" }, h("span", { class: "badge badge-related" }, "≈ 规章未直接写明，以下为最接近的条款"));
  }
  if (status === "refused") {
    return h("p", { class: "verdict" }, h("span", { class: "badge badge-refused" }, "✗ 未找到依据"));
  }
  return null;
}

/** The answer line with each [n] that has a citation turned into a button. */
function withCitations(line, citations) {
  const nodes = [];
  let last = 0;
  for (const match of line.matchAll(/\[(\d+)\]/g)) {
    const n = Number(match[1]);
    const cited = citations[n - 1];
    if (!cited) continue;
    nodes.push(line.slice(last, match.index), citeButton(n, cited));
    last = match.index + match[0].length;
  }
  nodes.push(line.slice(last));
  return nodes;
}

function citeButton(n, cited) {
  return h("button", {
    type: "button", class: "cite", "aria-controls": "clause-panel", title: `${where(cited)}（点击查看原文）`,
    "aria-label": `[${n}] 查看原文：${where(cited)}`, dataset: { clauseId: cited.id },
    onclick: (event) => openClause(cited.id, event.currentTarget),
  }, `[${n}]`);
}

function ownerLine(owner) {
  if (!owner) return null;
  return h("p", { class: "owner" },
    h("span", { class: "owner-label" }, "负责："), h("strong", {}, owner.name),
    owner.contact ? ["　联系电话：", withPhoneLinks(owner.contact)] : "　（规章中未写联系方式）");
}

// A phone number as Chinese documents write it: a mobile, a 400 number, or a 7–8 digit local number
// with an optional area code ("0535-3450811", "(0535) 3450811", "+86 0535 3450811"). Anything shorter,
// such as the 806 of "（转 806）", is an extension or something else and is never a number to dial.
const PHONE = /(?<![\d+])(?:\+?86[-\s]?)?(?:1[3-9]\d{9}|400[-\s]?\d{3}[-\s]?\d{4}|(?:0\d{2,3}[-\s]?|[（(]0\d{2,3}[)）]\s*)?[2-9]\d{6,7})(?!\d)/g;

/**
 * A contact text with one tel: link per phone number in it; the rest (separators, extensions,
 * names, rooms) stays plain text. "0535-3450811、0535-3450812（转 806）" has two links, and the
 * extension is not dialled: a tel: link cannot say "ask the switchboard for 806".
 */
function withPhoneLinks(contact) {
  const nodes = [];
  let last = 0;
  for (const match of contact.matchAll(PHONE)) {
    // Separators other than "-" go; after the country code the area code loses its trunk 0.
    const number = match[0].replace(/[^\d+-]/g, "").replace(/^-+|-+$/g, "").replace(/^\+86-?0/, "+86");
    nodes.push(contact.slice(last, match.index), h("a", { href: `tel:${number}`, "aria-label": `拨打 ${match[0]}` }, match[0]));
    last = match.index + match[0].length;
  }
  nodes.push(contact.slice(last));
  return nodes;
}

// ---------------------------------------------------------------- feedback

/**
 * 有帮助 / 没帮助 under an answer. 有帮助 is sent at once; 没帮助 first opens an optional comment
 * (what was missing is what the office needs to fix the gap). Once sent, the buttons are disabled.
 */
function feedback(answerId, n) {
  const status = h("p", { class: "feedback-status", role: "status", "aria-live": "polite" });
  const comment = h("textarea", { id: `feedback-comment-${n}`, rows: 2, maxlength: 1000,
                                  placeholder: "例如：想问的是……；规章里其实写在……" });
  const sendButton = h("button", { type: "submit", class: "secondary" }, "发送");
  const form = h("form", { class: "feedback-comment", id: `feedback-form-${n}`, hidden: true, novalidate: true },
    h("label", { for: `feedback-comment-${n}`, class: "field-label" }, "哪里没帮上忙？（可不填）"),
    comment, sendButton);
  const yes = h("button", { type: "button", class: "secondary feedback-yes" }, "有帮助");
  const no = h("button", {
    type: "button", class: "secondary feedback-no", "aria-expanded": "false", "aria-controls": `feedback-form-${n}`,
  }, "没帮助");
  const controls = [yes, no, comment, sendButton];

  async function send(helpful) {
    for (const control of controls) control.disabled = true;
    status.textContent = "正在发送…";
    try {
      await api("/feedback", { answer_id: answerId, helpful, comment: helpful ? null : comment.value.trim() || null });
      status.textContent = "已收到，谢谢";
      form.hidden = true;
      no.setAttribute("aria-expanded", "false");
      (helpful ? yes : no).setAttribute("aria-pressed", "true");
    } catch (error) {
      // Nothing was recorded: say why and let them try again (after a while, when rate-limited).
      status.textContent = error.status === 429 ? "反馈太频繁了，请稍后再试。"
        : error.status === 404 ? "这条回答已无法反馈（服务器已不记得它）。" : error.message;
      if (error.status !== 404) for (const control of controls) control.disabled = false;
    }
  }

  yes.addEventListener("click", () => send(true));
  no.addEventListener("click", () => {
    form.hidden = false;
    no.setAttribute("aria-expanded", "true");
    comment.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(false);
  });
  // The group is named by its question and the answer's question: every card has the same two buttons.
  return h("div", { class: "feedback", role: "group", "aria-labelledby": `feedback-q-${n} q-${n}` },
    h("p", { class: "feedback-row" }, h("span", { id: `feedback-q-${n}`, class: "feedback-question" }, "这个回答有帮助吗？"),
      yes, no),
    form, status);
}

function modeNote(mode) {
  if (mode === "llm") return h("p", { class: "hint" }, "此回答由语言模型根据所引条款组织语言，请以条款原文为准。");
  if (mode === "fallback") return h("p", { class: "hint" }, "语言模型暂不可用，以下直接摘录条款原文。");
  return null;
}

function sources(citations) {
  return h("details", { class: "sources" },
    h("summary", {}, `出处（${citations.length} 条）`),
    h("ol", {}, citations.map((c, i) =>
      h("li", {}, h("span", { class: "marker" }, `[${i + 1}]`), " ", where(c),
        h("span", { class: "source-lines" }, `（${lines(c.source)}）`)))));
}

// ---------------------------------------------------------------- clause panel

async function openClause(id, opener = null) {
  state.opener = opener;
  const token = (state.clauseRequest += 1);
  for (const button of document.querySelectorAll(".cite.active, .open-clause.active")) button.classList.remove("active");
  if (opener) opener.classList.add("active");
  const panel = $("clause-panel");
  const body = $("clause-body");
  panel.setAttribute("aria-busy", "true");
  replace(body, h("p", { class: "status" }, "正在载入条款…"));
  try {
    const clause = await api(`/clauses/${encodeURIComponent(id)}`);
    if (token !== state.clauseRequest) return;
    renderClause(clause);
  } catch (error) {
    if (token !== state.clauseRequest) return;
    replace(body, h("div", { class: "error", role: "alert" }, h("strong", {}, "出错了："), error.message));
  } finally {
    if (token === state.clauseRequest) panel.removeAttribute("aria-busy");
  }
  if (token !== state.clauseRequest) return;
  fitPanel();
  $("clause-heading").focus({ preventScroll: true });
  const cited = $("cited-clause");
  if (NARROW.matches) {  // stacked under the answers: bring the panel, then the clause, on screen
    panel.scrollIntoView({ block: "start" });
    if (cited) scrollTo(cited);
  } else if (cited) {  // beside the answers: scroll the section only; the page and the header stay put
    const scroller = $("section-scroll");
    const offset = cited.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    scroller.scrollTo({ top: scroller.scrollTop + offset - scroller.clientHeight / 3,
                        behavior: REDUCED_MOTION.matches ? "auto" : "smooth" });
  }
}

function sectionOf(clause) {
  if (clause.section_clauses && clause.section_clauses.length) return clause.section_clauses;
  const around = [...(clause.neighbours || []), clause];
  return around.sort((a, b) => a.source.line_start - b.source.line_start);
}

function renderClause(clause) {
  const section = clause.section || [];
  const meta = h("dl", { class: "meta" },
    h("dt", {}, "文件"), h("dd", {}, h("span", { class: "doc-title" }, `《${clause.document}》`), " ",
      h("span", { class: "doc-version" }, clause.document_version ? `第 ${clause.document_version} 版` : "版本未记录"),
      clause.document_effective ? [" ", h("span", { class: "doc-effective" }, `生效 ${clause.document_effective}`)] : null),
    h("dt", {}, "章节"), h("dd", { class: "crumbs" }, section.length ? section.join(" › ") : "（文件开头）"),
    h("dt", {}, "位置"), h("dd", { class: "source-lines" }, lines(clause.source)),
    clause.owner ? [h("dt", {}, "负责"), h("dd", {}, clause.owner)] : null,
    h("dt", {}, "编号"), h("dd", {}, h("code", {}, clause.id)));
  const list = h("ol", { class: "section-clauses", "aria-label": "本节全部条款" },
    sectionOf(clause).map((item) => {
      const cited = item.id === clause.id;
      return h("li", {
        class: cited ? "cited" : null, id: cited ? "cited-clause" : null, "aria-current": cited ? "true" : null,
        dataset: { clauseId: item.id },
      },
      cited ? h("span", { class: "cited-tag" }, "▶ 被引用的条款") : null,
      item.label ? h("span", { class: "clause-label" }, item.label) : null,
      item.label ? " " : null,
      h("span", { class: "clause-text" }, item.text),
      h("span", { class: "clause-lines" }, `第 ${item.source.line_start} 行`));
    }));
  const opener = state.opener;
  const back = opener && document.body.contains(opener) && !opener.closest("[hidden]")
    ? h("button", { type: "button", class: "secondary back", onclick: () => opener.focus() }, "返回原处")
    : null;
  const title = h("h3", { class: "section-title" }, section.length ? section[section.length - 1] : clause.document);
  replace($("clause-body"), meta, h("div", {  // focusable, so the keyboard can scroll a long section
    class: "section-scroll", id: "section-scroll", tabindex: "0", role: "region", "aria-label": "本节原文",
  }, title, list), back);
}

/** Beside the answers, keep the whole panel (header, section, button) within the window. */
function fitPanel() {
  const panel = $("clause-panel");
  if (NARROW.matches) {
    panel.style.maxHeight = "";
    return;
  }
  const top = Math.max(panel.getBoundingClientRect().top, 16);
  panel.style.maxHeight = `${Math.max(window.innerHeight - top - 16, 240)}px`;
}

let fitting = false;
function scheduleFit() {
  if (fitting) return;
  fitting = true;
  requestAnimationFrame(() => { fitting = false; fitPanel(); });
}
window.addEventListener("scroll", scheduleFit, { passive: true });
window.addEventListener("resize", scheduleFit);

// ---------------------------------------------------------------- verify

const verifyForm = $("verify-form");

function verifyMode() {
  return verifyForm.elements.mode.value;
}

function updateVerifyMode() {
  const answer = verifyMode() === "answer";
  $("quote-options").hidden = answer;
  $("answer-options").hidden = !answer;
  $("verify-text-label").textContent = answer ? "粘贴整段回答" : "粘贴引文";
  $("verify-text").rows = answer ? 8 : 4;
}

function updateKeepIds() {
  const box = $("verify-keep-ids");
  const note = $("keep-ids-note");
  if (!state.ids) {
    box.disabled = true;
    box.checked = false;
    note.textContent = "本页还没有带引用的回答；粘贴的回答中的 [n] 只能按引文核对。";
    return;
  }
  box.disabled = false;
  note.textContent = `将使用回答“${state.ids.question}”的 ${state.ids.ids.length} 条引用：[1] 对应第一条，依此类推。`;
}

for (const radio of verifyForm.elements.mode) radio.addEventListener("change", updateVerifyMode);

verifyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  runVerify();
});

/** "核对此回答": check an answer from this page, resolving its [n] with its own citations. */
function verifyAnswer(text, citations, question) {
  state.ids = { ids: citations.map((c) => c.id), question };
  updateKeepIds();
  verifyForm.elements.mode.value = "answer";
  updateVerifyMode();
  $("verify-text").value = text;
  $("verify-keep-ids").checked = true;
  selectTab($("tab-verify"));
  runVerify(true);
}

async function runVerify(focusResults = false) {
  const text = $("verify-text").value.trim();
  const results = $("verify-results");
  hideError("verify-error");
  if (!text) {
    showError("verify-error", "请先粘贴要核对的内容。");
    $("verify-text").focus();
    return;
  }
  const button = $("verify-button");
  button.disabled = true;
  results.setAttribute("aria-busy", "true");
  $("verify-status").textContent = "正在核对…";
  try {
    if (verifyMode() === "answer") {
      const ids = $("verify-keep-ids").checked && state.ids ? state.ids.ids : null;
      const data = await api("/verify/batch", { text, citation_ids: ids });
      showParts(data.parts);
    } else {
      const citationId = $("verify-cid").value.trim() || null;
      const data = await api("/verify", { quote: text, citation_id: citationId });
      showParts([{ text, marker: null, citation_id: citationId, status: statusOf(data), problem: null, result: data }]);
    }
    $("verify-status").textContent = "";
    const heading = $("verify-results-heading");
    if (focusResults) heading.focus();
    else if (heading.getBoundingClientRect().top > window.innerHeight * 0.6) scrollTo(heading, "start");
  } catch (error) {
    $("verify-status").textContent = "";
    results.replaceChildren();
    showError("verify-error", error.message);
  } finally {
    button.disabled = false;
    results.removeAttribute("aria-busy");
  }
}

function statusOf(result) {
  if (result.stale) return "stale";
  return result.verified ? "verified" : "not_found";
}

const STATUS = {
  verified: { badge: "✓ 已核实", say: "与现行原文一致" },
  stale: { badge: "! 已过时", say: "所引条款已修改或删除" },
  not_found: { badge: "✗ 未找到", say: "现行规章中没有这段原文" },
  unresolved: { badge: "? 无法对应", say: "找不到对应的条款" },
};

function showParts(parts) {
  const results = $("verify-results");
  const heading = h("h3", { id: "verify-results-heading", tabindex: "-1" }, "核对结果");
  if (!parts.length) {
    replace(results, heading, h("p", { class: "empty" },
      "没有找到可核对的引文。请用「」或引号标出引文，或改选“一段引文”再核对。"));
    return;
  }
  const counts = {};
  for (const part of parts) counts[part.status] = (counts[part.status] || 0) + 1;
  const summary = Object.keys(STATUS).filter((key) => counts[key])
    .map((key) => `${STATUS[key].badge.slice(2)} ${counts[key]} 处`).join("，");
  replace(results, heading, h("p", { class: "summary" }, `共 ${parts.length} 处：${summary}`),
    h("ol", { class: "parts" }, parts.map(partCard)));
}

function partCard(part) {
  const status = STATUS[part.status] ? part.status : "not_found";
  const result = part.result;
  const head = h("p", { class: "part-head" },
    h("span", { class: `badge badge-${status}` }, STATUS[status].badge),
    h("span", { class: "part-say" }, STATUS[status].say),
    part.marker ? h("span", { class: "marker" }, `[${part.marker}]`) : null,
    part.citation_id ? h("code", { class: "part-id" }, part.citation_id) : null);
  const quote = part.text
    ? h("blockquote", { class: "quote" }, `「${part.text}」`)
    : h("p", { class: "hint" }, `（只有引用编号 [${part.marker}]，没有引文）`);
  let detail = null;
  if (part.problem) detail = h("p", { class: "problem" }, part.problem);
  else if (status === "verified") detail = verifiedDetail(part, result);
  else if (status === "stale") detail = staleDetail(result);
  else if (status === "not_found") detail = nearestDetail(part.text, result);
  return h("li", { class: `part part-${status}` }, head, quote, detail);
}

function openButton(clause, text = "查看原文") {
  return h("button", {
    type: "button", class: "link open-clause", "aria-controls": "clause-panel",
    "aria-label": `${text}：${where(clause)}`, onclick: (event) => openClause(clause.id, event.currentTarget),
  }, text);
}

function verifiedDetail(part, result) {
  if (!result) return null;
  const found = result.matches && result.matches.length ? result.matches : (result.current ? [result.current] : []);
  const elsewhere = part.citation_id && part.text && result.current
    && !found.some((clause) => clause.id === part.citation_id);
  return [
    elsewhere ? h("p", { class: "problem" }, "注意：这段引文见于其他条款，与所填的条款编号不符。") : null,
    found.length
      ? h("div", { class: "found" }, h("p", { class: "found-title" }, "见于："),
          h("ul", {}, found.slice(0, 5).map((clause) =>
            h("li", {}, where(clause), h("span", { class: "source-lines" }, `（${lines(clause.source)}）`), " ",
              openButton(clause)))))
      : null,
  ];
}

function diffView(before, after, side) {
  return diffChars(before, after)
    .filter((op) => op.op === "eq" || op.op === side)
    .map((op) => (op.op === "eq" ? op.text : h(side, {}, op.text)));
}

function staleDetail(result) {
  if (!result) return null;
  const previous = result.previous;
  const current = result.current;
  if (!current) {
    return [
      previous ? h("div", { class: "compare" }, h("div", { class: "was" }, h("h4", {}, "引用时的原文"),
        h("p", { class: "was-text" }, labelled(previous)))) : null,
      h("p", { class: "problem" }, "所引条款已从现行文件中删除。"),
    ];
  }
  const before = previous ? labelled(previous) : "";
  const after = labelled(current);
  return [
    h("div", { class: "compare" },
      h("div", { class: "was" }, h("h4", {}, "引用时的原文"),
        h("p", { class: "was-text" }, previous ? diffView(before, after, "del") : "（未记录）")),
      h("div", { class: "now" }, h("h4", {}, "现行原文"),
        h("p", { class: "now-text" }, previous ? diffView(before, after, "ins") : after),
        h("p", { class: "source-lines" }, `${where(current)}（${lines(current.source)}）`, " ", openButton(current)))),
    result.verified ? h("p", { class: "hint" }, "这段引文在现行规章的其他条款中仍然出现。") : null,
  ];
}

function nearestDetail(quote, result) {
  const nearest = result && result.nearest ? result.nearest : [];
  if (!nearest.length) return h("p", { class: "hint" }, "也没有相近的条款。");
  const best = nearest[0].clause;
  const squash = (text) => text.replace(/[\s\u3000「」“”"']/g, "");
  return h("div", { class: "nearest" },
    h("p", { class: "found-title" }, "最接近的条款："),
    h("ol", {}, nearest.map((near) =>
      h("li", {},
        h("span", { class: "similarity" }, `相似度 ${Math.round(near.similarity * 100)}%`), " ",
        h("span", { class: "near-where" }, where(near.clause)), " ",
        h("span", { class: "near-text" }, near.clause.text), " ",
        openButton(near.clause)))),
    quote
      ? h("p", { class: "near-diff" }, h("span", { class: "hint" }, "与最接近条款的差异（删除线＝引文多出的字，下划线＝原文的字）："),
          h("br"), diffChars(squash(quote), squash(quotedForm(quote, best)))
            .map((op) => (op.op === "eq" ? op.text : h(op.op, {}, op.text))))
      : null);
}

/** The clause as the quote would give it: with its label only when the quote starts with one too. */
function quotedForm(quote, clause) {
  const start = quote.replace(/^[\s\u3000「“"']+/, "");
  return clause.label && start.startsWith(clause.label.replace(/[\s\u3000]+$/, "")) ? labelled(clause) : clause.text;
}

// ---------------------------------------------------------------- directory

async function loadDirectory() {
  if (state.directoryLoaded) return;
  state.directoryLoaded = true;
  const [owners, documents] = await Promise.allSettled([api("/owners"), api("/documents")]);
  if (owners.status === "fulfilled") showOwners(owners.value);
  else showError("owners-error", owners.reason.message);
  if (documents.status === "fulfilled") showDocuments(documents.value);
  else showError("documents-error", documents.reason.message);
  if (owners.status === "rejected" || documents.status === "rejected") state.directoryLoaded = false;
}

function showOwners(owners) {
  const list = $("owners-list");
  if (!owners.length) {
    replace(list, h("li", { class: "empty" }, "规章中没有找到部门或岗位。"));
    return;
  }
  replace(list, owners.map((owner) => h("li", {},
    h("button", {
      type: "button", class: "owner-button", "aria-controls": "owner-detail", "aria-pressed": "false",
      onclick: (event) => showOwner(owner.name, event.currentTarget),
    },
    h("span", { class: "owner-name" }, owner.name),
    h("span", { class: "owner-meta" }, [owner.contact || "未写联系方式", `${owner.clauses} 条`].join(" · "))))));
}

async function showOwner(name, button) {
  for (const other of document.querySelectorAll(".owner-button")) other.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-pressed", "true");
  const detail = $("owner-detail");
  replace(detail, h("p", { class: "status" }, "正在载入…"));
  try {
    const owner = await api(`/owners/${encodeURIComponent(name)}`);
    const heading = h("h3", { tabindex: "-1" }, owner.name);
    replace(detail, heading,
      h("p", { class: "owner-contact" }, owner.contact ? ["联系电话：", withPhoneLinks(owner.contact)] : "规章中未写联系方式"),
      h("p", { class: "hint" }, `共 ${owner.items.length} 条，按原文顺序：`),
      h("ol", { class: "duties" }, owner.items.map((item) => h("li", {},
        item.label ? h("span", { class: "clause-label" }, item.label) : null, item.label ? " " : null,
        h("span", { class: "clause-text" }, item.text),
        h("span", { class: "source-lines" }, `《${item.document}》${lines(item.source)}`), " ",
        openButton(item, "在原文中查看")))));
    if (NARROW.matches) scrollTo(detail, "start");
  } catch (error) {
    replace(detail, h("div", { class: "error", role: "alert" }, h("strong", {}, "出错了："), error.message));
  }
}

function showDocuments(documents) {
  const list = $("documents-list");
  if (!documents.length) {
    replace(list, h("li", { class: "empty" }, "还没有收录任何文件。"));
    return;
  }
  replace(list, documents.map((doc) => {
    const versions = h("div", { class: "versions", id: `versions-${doc.id}`, hidden: true });
    const toggle = h("button", {
      type: "button", class: "link", "aria-expanded": "false", "aria-controls": `versions-${doc.id}`,
      onclick: () => toggleVersions(doc.id, toggle, versions),
    }, "版本记录");
    return h("li", { class: "document" },
      h("p", { class: "doc-title" }, `《${doc.title}》`),
      h("p", { class: "doc-meta" }, doc.path, " · ", `共 ${doc.versions} 版`, " · ",
        doc.effective ? `生效日期 ${doc.effective}` : "未注明生效日期", " ", toggle),
      versions);
  }));
}

async function toggleVersions(docId, toggle, box) {
  const open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  box.hidden = !open;
  if (!open) return;
  replace(box, h("p", { class: "status" }, "正在载入…"));
  try {
    const versions = await api(`/documents/${encodeURIComponent(docId)}/versions`);
    replace(box, h("ol", { class: "version-list" }, versions.map((v) => h("li", {},
      `第 ${v.version} 版 · 收录于 ${when(v.ingested_at)}`, v.effective ? ` · 生效 ${v.effective}` : ""))));
  } catch (error) {
    replace(box, h("p", { class: "error" }, error.message));
  }
}

// ---------------------------------------------------------------- 未答问题 (gaps.js)

/** Ask a question again from the 问答 tab, as if typed (after an alias made it answerable). */
function askAgain(question) {
  selectTab($("tab-ask"));
  $("question").value = question;
  $("ask-form").requestSubmit();
  $("question").focus();
}

const gaps = initGaps({ openClause, askAgain, where });

// ---------------------------------------------------------------- start

async function showHealth() {
  try {
    const health = await api("/healthz");
    $("health").textContent = `已收录 ${health.documents} 份文件，共 ${health.clauses} 条条款。`;
  } catch (error) {
    $("health").textContent = `暂时无法读取索引状态：${error.message}`;
  }
}

updateVerifyMode();
updateKeepIds();
fitPanel();
const initial = tabs.find((tab) => `#${tab.dataset.name}` === location.hash);
if (initial) selectTab(initial);
showHealth();
document.body.dataset.ready = "true";
