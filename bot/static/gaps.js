// 未答问题: the questions staff could not get answered, for the office to close one by one.
// Admin only: the token is kept in sessionStorage (this tab, until it closes), never in localStorage,
// and forgotten as soon as the server turns it down. Text from questions and documents enters as text.

import { api, download } from "./api.js";
import { h, replace, when } from "./dom.js";

const TOKEN_KEY = "dutydesk-admin-token";

const STATUS = {
  refused: { badge: "✗ 未找到依据", css: "badge-refused" },
  related: { badge: "≈ 规章未直接写明", css: "badge-related" },
  answered: { badge: "✓ 已回答", css: "badge-verified" },
};

const STATE = {
  open: "待处理",
  known_gap: "规章确实没有",
  resolved: "已解决",
};

// Words that end the name a staff member typed at the start of a question ("网管负责什么" → 网管).
const NAME_END = /^(?:请问|我想问一下|我想问|想问一下|想问)?([\u4e00-\u9fff]{2,}?)(?=的|负责|管|是|几|怎|什么|哪|能|可以|可不可以|要|需|在|有|归|找|多少|吗|呢|该|应|会|和|跟|[，。？！?!,\s]|$)/;

const $ = (id) => document.getElementById(id);

/** Wire the tab; returns {show}, called whenever the tab is selected. */
export function initGaps({ openClause, askAgain, where }) {
  let ownersLoaded = false;
  let clauses = new Map();  // clause id → Promise of the clause (or null): each nearest clause fetched once

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function auth() {
    return { Authorization: `Bearer ${token()}` };
  }

  function showError(message) {
    replace($("gaps-error"), h("strong", {}, "出错了："), message);
    $("gaps-error").hidden = false;
  }

  function hideError() {
    $("gaps-error").hidden = true;
    $("gaps-error").replaceChildren();
  }

  /** Ask for the token (again): after a 401/403 the stored one is forgotten first. */
  function askToken(message = null) {
    sessionStorage.removeItem(TOKEN_KEY);
    $("gaps-view").hidden = true;
    $("gaps-list").replaceChildren();
    $("token-form").hidden = false;
    $("admin-token").value = "";
    if (message) showError(message);
    else hideError();
  }

  /**
   * A rejected admin call: a refused token (401) or a closed admin API (403, no token configured on
   * the server) goes back to the token form with the server's reason; anything else is shown.
   */
  function failed(error, show = showError) {
    if (error.status === 401 || error.status === 403) {
      askToken(error.status === 401 ? `${error.message}。请重新输入管理员令牌。` : error.message);
      $("admin-token").focus();
      return;
    }
    show(error.message);
  }

  async function show() {
    loadOwners();
    if (!token()) {
      askToken();
      return;
    }
    $("token-form").hidden = true;
    $("gaps-view").hidden = false;
    await load();
  }

  async function load(focusId = null) {
    const list = $("gaps-list");
    hideError();
    list.setAttribute("aria-busy", "true");
    $("gaps-status").textContent = "正在载入…";
    try {
      const gaps = await api("/gaps", undefined, auth());
      $("gaps-status").textContent = "";
      render(gaps);
      const heading = focusId === null ? null : list.querySelector(`[data-gap-id="${CSS.escape(focusId)}"] h3`);
      if (heading) heading.focus();
    } catch (error) {
      $("gaps-status").textContent = "";
      failed(error);
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  function render(gaps) {
    const list = $("gaps-list");
    if (!gaps.length) {
      replace(list, h("li", { class: "empty" }, "目前没有未答问题。"));
      return;
    }
    // Most asked first; the server sorts so too, this only keeps the promise if it ever does not.
    const sorted = [...gaps].sort((a, b) => b.count - a.count || String(b.last_asked).localeCompare(String(a.last_asked)));
    replace(list, sorted.map(gapCard));
  }

  function gapCard(gap, index) {
    const n = index + 1;
    const status = STATUS[gap.status] || STATUS.refused;
    const state = STATE[gap.state] ? gap.state : "open";
    const variants = (gap.variants || []).filter((v) => v !== gap.question);
    const nearest = gap.nearest || [];
    const comments = gap.comments || [];  // what 没帮助 said (beyond the contract's fields; shown when sent)
    const result = h("p", { class: "gap-result", role: "status", "aria-live": "polite" });
    const aliasForm = aliasEditor(gap, n, result);
    const aliasToggle = h("button", {
      type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": aliasForm.id,
      onclick: () => {
        const open = aliasForm.hidden;
        aliasForm.hidden = !open;
        aliasToggle.setAttribute("aria-expanded", String(open));
        if (open) aliasForm.querySelector("input").focus();
      },
    }, "添加同义词…");
    return h("li", { class: `gap gap-${state}`, dataset: { gapId: gap.id }, "aria-labelledby": `gap-q-${n}` },
      h("h3", { class: "gap-question", id: `gap-q-${n}`, tabindex: "-1" }, gap.question),
      h("p", { class: "gap-meta" },
        h("span", { class: `badge gap-state state-${state}` }, STATE[state]), " ",
        h("span", { class: `badge ${status.css}` }, status.badge), " ",
        h("span", { class: "gap-count" }, `问过 ${gap.count} 次`), " · ",
        h("span", { class: "gap-last" }, `最近一次 ${when(gap.last_asked)}`), " · ",
        h("span", { class: "gap-unhelpful" }, `${gap.unhelpful} 次评为“没帮助”`)),
      variants.length
        ? h("div", { class: "gap-variants" }, h("p", { class: "found-title" }, `其他问法（${variants.length}）：`),
            h("ul", {}, variants.map((v) => h("li", {}, v))))
        : null,
      comments.length
        ? h("div", { class: "gap-comments" }, h("p", { class: "found-title" }, "同事的留言："),
            h("ul", {}, comments.map((c) => h("li", {}, c))))
        : null,
      nearest.length
        ? h("div", { class: "gap-nearest" }, h("p", { class: "found-title" }, "最接近的条款："),
            h("ul", {}, nearest.map(nearestItem)))
        : h("p", { class: "hint" }, "没有相近的条款。"),
      h("div", { class: "actions gap-actions" },
        state !== "known_gap" ? stateButton(gap, "known_gap", "规章确实没有", result) : null,
        state !== "resolved" ? stateButton(gap, "resolved", "已解决", result) : null,
        state !== "open" ? stateButton(gap, "open", "重新打开", result) : null,
        aliasToggle),
      aliasForm,
      result);
  }

  /** A nearest clause: a button that opens it in the clause panel, then (once fetched) where it is and its text. */
  function nearestItem(id) {
    const button = h("button", {
      type: "button", class: "link open-clause", "aria-controls": "clause-panel", "aria-label": `查看条款原文：${id}`,
      dataset: { clauseId: id }, onclick: (event) => openClause(id, event.currentTarget),
    }, h("code", {}, id));
    const text = h("span", { class: "near-text" });
    if (!clauses.has(id)) clauses.set(id, api(`/clauses/${encodeURIComponent(id)}`).catch(() => null));
    clauses.get(id).then((clause) => {
      if (!clause) return;  // gone since it was logged: the id alone still says what it was
      replace(button, where(clause));
      button.setAttribute("aria-label", `查看条款原文：${where(clause)}`);
      text.textContent = clause.text;
    });
    return h("li", {}, button, " ", text);
  }

  function stateButton(gap, state, text, result) {
    return h("button", {
      type: "button", class: "secondary", dataset: { state },
      "aria-label": `${text}：${gap.question}`,
      onclick: async (event) => {
        const button = event.currentTarget;  // (null once the handler awaits)
        button.disabled = true;
        try {
          await api(`/gaps/${encodeURIComponent(gap.id)}/state`, { state }, auth());
          await load(gap.id);  // the list updates (and may reorder); focus stays on this question
          $("gaps-status").textContent = `已将“${gap.question}”标为“${STATE[state]}”。`;
        } catch (error) {
          button.disabled = false;
          failed(error, (message) => { result.textContent = message; });
        }
      },
    }, text);
  }

  /**
   * The form that teaches DutyDesk a staff word: "网管" is what the documents call 信息中心.
   * The staff word is guessed from the question and can be picked by selecting it in the question.
   */
  function aliasEditor(gap, n, result) {
    const alias = h("input", { id: `alias-word-${n}`, type: "text", maxlength: 50, autocomplete: "off",
                               value: staffWord(gap.question), "aria-describedby": `alias-source-${n}` });
    const name = h("input", { id: `alias-name-${n}`, type: "text", maxlength: 50, autocomplete: "off",
                              list: "owner-names", "aria-describedby": `alias-name-hint-${n}` });
    const source = h("span", { class: "alias-source", id: `alias-source-${n}` }, gap.question);
    const pick = () => {  // a selection inside the question becomes the staff word
      const selection = window.getSelection();
      const text = selection ? selection.toString().trim() : "";
      if (text && source.contains(selection.anchorNode)) alias.value = text;
    };
    source.addEventListener("mouseup", pick);
    source.addEventListener("keyup", pick);
    const submit = h("button", { type: "submit", class: "primary" }, "添加同义词");
    const message = h("div", { class: "alias-message", role: "alert" });
    const form = h("form", { class: "alias-form", id: `alias-form-${n}`, hidden: true, novalidate: true },
      h("p", { class: "hint" }, "问题原文（可在其中选中同事的说法）：", source),
      h("div", { class: "alias-fields" },
        h("div", {}, h("label", { for: alias.id, class: "field-label" }, "同事的说法"), alias),
        h("div", {}, h("label", { for: name.id, class: "field-label" }, "规章中的名称"), name,
          h("p", { class: "hint", id: `alias-name-hint-${n}` }, "部门或岗位在规章中的写法，例如 信息中心、宿舍管理员"))),
      submit, message);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      replace(message);
      const body = { name: name.value.trim(), alias: alias.value.trim() };
      if (!body.alias || !body.name) {
        replace(message, h("p", { class: "error" }, !body.alias ? "请填写同事的说法。" : "请填写规章中的名称。"));
        (!body.alias ? alias : name).focus();
        return;
      }
      submit.disabled = true;
      try {
        const saved = await api("/aliases", body, auth());
        form.hidden = true;
        replace(result, added(gap, body, saved));
        result.querySelector("button").focus();
      } catch (error) {
        failed(error, (text) => replace(message, h("p", { class: "error" }, text)));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function added(gap, body, saved) {
    const words = saved && Array.isArray(saved.aliases) ? saved.aliases : [body.alias];
    return [
      h("span", { class: "badge badge-verified" }, "✓ 已添加"), " ",
      `今后问题中的“${body.alias}”按规章中的“${saved && saved.name ? saved.name : body.name}”查找`,
      `（“${saved && saved.name ? saved.name : body.name}”现有的说法：${words.join("、")}）。`,
      "这个问题现在应当能得到回答了；确认回答无误后，可将它标为“已解决”。 ",
      h("button", { type: "button", class: "secondary", onclick: () => askAgain(gap.question) }, "重新提问试试"),
    ];
  }

  async function loadOwners() {
    if (ownersLoaded) return;
    ownersLoaded = true;
    try {
      const owners = await api("/owners");
      replace($("owner-names"), owners.map((owner) => h("option", { value: owner.name })));
    } catch {
      ownersLoaded = false;  // only suggestions: the form still works without them; retry next time
    }
  }

  async function downloadCsv() {
    const button = $("gaps-csv");
    button.disabled = true;
    hideError();
    try {
      // A plain link cannot carry the Authorization header: fetch it, then save the blob.
      const blob = await download("/gaps?format=csv", auth());
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: `未答问题-${new Date().toISOString().slice(0, 10)}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);  // the download has started by then
      $("gaps-status").textContent = "表格已开始下载。";
    } catch (error) {
      failed(error);
    } finally {
      button.disabled = false;
    }
  }

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("admin-token").value.trim();
    if (!value) {
      showError("请输入管理员令牌。");
      $("admin-token").focus();
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    show();
  });
  $("gaps-refresh").addEventListener("click", () => {
    clauses = new Map();  // the knowledge may have been re-ingested since
    load();
  });
  $("gaps-csv").addEventListener("click", downloadCsv);
  $("gaps-logout").addEventListener("click", () => {
    askToken();
    $("admin-token").focus();
  });

  return { show };
}

/** The staff word a question most likely starts with (a guess to edit, never sent unseen). */
export function staffWord(question) {
  const match = NAME_END.exec(question.trim().replace(/^谁/, ""));
  return match ? match[1] : "";
}
