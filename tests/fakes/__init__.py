"""Test fakes: stand-ins with predictable output for the model and for the services DutyDesk talks to.

- tests.fakes.embedders: deterministic embedders in place of the bundled e5 model;
- tests.fakes.openai_server: a scripted OpenAI-compatible chat server (the LLM answer mode);
- tests.fakes.bot_api: a fake Telegram Bot API server (python-telegram-bot's long polling);
- tests.fakes.dingtalk: a fake DingTalk gateway, Stream connection and session webhook.

Import the module you need (`from tests.fakes.embedders import HashEmbedder`): this package imports
none of them, so a test that wants an embedder does not load aiohttp or starlette.
"""
