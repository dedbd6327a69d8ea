// The DutyDesk HTTP API, with every failure turned into one friendly Chinese message.

const FIELDS = {
  question: "问题", quote: "引文", citation_id: "条款编号", text: "内容", citation_ids: "引用编号",
  comment: "说明", name: "规章中的名称", alias: "员工的说法", state: "状态",
};

/** A failed request: `message` is ready to show to the office. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * GET (no body) or POST (JSON body); resolves to the parsed JSON (null for 204 No Content),
 * rejects with ApiError. `headers` are added to the request (the admin token, the front end's name).
 */
export async function api(path, body = undefined, headers = {}) {
  const init = body === undefined
    ? { headers: { Accept: "application/json", ...headers } }
    : { method: "POST", headers: { Accept: "application/json", "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body) };
  const response = await send(path, init);
  if (response.status === 204) return null;
  const data = await jsonOf(response);
  if (!response.ok) throw new ApiError(friendly(response.status, data), response.status);
  if (data === null) throw new ApiError("服务器返回的内容无法识别，请稍后再试。", response.status);
  return data;
}

/** GET a file (e.g. a CSV export) as a Blob; errors as for api(). */
export async function download(path, headers = {}) {
  const response = await send(path, { headers });
  if (!response.ok) throw new ApiError(friendly(response.status, await jsonOf(response)), response.status);
  return response.blob();
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError("无法连接服务器，请检查网络后重试。", 0);
  }
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** The message for an error response ({"detail": str | [{loc, msg, type}]}). */
export function friendly(status, data) {
  const detail = data && typeof data === "object" ? data.detail : null;
  if (status >= 500) {
    const why = typeof detail === "string" && detail ? `：${detail}` : "";
    return `服务暂时出错（${status}）${why}。请稍后再试，或联系管理员。`;
  }
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) return detail.map(validation).join("；");
  if (status === 404) return "没有找到相关内容。";
  if (status === 429) return "请求太频繁，请稍后再试。";
  return `请求未能完成（${status}），请检查输入后重试。`;
}

function validation(error) {
  const loc = Array.isArray(error.loc) ? error.loc : [];
  const field = FIELDS[loc[loc.length - 1]] || FIELDS[loc[1]] || "输入";
  const type = String(error.type || "");
  if (type.includes("too_short") || type === "missing") return `${field}不能为空`;
  if (type.includes("too_long")) return `${field}太长了，请精简后再试`;
  if (typeof error.msg === "string" && /[\u4e00-\u9fff]/.test(error.msg)) {
    return error.msg.replace(/^Value error,\s*/, "");
  }
  return `${field}的格式不对`;
}
