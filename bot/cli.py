"""`dutydesk`: ingest | ask | serve | eval | telegram — thin commands over the DutyDesk core."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ingest.errors import DutyDeskError
from ingest.pipeline import IngestReport
from ingest.settings import Settings, get_settings

log = logging.getLogger("dutydesk")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dutydesk", description="学校规章制度问答助手（每个回答都引用原文条款）")
    parser.add_argument("-v", "--verbose", action="store_true", help="更详细的日志")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="把知识库文档解析入索引（增量）")
    ingest.add_argument("paths", nargs="*", type=Path, help="文件或目录（默认：知识库目录）")
    ingest.add_argument("--data", type=Path, help="索引目录（默认 DUTYDESK_DATA_DIR 或 ./data）")
    ask = sub.add_parser("ask", help="提问")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="输出与 API 相同的 JSON")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--data", type=Path)
    serve = sub.add_parser("serve", help="启动 HTTP API 与网页")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--data", type=Path)
    evaluate = sub.add_parser("eval", help="用题集评估检索与回答")
    evaluate.add_argument("--gold", type=Path, required=True, help="题集（JSON Lines，见 evals/README.md）")
    evaluate.add_argument("--json", action="store_true", help="只输出指标 JSON")
    evaluate.add_argument("--data", type=Path, help="索引目录（默认 DUTYDESK_DATA_DIR 或 ./data）")
    evaluate.add_argument("--knowledge", type=Path,
                          help="题集所问的知识库目录（先增量入库到索引目录；默认：已有索引或知识库目录）")
    evaluate.add_argument("--split", choices=["tune", "blind"], help="只评估题集的一半（按文档章节划分）")
    sub.add_parser("telegram", help="启动 Telegram 机器人")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    if getattr(args, "data", None):
        settings = settings.model_copy(update={"data_dir": args.data})
    try:
        return _COMMANDS[args.command](args, settings)
    except DutyDeskError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only data dir: one line, no traceback
        print(f"错误：读写失败（{exc.strerror or exc}）：{exc.filename or ''}", file=sys.stderr)
        return 2


def _desk(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.service import build  # imported late: `dutydesk --help` should not load chromadb

    return build(settings)


def _progress(items: Iterable, label: str, total: int) -> Iterable:
    """A progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, total=total, unit="项", leave=False)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    report = _desk(settings).ingest(args.paths or None, progress=_progress)
    _print_report(report)
    return 1 if report.failed else 0


def _print_report(report: IngestReport) -> None:
    for key in report.added:
        print(f"  新增  {key}")
    for key in report.updated:
        print(f"  更新  {key}")
    for key in report.removed:
        print(f"  删除  {key}")
    for key, reason in report.failed:
        print(f"  失败  {key}：{reason}", file=sys.stderr)
    print(f"文档：新增 {len(report.added)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}，"
          f"删除 {len(report.removed)}，失败 {len(report.failed)}；条款 {report.clauses}（新嵌入 {report.embedded}）；"
          f"用时 {report.seconds:.1f} 秒")


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.schema import ask_response

    desk = _desk(settings)
    desk.ensure_index(progress=_progress)
    payload = ask_response(desk.ask(args.question, args.top_k))
    if args.json:
        print(payload.model_dump_json(indent=2))
        return 0
    print(payload.answer)
    if payload.citations:
        print("\n引用：")
    for n, cite in enumerate(payload.citations, start=1):
        where = " › ".join(cite.section)
        print(f"[{n}] {cite.id}  《{cite.document}》{where} {cite.label or ''}  "
              f"{cite.source.path}:{cite.source.line_start}-{cite.source.line_end}")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.api import create_app
    from bot.service import build

    desk = build(settings)
    desk.ensure_index(progress=_progress)
    uvicorn.run(create_app(desk), host=args.host or settings.host, port=args.port or settings.port,
                log_level="info")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluate import evaluate, llm_figures, load_gold

    questions = load_gold(args.gold, args.split)
    if args.knowledge:
        settings = settings.model_copy(update={"knowledge_dir": args.knowledge})
    desk = _desk(settings)
    if args.knowledge:
        report = desk.ingest(progress=_progress)
        if report.failed:
            _print_report(report)
    else:
        desk.ensure_index(progress=_progress)
    report = evaluate(desk, questions)
    metrics = report.metrics()
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False))
        return 0
    _print_outcomes(report)
    for key, value in {**metrics, **(llm_figures(report) or {})}.items():
        print(f"{key:20} {value}")
    return 0


def _print_outcomes(report: Any) -> None:
    for o in report.outcomes:
        verdict = {"answered": "回答", "related": "相关", "refused": "拒答"}[o.status]
        if o.gold.kind == "refuse":
            verdict += "✓" if o.refused else "✗"
        else:
            verdict += "✓" if o.first_cited else (f"@{o.rank}" if o.rank else "✗")
        print(f"{o.gold.id:6} {o.gold.kind:7} {verdict:8} 负责方={o.owner or '-':10} {o.milliseconds:7.1f}ms  {o.gold.question}")


def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    from bot.telegram import run_polling

    return run_polling(settings)


_COMMANDS = {"ingest": _ingest, "ask": _ask, "serve": _serve, "eval": _eval, "telegram": _telegram}
