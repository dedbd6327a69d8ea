"""What the chat front ends (bot.telegram, bot.dingtalk) share, so that neither imports the other.

The texts staff see (`messages`), plain-text formatting helpers (`format`), the access rules and
per-user rate limit, read from each front end's settings (`gate`), how a front end calls the core
(`desk`) and the one log-record factory that keeps tokens and secrets out of every log line (`redact`).
Nothing here imports a chat SDK: either front end can be installed and run without the other.
"""
