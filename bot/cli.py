"""`dutydesk`: ingest | ask | serve | eval | telegram | dingtalk — thin commands over the DutyDesk core."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.errors import DutyDeskError
from ingest.pipeline import IngestReport
from ingest.settings import Settings, get_settings

if TYPE_CHECKING:
    from bot.service import DutyDesk

log = logging.getLogger("dutydesk")
_DATA_HELP = "索引目录（默认 DUTYDESK_DATA_DIR 或 ./data）"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dutydesk", description="学校规章制度问答助手（每个回答都引用原文条款）")
    parser.add_argument("-v", "--verbose", action="store_true", help="更详细的日志")
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="把知识库文档解析入索引（增量）")
    ingest.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="文件或目录（默认：知识库目录）")
    ingest.add_argument("--data", type=Path, metavar="DIR", help=_DATA_HELP)
    ask = sub.add_parser("ask", help="提问")
    ask.add_argument("question", help="要问的问题（中文，用引号括起来）")
    ask.add_argument("--json", action="store_true", help="输出与 API 相同的 JSON")
    ask.add_argument("--top-k", type=int, default=None, metavar="N",
                     help="普通问题最多引用几条条款（默认 DUTYDESK_TOP_K 或 5；职责清单总是列全）")
    ask.add_argument("--data", type=Path, metavar="DIR", help=_DATA_HELP)
    serve = sub.add_parser("serve", help="启动 HTTP API 与网页")
    serve.add_argument("--host", default=None, help="监听地址（默认 DUTYDESK_HOST 或 127.0.0.1）")
    serve.add_argument("--port", type=int, default=None, help="端口（默认 DUTYDESK_PORT 或 8000）")
    serve.add_argument("--data", type=Path, metavar="DIR", help=_DATA_HELP)
    evaluate = sub.add_parser("eval", help="用题集评估检索与回答")
    evaluate.add_argument("--gold", type=Path, required=True, metavar="FILE",
                          help="题集（JSON Lines，见 evals/README.md），如 evals/dev.jsonl")
    evaluate.add_argument("--json", action="store_true", help="只输出指标 JSON")
    evaluate.add_argument("--data", type=Path, metavar="DIR", help=_DATA_HELP)
    evaluate.add_argument("--knowledge", type=Path, metavar="DIR",
                          help="题集所问的知识库目录（先增量入库到索引目录；默认：已有索引或知识库目录）")
    evaluate.add_argument("--split", choices=["tune", "blind"], help="只评估题集的一半（按文档章节划分）")
    sub.add_parser("telegram", help="启动 Telegram 机器人")
    sub.add_parser("dingtalk", help="启动钉钉机器人（Stream 模式）")
    gaps = sub.add_parser("gaps", help="员工没问到答案的问题（按相近说法归组，问得最多的在前）")
    gaps_format = gaps.add_mutually_exclusive_group()
    gaps_format.add_argument("--json", action="store_true", help="输出与 GET /gaps 相同的 JSON")
    gaps_format.add_argument("--csv", action="store_true", help="输出 CSV（UTF-8 带 BOM，Excel 可直接打开）")
    gaps.add_argument("--data", type=Path, metavar="DIR", help="索引目录（默认 DUTYDESK_DATA_DIR 或 ./data）")
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


def _desk(settings: Settings) -> DutyDesk:
    """The real objects built from settings."""
    from bot.service import build  # imported late: `dutydesk --help` should not load chromadb

    return build(settings)


def _progress(items: Iterable[Any], label: str, total: int) -> Iterable[Any]:
    """A progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    bar: Iterable[Any] = tqdm(items, desc=label, total=total, unit="项", leave=False)
    return bar


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    report = _desk(settings).ingest(args.paths or None, progress=_progress)
    _print_report(report)
    return 1 if report.failed else 0


def _print_report(report: IngestReport) -> None:
    """Each added, updated, removed and failed document, then the summary, in that order."""
    for key in report.added:
        print(f"  新增  {key}")
    for key in report.updated:
        print(f"  更新  {key}")
    for key in report.removed:
        print(f"  删除  {key}")
    if report.reparsed:  # one line, not one per file: after an upgrade it is every document
        print(f"  重新解析（解析规则已更新）{len(report.reparsed)} 个文档")
    sys.stdout.flush()  # piped, stdout is block-buffered and stderr is not: the failures would jump ahead
    _print_failures(report)
    print(_summary(report))


def _print_failures(report: IngestReport) -> None:
    """One line per file that could not be ingested, with its reason, on stderr."""
    for key, reason in report.failed:
        print(f"  失败  {key}：{reason}", file=sys.stderr, flush=True)


def _summary(report: IngestReport) -> str:
    """The ingest's one-line summary: documents by fate, clauses, seconds."""
    return (f"文档：新增 {len(report.added)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}，"
            f"删除 {len(report.removed)}，失败 {len(report.failed)}；"
            f"条款 {report.clauses}（新嵌入 {report.embedded}）；"
            f"用时 {report.seconds:.1f} 秒")


def _ensure_index(desk: DutyDesk) -> None:
    """Ingest the knowledge dir into an empty data dir, saying so on stderr (stdout may be --json)."""
    report = desk.ensure_index(progress=_first_start_progress)
    if report is not None:
        _print_outcome(report)


def _print_outcome(report: IngestReport) -> None:
    """The failures, then the summary, on stderr: for an ingest a command does on the side."""
    _print_failures(report)
    print(_summary(report), file=sys.stderr, flush=True)


def _first_start_progress(items: Iterable[Any], label: str, total: int) -> Iterable[Any]:
    """`_progress`, announcing the first step: a first start ingests for ~15 s before it serves."""
    if label == "解析":  # the pipeline's first step: the number of files is known by now
        print(f"首次启动：正在为 {total} 份文件建立索引…", file=sys.stderr, flush=True)
    return _progress(items, label, total)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.api.schemas import ask_response

    desk = _desk(settings)
    _ensure_index(desk)
    payload = ask_response(desk.ask(args.question, args.top_k, front="cli"))
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
    from bot.telegram import mount_webhook  # cli is the composition root: the front ends are wired here

    desk = build(settings)
    _ensure_index(desk)
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port  # --port 0: any free port
    uvicorn.run(create_app(desk, bind_host=host, mounts=(mount_webhook,)), host=host, port=port, log_level="info")
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluate import evaluate, llm_figures, load_gold

    questions = load_gold(args.gold, args.split)
    if args.knowledge:
        settings = settings.model_copy(update={"knowledge_dir": args.knowledge})
    desk = _desk(settings)
    if args.knowledge:
        ingested = desk.ingest(progress=_progress)
        if ingested.failed:
            _print_outcome(ingested)
    else:
        _ensure_index(desk)
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
        owner = o.owner or "-"
        print(f"{o.gold.id:6} {o.gold.kind:7} {verdict:8} 负责方={owner:10} {o.milliseconds:7.1f}ms  {o.gold.question}")


def _telegram(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001 (every command takes its args)
    from bot.telegram import run_polling

    return run_polling(settings)


def _dingtalk(args: argparse.Namespace, settings: Settings) -> int:  # noqa: ARG001 (every command takes its args)
    from bot.dingtalk import run_stream  # imported late: needs the `dingtalk` extra

    return run_stream(settings)


def _gaps(args: argparse.Namespace, settings: Settings) -> int:
    from bot.api.schemas import gap_out
    from bot.gaps import gaps_csv

    found = _desk(settings).gaps()
    if args.csv:
        sys.stdout.buffer.write(gaps_csv(found))
    elif args.json:
        print(json.dumps([gap_out(g).model_dump() for g in found], ensure_ascii=False, indent=2))
    else:
        _print_gaps(found)
    return 0


def _print_gaps(gaps: list[Any]) -> None:
    if not gaps:
        print("没有未答问题。")
    for gap in gaps:
        extra = f"，没帮助 {gap.unhelpful}" if gap.unhelpful else ""
        print(f"{gap.count:4} 次  {gap.status:8} {gap.state:9} {gap.question}{extra}  [{gap.id}]")
        for variant in gap.variants[1:]:
            print(f"{'':24}· {variant}")


_COMMANDS = {"ingest": _ingest, "ask": _ask, "serve": _serve, "eval": _eval, "telegram": _telegram,
             "dingtalk": _dingtalk, "gaps": _gaps}
