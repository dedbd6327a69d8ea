// DOM helpers. Data only ever enters the page as text nodes or attribute values — never as HTML.

/** Build an element: h("p", {class: "x", onclick: fn}, "text", child, [more]). Strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** Append children (nested arrays allowed; null/false skipped; anything else as text). */
export function append(element, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replace an element's content. */
export function replace(element, ...children) {
  element.replaceChildren();
  return append(element, children);
}

/** An ISO time as the office reads it (local time, 24-hour); anything unparsable as given. */
export function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString("zh-CN", { hour12: false });
}

/**
 * Character diff of two short texts: [{op: "eq" | "del" | "ins", text}].
 * Longest common subsequence over code points, after trimming the common prefix and suffix.
 */
export function diffChars(before, after) {
  const a = [...before];
  const b = [...after];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA -= 1; endB -= 1; }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops = [];
  const push = (op, text) => {
    if (!text) return;
    const last = ops[ops.length - 1];
    if (last && last.op === op) last.text += text; else ops.push({ op, text });
  };
  push("eq", a.slice(0, start).join(""));
  if (midA.length * midB.length > 4_000_000) {  // too long to align: show it as replaced
    push("del", midA.join(""));
    push("ins", midB.join(""));
  } else {
    const width = midB.length + 1;
    const table = new Uint32Array((midA.length + 1) * width);
    for (let i = midA.length - 1; i >= 0; i -= 1) {
      for (let j = midB.length - 1; j >= 0; j -= 1) {
        table[i * width + j] = midA[i] === midB[j]
          ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < midA.length && j < midB.length) {
      if (midA[i] === midB[j]) { push("eq", midA[i]); i += 1; j += 1; }
      else if (table[(i + 1) * width + j] >= table[i * width + j + 1]) { push("del", midA[i]); i += 1; }
      else { push("ins", midB[j]); j += 1; }
    }
    push("del", midA.slice(i).join(""));
    push("ins", midB.slice(j).join(""));
  }
  push("eq", a.slice(endA).join(""));
  return ops;
}
