"""The texts both chat front ends send, in the staff's language."""
from __future__ import annotations

TOO_FAST = "提问有点快了：每分钟最多 {limit} 次，请 {seconds} 秒后再试。"
APOLOGY = "抱歉，处理这条消息时出了点问题，请稍后再试。"
FEEDBACK_THANKS = "谢谢反馈！"
FEEDBACK_GONE = "这条回答的记录已不在（可能已过保存期），反馈没有记下。"
USAGE = {
    "ask": "请在命令后写上问题，例如：/ask 谁负责学生的安全教育？",
    "who": "请写上要问的工作，例如：/who 学生的安全教育",
    "duties": "请写上岗位或部门，例如：/duties 班主任",
    "source": "请写上条款编号（点回答下方的「原文」按钮可以看到），例如：/source xxggwzz-banzhuren-3",
    "question": "请直接写下您的问题，例如：谁负责学生的安全教育？",
    "unknown": "没有这个命令。发送 /help 查看用法。",
}


def stranger(id_name: str) -> str:
    """The refusal for someone not allow-listed, asking for their id under the front end's name for it.

    The result is a template: `{user_id}` is filled in by the gate (with the group's id in a group).
    """
    return ("抱歉，这个助手只为本校教职工服务，您还没有使用权限。"
            f"如需开通，请把您的{id_name}（{{user_id}}）发给管理员。")
