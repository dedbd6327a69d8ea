"""Synthetic Chinese rule documents for scale benchmarks: deterministic (seeded), N clauses across files.

Run: .venv/bin/python benchmarks/gen_rules.py OUT_DIR --clauses N [--seed 7] [--per-file 200]
                                                  [--questions FILE] [--check]

Every file belongs to one (made-up) school and is one of three kinds, in turn:
- 岗位职责汇编 (.txt): "一、…人员职责" group headings, "XX岗位职责" role headings, numbered duties in
  one numbering style per file (`1.` `1．` `1、` `（一）` `①`);
- 内设机构情况 (.md, front matter title): a markdown table, per unit one row `机构名称|X|办公电话|0535-…`
  and one row `机构职能|1.…<br><br>2.…`;
- 管理办法 (.md): `第一章` chapters with `第一条` articles ("…由教务处审批").
Owners are generic (教务处, 班主任 …) or school-specific (福山实验中学教务处), so the number of owners
grows with the corpus as it would for a district. Duties combine verbs × tasks × qualifiers with numbers,
so texts are varied. The same (seed, N, per-file) always writes the same bytes.

`N` counts the clauses the generator means to write (one per numbered item, article, table name/phone
row and school profile paragraph); `--check` parses the output with the product's parser
(`ingest.pipeline.parse_file`) and prints how many it actually finds. `--questions FILE` writes
questions about the generated rules (JSON Lines: question, kind) for the latency benchmarks.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CN = "零一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

PLACES = ["开发区", "福山", "莱山", "芝罘", "牟平", "蓬莱", "龙口", "招远", "栖霞", "海阳", "莱阳", "莱州",
          "长岛", "高新区", "黄务", "大季家", "古现", "八角", "初家", "卧龙", "门楼", "臧家庄", "回里", "张格庄"]
SCHOOL_TYPES = ["实验中学", "第一中学", "第二中学", "第三中学", "实验小学", "第一小学", "第二小学", "外国语学校",
                "育才学校", "职业中专", "特殊教育学校", "幼儿园", "初级中学", "九年一贯制学校"]
UNITS = ["办公室", "教务处", "政教处", "总务处", "教科室", "德育处", "后勤处", "安全办", "信息中心", "招生办",
         "心理咨询中心", "图书馆", "财务室", "卫生室", "团委", "少先队大队部", "工会委员会", "体育组", "艺术组",
         "档案室", "实验室", "语文教研组", "数学教研组", "英语教研组", "物理教研组", "化学教研组", "生物教研组",
         "历史教研组", "地理教研组", "政治教研组", "信息技术组", "综合实践组"]
POSTS = ["校长", "副校长", "党支部书记", "班主任", "年级主任", "教研组长", "备课组长", "出纳员", "会计", "保管员",
         "门卫", "宿管员", "实验员", "图书管理员", "校医", "司机", "炊事员", "电工", "网络管理员", "值班教师",
         "安全员", "档案员", "资料员", "任课教师", "体育教师", "心理教师", "团委书记", "少先队辅导员", "保洁员",
         "食堂管理员", "财务主管", "教务员", "统计员", "宣传干事"]
GROUPS = ["行政管理工作人员职责", "教育教学工作人员职责", "后勤服务工作人员职责", "安全保卫工作人员职责",
          "学生管理工作人员职责", "教学辅助工作人员职责"]
VERBS = ["负责", "组织", "协助校长做好", "指导", "督促检查", "统筹安排", "做好", "落实", "制定并实施", "定期检查",
         "管理", "审核", "登记", "收集整理", "牵头开展", "配合做好", "具体承办", "监督"]
TASKS = [
    "课表的安排", "学生学籍档案", "教师业务考核", "校园安全巡查", "实验器材采购", "图书资料借阅", "食堂食品卫生",
    "学生心理健康教育", "校车接送", "体育器材维护", "教职工考勤", "财务报销单据", "校舍维修", "消防设施检查",
    "家长委员会联络", "学生社团活动", "作业批改检查", "教研活动记录", "新教师培训", "校园网络维护", "多媒体设备管理",
    "文书档案归档", "公文收发", "印章使用", "招生宣传", "毕业生离校手续", "奖学金评定", "贫困生资助", "教材征订",
    "考试命题与阅卷", "运动会组织", "广播操比赛", "防溺水教育", "传染病防控", "午餐配送", "宿舍卫生检查", "夜间值班",
    "门卫登记", "来访人员接待", "固定资产清查", "办公用品发放", "水电设施维修", "校园绿化", "学生请假审批",
    "教师请假审批", "听课评课", "集体备课", "学业水平测试", "成绩统计分析", "学生综合素质评价", "升旗仪式",
    "主题班会", "家访活动", "校园广播", "宣传栏更新", "网站信息发布", "安全应急演练", "交通安全教育",
    "危险化学品管理", "实验室安全检查", "仪器设备登记", "图书编目上架", "报刊征订", "课外读物推荐", "劳动教育",
    "研学旅行", "志愿服务", "团员发展", "少先队入队仪式", "教职工体检", "工会慰问", "困难教职工帮扶", "职称评审材料",
    "继续教育学分", "校本课程开发", "课题申报", "教学成果评选", "优质课评比", "学生评优", "违纪学生教育",
    "校服征订", "学生保险", "营养餐管理", "饮用水卫生", "晨午检", "因病缺课追踪", "近视防控", "心理危机干预",
    "特殊学生随班就读", "控辍保学", "学籍异动", "转学手续", "借读生管理", "教室钥匙管理", "库房物品出入库",
    "车辆使用登记", "节假日值班安排", "寒暑假安全告知", "开学准备", "期末总结", "工作计划报送", "月总结上报",
]
QUALIFIERS = ["每学期开学前", "每月{d}日前", "每周{w}", "按照上级要求", "结合学校实际", "在校长领导下",
              "会同{unit}", "及时向校长汇报", "建立台账", "做到账物相符", "每学期不少于{n}次", "{n}个工作日内",
              "并报{unit}备案", "认真", "按时", "规范"]
WEEKDAYS = "一二三四五"
TOPICS = ["请假管理", "财务报销", "实验室安全", "图书借阅", "值班管理", "教职工考勤", "固定资产管理", "校车安全",
          "食堂管理", "档案管理", "网络安全", "消防安全", "学生宿舍管理", "教学常规管理", "听课评课", "教研活动",
          "考试管理", "学籍管理", "公务用车", "印章管理", "来访接待", "物品采购", "校舍维修", "体育场馆使用"]
SUBJECTS = ["教职工", "学生", "班主任", "任课教师", "外来人员", "实习教师", "后勤人员", "住校生", "临时聘用人员"]
ACTIONS = ["请假{n}天以内的", "申请使用{thing}的", "需要报销{n}元以上费用的", "借阅{thing}超过{n}天的",
           "发现{thing}损坏的", "外出参加培训的", "调课、代课的", "遗失{thing}的", "需要领用{thing}的"]
THINGS = ["实验器材", "多媒体教室", "图书", "公务车辆", "学校印章", "档案资料", "体育器材", "会议室", "教室钥匙",
          "办公用品", "计算机", "音响设备"]
DECISIONS = ["由{unit}审批", "报{unit}备案", "由{unit}统一登记", "须经{unit}同意", "由{unit}负责处理",
             "应在{n}日内向{unit}说明情况", "由{unit}审核后报校长签字"]


@dataclass
class Corpus:
    """What was written: files, intended clause count, and questions about it."""

    files: list[Path] = field(default_factory=list)
    clauses: int = 0
    questions: list[dict[str, str]] = field(default_factory=list)


def cn_number(n: int) -> str:
    """1 → 一, 12 → 十二, 35 → 三十五, 105 → 一百零五 (enough for labels)."""
    if n < 10:
        return CN[n]
    if n < 20:
        return "十" + (CN[n % 10] if n % 10 else "")
    if n < 100:
        return CN[n // 10] + "十" + (CN[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + CN[rest] if rest < 10 else cn_number(rest) if rest >= 20 else "一" + cn_number(rest))
    return CN[n // 100] + "百" + tail


def _label(style: str, n: int) -> str:
    if style == "dot":
        return f"{n}."
    if style == "fullwidth":
        return f"{n}．"
    if style == "comma":
        return f"{n}、"
    if style == "paren_cn":
        return f"（{cn_number(n)}）"
    return CIRCLED[n - 1] if n <= len(CIRCLED) else f"{n}."


class _Writer:
    """Draws text from one seeded random generator, so the same seed gives the same corpus."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def school(self, index: int) -> str:
        place = PLACES[index % len(PLACES)]
        kind = SCHOOL_TYPES[(index // len(PLACES)) % len(SCHOOL_TYPES)]
        return f"{place}{kind}"

    def owner(self, school: str, posts: bool) -> str:
        base = self.rng.choice(POSTS if posts else UNITS)
        return f"{school}{base}" if self.rng.random() < 0.5 and len(school) + len(base) <= 18 else base

    def qualifier(self) -> str:
        text = self.rng.choice(QUALIFIERS)
        return text.format(d=self.rng.randint(1, 28), w=self.rng.choice(WEEKDAYS), n=self.rng.randint(2, 12),
                           unit=self.rng.choice(UNITS))

    def duty(self) -> tuple[str, str]:
        """(text, task) of one duty clause."""
        task = self.rng.choice(TASKS)
        verb = self.rng.choice(VERBS)
        shape = self.rng.random()
        if shape < 0.35:
            text = f"{verb}{task}工作。"
        elif shape < 0.7:
            text = f"{self.qualifier()}{verb}{task}，{self.qualifier()}。"
        else:
            other = self.rng.choice(TASKS)
            text = f"{verb}{task}，{self.qualifier()}做好{other}的有关工作，{self.qualifier()}。"
        return text, task

    def phone(self) -> str:
        return f"0535-{self.rng.randint(3000000, 6999999)}"

    def article(self, unit: str) -> tuple[str, str]:
        """(text, question) of one regulation article."""
        subject = self.rng.choice(SUBJECTS)
        thing = self.rng.choice(THINGS)
        n = self.rng.randint(1, 30)
        action = self.rng.choice(ACTIONS).format(n=n, thing=thing)
        decision = self.rng.choice(DECISIONS).format(unit=unit, n=self.rng.randint(2, 10))
        text = f"{subject}{action}，{decision}；{self.qualifier()}。"
        return text, f"{subject}{action}，由谁负责？"


def _duties_file(w: _Writer, school: str, budget: int, style: str, corpus: Corpus) -> tuple[list[str], int]:
    lines = [f"{school}各岗位职责汇编", ""]
    lines += [f"{school}现有教学班{w.rng.randint(12, 60)}个，在校学生{w.rng.randint(500, 3000)}人，"
              f"教职工{w.rng.randint(40, 260)}人。", ""]
    used = 1
    group = 0
    while used < budget:
        group += 1
        lines += [f"{cn_number(group)}、{GROUPS[(group - 1) % len(GROUPS)]}", ""]
        for _ in range(w.rng.randint(2, 4)):
            if used >= budget:
                break
            owner = w.owner(school, posts=True)
            lines += [f"{owner}岗位职责", ""]
            items = min(w.rng.randint(5, 14), budget - used)
            for n in range(1, items + 1):
                text, task = w.duty()
                lines += [f"{_label(style, n)}{text}", ""]
                if w.rng.random() < 0.05:
                    corpus.questions.append({"question": f"谁负责{task}？", "kind": "who"})
            used += items
            if owner.startswith(school) and w.rng.random() < 0.5:  # a generic post's list grows with N
                corpus.questions.append({"question": f"{owner}有哪些职责？", "kind": "duties"})
    return lines, used


def _units_file(w: _Writer, school: str, budget: int, corpus: Corpus) -> tuple[list[str], int]:
    lines = ["---", f"title: {school}内设管理机构情况", "---", "", "|   |   |   |   |", "|---|---|---|---|"]
    used = 0
    while used < budget:
        unit = w.owner(school, posts=False)
        phone = w.phone()
        lines.append(f"|机构名称|{unit}|办公电话|{phone}|")
        used += 1
        items = min(w.rng.randint(4, 10), budget - used)
        if items <= 0:
            break
        duties = []
        for n in range(1, items + 1):
            text, task = w.duty()
            duties.append(f"{n}.{text}")
            if w.rng.random() < 0.05:
                corpus.questions.append({"question": f"{task}由哪个部门负责？", "kind": "who"})
        lines.append(f"|机构职能|{'<br><br>'.join(duties)}|   |   |")
        used += items
        if w.rng.random() < 0.4:
            corpus.questions.append({"question": f"{unit}的办公电话是多少？", "kind": "contact"})
    return lines + [""], used


def _rules_file(w: _Writer, school: str, budget: int, corpus: Corpus) -> tuple[list[str], int]:
    topic = w.rng.choice(TOPICS)
    lines = [f"# {school}{topic}办法", ""]
    used = 0
    chapter = 0
    article = 0
    while used < budget:
        chapter += 1
        lines += [f"第{cn_number(chapter)}章 {'总则' if chapter == 1 else w.rng.choice(TASKS)}", ""]
        for _ in range(min(w.rng.randint(4, 9), budget - used)):
            article += 1
            if article == 1:
                text = f"为规范{topic}工作，根据上级有关规定，结合{school}实际，制定本办法。"
            else:
                text, question = w.article(w.owner(school, posts=False))
                if w.rng.random() < 0.05:
                    corpus.questions.append({"question": question, "kind": "fact"})
            lines += [f"第{cn_number(article)}条 {text}", ""]
            used += 1
    return lines, used


def generate(out_dir: Path, clauses: int, seed: int = 7, per_file: int = 200) -> Corpus:
    """Write about `clauses` clauses into out_dir (created; existing generated files are replaced)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    w = _Writer(seed)
    corpus = Corpus()
    styles = ["dot", "fullwidth", "comma", "paren_cn", "circled"]
    index = 0
    while corpus.clauses < clauses:
        budget = min(per_file, clauses - corpus.clauses)
        school = w.school(index)
        kind = index % 3
        if kind == 0:
            lines, used = _duties_file(w, school, budget, styles[(index // 3) % len(styles)], corpus)
            path = out_dir / f"{index:05d}_{school}岗位职责.txt"
        elif kind == 1:
            lines, used = _units_file(w, school, budget, corpus)
            path = out_dir / f"{index:05d}_{school}内设机构.md"
        else:
            lines, used = _rules_file(w, school, budget, corpus)
            path = out_dir / f"{index:05d}_{school}管理办法.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus.files.append(path)
        corpus.clauses += used
        index += 1
    return corpus


def count_parsed(files: list[Path], root: Path) -> int:
    """Clauses the product's parser finds in the files (read-only use of ingest.pipeline.parse_file)."""
    import hashlib

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from ingest.pipeline import parse_file

    total = 0
    for path in files:
        key = path.relative_to(root).as_posix()
        total += len(parse_file(path, key, f"d{path.name[:5]}", hashlib.sha256(path.read_bytes()).hexdigest()).clauses)
    return total


def main(argv: list[str] | None = None) -> int:
    """Generate, print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--clauses", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-file", type=int, default=200)
    parser.add_argument("--questions", type=Path, help="write questions about the corpus here (JSON Lines)")
    parser.add_argument("--check", action="store_true", help="count clauses with the product's parser")
    args = parser.parse_args(argv)
    if not 1 <= args.clauses <= 2_000_000:
        parser.error("--clauses must be between 1 and 2,000,000")
    started = time.perf_counter()
    corpus = generate(args.out_dir, args.clauses, args.seed, args.per_file)
    size = sum(p.stat().st_size for p in corpus.files)
    print(f"wrote {len(corpus.files)} files, {corpus.clauses} clauses (intended), {size / 2**20:.1f} MB, "
          f"{len(corpus.questions)} questions, in {time.perf_counter() - started:.1f} s -> {args.out_dir}")
    if args.questions:
        args.questions.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in corpus.questions),
                                  encoding="utf-8")
    if args.check:
        started = time.perf_counter()
        print(f"parser finds {count_parsed(corpus.files, args.out_dir)} clauses "
              f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
