"""The office web page in a real headless Chromium against the real app (tests/browser/conftest.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Site  # tests/browser/conftest.py

CHROMIUM = Path("/usr/bin/chromium")  # the same paths conftest.py starts the browser with
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 15

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402 - only once we know a browser is there
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

assert CHROMEDRIVER.exists(), f"{CHROMEDRIVER} is missing: apt-get install chromium-driver"

SICK_LEAVE = "病假须提供医院诊断证明。"
CITED_IN_VIEW = """
const cited = document.getElementById('cited-clause');
if (!cited) return false;
const box = cited.getBoundingClientRect();
const area = document.getElementById('section-scroll').getBoundingClientRect();
return box.top >= Math.max(0, area.top) - 1 && box.bottom <= Math.min(innerHeight, area.bottom) + 1;
"""
META_IN_VIEW = """
const meta = document.querySelector('#clause-body .meta').getBoundingClientRect();
return meta.top >= 0 && meta.bottom <= innerHeight;
"""


# ------------------------------------------------------------------------------- helpers

def wait(browser: WebDriver) -> WebDriverWait:
    return WebDriverWait(browser, WAIT_S)


def open_page(browser: WebDriver, site: Site, tab: str = "") -> None:
    """Load the page afresh (optionally on a tab) and wait until app.js has started."""
    browser.get("about:blank")  # a new URL differing only in its #hash would not reload the page
    browser.get(f"{site.base}/{'#' + tab if tab else ''}")
    wait(browser).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


def ask(browser: WebDriver, question: str) -> WebElement:
    """Type a question, press Enter, return the new answer card."""
    before = len(browser.find_elements(By.CSS_SELECTOR, "#answers > li"))
    field = browser.find_element(By.ID, "question")
    field.clear()
    field.send_keys(question, Keys.ENTER)
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#answers > li")) > before)
    return browser.find_element(By.CSS_SELECTOR, "#answers > li:first-child")


def cited_clause(browser: WebDriver, contains: str) -> WebElement:
    """Wait for the side panel to highlight a clause containing `contains` and scroll it into view."""
    wait(browser).until(lambda d: contains in text_of(d, "#cited-clause"))
    wait(browser).until(lambda d: d.execute_script(CITED_IN_VIEW))
    return browser.find_element(By.ID, "cited-clause")


def text_of(browser: WebDriver, css: str) -> str:
    found = browser.find_elements(By.CSS_SELECTOR, css)
    return found[0].text if found else ""


def verify(browser: WebDriver, text: str, mode: str = "quote", citation_id: str = "") -> list[WebElement]:
    """Fill the 核对引用 form and return the result cards."""
    browser.find_element(By.ID, "tab-verify").click()
    browser.find_element(By.CSS_SELECTOR, f"input[name=mode][value={mode}]").click()
    box = browser.find_element(By.ID, "verify-text")
    box.clear()
    box.send_keys(text)
    if mode == "quote":
        cid = browser.find_element(By.ID, "verify-cid")
        cid.clear()
        cid.send_keys(citation_id)
    browser.execute_script("document.getElementById('verify-results').replaceChildren()")
    browser.find_element(By.ID, "verify-button").click()
    return result_cards(browser)


def result_cards(browser: WebDriver) -> list[WebElement]:
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#verify-results .part")
                        or d.find_element(By.ID, "verify-error").is_displayed())
    return browser.find_elements(By.CSS_SELECTOR, "#verify-results .part")


def no_horizontal_scroll(browser: WebDriver) -> bool:
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


# ------------------------------------------------------------------------------- tests

def test_answer_citation_opens_clause_in_its_section(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    assert browser.title.startswith("DutyDesk")
    owner_card = ask(browser, "谁负责教职工邮箱密码重置？")
    assert "信息中心" in owner_card.find_element(By.CSS_SELECTOR, ".owner").text
    assert "0535-3450899" in owner_card.find_element(By.CSS_SELECTOR, ".owner").text

    card = ask(browser, "病假需要什么证明？")
    assert SICK_LEAVE in card.text
    cite = card.find_element(By.CSS_SELECTOR, ".answer-text button.cite")
    assert cite.text == "[1]" and "教职工考勤管理办法" in cite.get_attribute("aria-label")
    assert not card.find_elements(By.CSS_SELECTOR, ".answer-text img, .answer-text script")
    shot(browser, "01-answer")

    cite.click()
    highlighted = cited_clause(browser, SICK_LEAVE)
    assert "第五条" in highlighted.text and highlighted.get_attribute("aria-current") == "true"
    assert "被引用的条款" in highlighted.text  # marked in words, not by colour alone
    section = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".section-clauses > li")]
    assert len(section) == 5 and "第三条" in section[0] and "第七条" in section[-1]
    assert sum("被引用的条款" in s for s in section) == 1
    meta = browser.find_element(By.CSS_SELECTOR, "#clause-body .meta").text
    assert "《教职工考勤管理办法》" in meta and "第 1 版" in meta
    assert "第二章 请假与销假" in meta and "考勤管理办法.md 第 20 行" in meta
    assert browser.execute_script(META_IN_VIEW)  # document, version and lines stay visible beside it
    assert "cite" in cite.get_attribute("class") and "active" in cite.get_attribute("class")
    shot(browser, "02-clause-panel")


def test_clause_deep_in_a_long_section_is_scrolled_into_view(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    card = ask(browser, "剧毒化学品怎么保管？")
    card.find_element(By.CSS_SELECTOR, "button.cite").click()
    highlighted = cited_clause(browser, "双人双锁")  # waits until it is inside the visible part
    assert highlighted.text.startswith("▶ 被引用的条款\n11．")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".section-clauses > li")) == 12
    assert browser.execute_script("return document.getElementById('section-scroll').scrollTop") > 0
    assert browser.execute_script("return window.scrollY") == 0  # the page itself did not jump
    assert browser.execute_script(META_IN_VIEW)
    assert browser.execute_script(  # the whole panel fits the window, its 返回原处 button included
        "return document.getElementById('clause-panel').getBoundingClientRect().bottom <= innerHeight")
    assert "《实验室安全管理规定》" in text_of(browser, "#clause-body .meta")
    shot(browser, "02b-long-section")


def test_refused_answer_is_shown_as_such(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    card = ask(browser, "学校食堂几点开饭？")
    assert "refused" in card.get_attribute("class")
    assert "未找到依据" in card.find_element(By.CSS_SELECTOR, ".badge").text
    assert not card.find_elements(By.CSS_SELECTOR, "button.cite")
    shot(browser, "03-refused")


def test_related_answer_says_the_rules_do_not_state_it(browser: WebDriver, site: Site, shot) -> None:
    """A related answer wears its own badge, claims no owner, and its closest clauses stay clickable."""
    open_page(browser, site)
    card = ask(browser, "危险化学品丢了怎么处理？")
    assert "related" in card.get_attribute("class")
    assert "规章未直接写明" in card.find_element(By.CSS_SELECTOR, ".badge").text
    assert card.find_elements(By.CSS_SELECTOR, "button.cite")
    shot(browser, "03b-related")


def test_keyboard_tab_and_enter_reach_and_open_citations(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    ask(browser, "病假需要什么证明？")
    question = browser.find_element(By.ID, "question")
    assert browser.switch_to.active_element == question  # Enter in the field asked; focus stayed there
    for _ in range(4):  # field → 提问 → the newest answer's first [n]
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if "cite" in (browser.switch_to.active_element.get_attribute("class") or ""):
            break
    cite = browser.switch_to.active_element
    assert cite.tag_name == "button" and cite.text == "[1]"
    cite.send_keys(Keys.ENTER)
    cited_clause(browser, SICK_LEAVE)
    assert browser.switch_to.active_element.get_attribute("id") == "clause-heading"
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "section-scroll"  # arrows scroll it
    browser.switch_to.active_element.send_keys(Keys.TAB)
    back = browser.switch_to.active_element
    assert back.text == "返回原处"
    back.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element == cite
    shot(browser, "04-keyboard")

    tab = browser.find_element(By.ID, "tab-ask")
    tab.send_keys(Keys.ARROW_RIGHT)  # tabs follow the ARIA tab pattern
    assert browser.switch_to.active_element.get_attribute("id") == "tab-verify"
    assert browser.find_element(By.ID, "panel-verify").is_displayed()
    assert not browser.find_element(By.ID, "panel-ask").is_displayed()


def test_verbatim_quote_is_verified(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    [card] = verify(browser, "第五条 " + SICK_LEAVE)
    assert "已核实" in card.find_element(By.CSS_SELECTOR, ".badge").text
    assert "part-verified" in card.get_attribute("class")
    assert "《教职工考勤管理办法》" in card.find_element(By.CSS_SELECTOR, ".found").text
    card.find_element(By.CSS_SELECTOR, "button.open-clause").click()
    cited_clause(browser, SICK_LEAVE)
    shot(browser, "05-verified")


def test_misquote_is_not_found_and_shows_nearest(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site, "verify")
    [card] = verify(browser, "病假须提供社区诊断证明。")
    assert "未找到" in card.find_element(By.CSS_SELECTOR, ".badge").text
    nearest = card.find_elements(By.CSS_SELECTOR, ".nearest li")
    assert nearest and SICK_LEAVE in nearest[0].text and "相似度" in nearest[0].text
    assert [e.text for e in card.find_elements(By.CSS_SELECTOR, ".near-diff del")] == ["社区"]
    assert [e.text for e in card.find_elements(By.CSS_SELECTOR, ".near-diff ins")] == ["医院"]
    shot(browser, "06-not-found")

    pasted = "根据规定：「病假须提供社区诊断证明。」[1]，另见[2]。"  # an answer from elsewhere: no ids
    misquoted, unresolved = verify(browser, pasted, mode="answer")
    assert "未找到" in misquoted.text and "[1]" in misquoted.text
    assert "无法对应" in unresolved.text and "[2] 没有对应的引用编号" in unresolved.text
    assert "未找到 1 处" in text_of(browser, "#verify-results .summary")


def test_stale_citation_shows_old_and_new_text(browser: WebDriver, start_site, shot) -> None:
    site: Site = start_site()  # its own documents: this test edits one
    open_page(browser, site)
    card = ask(browser, "病假需要什么证明？")
    citation_id = browser.execute_script(
        "return document.querySelector('#answers .cite').dataset.clauseId")

    doc = site.knowledge / "考勤管理办法.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace(SICK_LEAVE, "病假须提供二级以上医院出具的诊断证明。"),
                   encoding="utf-8")
    report = site.desk.ingest()
    assert report.updated == ["考勤管理办法.md"]

    card.find_element(By.XPATH, ".//button[text()='核对此回答']").click()  # the whole answer, [1] resolved
    [part] = result_cards(browser)
    assert "已过时" in part.find_element(By.CSS_SELECTOR, ".badge").text
    assert citation_id in part.text
    assert "医院诊断证明" in part.find_element(By.CSS_SELECTOR, ".was-text").text
    assert "二级以上医院出具的诊断证明" in part.find_element(By.CSS_SELECTOR, ".now-text").text
    assert "".join(e.text for e in part.find_elements(By.CSS_SELECTOR, ".now-text ins")) == "二级以上出具的"
    shot(browser, "07-stale")

    [single] = verify(browser, SICK_LEAVE, citation_id=citation_id)  # one quote with its id
    assert "已过时" in single.find_element(By.CSS_SELECTOR, ".badge").text
    single.find_element(By.CSS_SELECTOR, ".now button.open-clause").click()
    cited_clause(browser, "二级以上医院")
    assert "第 2 版" in text_of(browser, "#clause-body .meta")


def test_owners_directory_lists_owners_and_duties(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    browser.find_element(By.ID, "tab-directory").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".owner-button"))
    owners = {b.find_element(By.CSS_SELECTOR, ".owner-name").text: b
              for b in browser.find_elements(By.CSS_SELECTOR, ".owner-button")}
    assert {"办公室", "出纳员", "宿舍管理员", "总务处", "信息中心"} <= set(owners)
    assert "0535-3450801" in owners["办公室"].text and "4 条" in owners["办公室"].text

    owners["出纳员"].click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#owner-detail .duties li"))
    duties = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#owner-detail .duties li")]
    assert len(duties) == 3 and "现金收付" in duties[0] and "空白支票" in duties[2]
    assert owners["出纳员"].get_attribute("aria-pressed") == "true"

    documents = browser.find_element(By.ID, "documents-list").text
    assert "《教职工考勤管理办法》" in documents and "生效日期 2024-09-01" in documents
    shot(browser, "08-owners")
    browser.find_element(By.CSS_SELECTOR, "#owner-detail .duties li:nth-child(2) button").click()
    cited_clause(browser, "按时发放工资和奖金")


def test_data_is_text_and_api_errors_are_friendly(browser: WebDriver, site: Site) -> None:
    open_page(browser, site)
    attack = '<img src=x onerror="window.pwned=1">病假<b>证明</b>'
    card = ask(browser, attack)
    assert attack in card.find_element(By.CSS_SELECTOR, ".question").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#answers img, #answers b")
    assert browser.execute_script("return window.pwned === undefined")

    verify(browser, SICK_LEAVE, citation_id="no-such-clause")  # 404 {"detail": ...}
    error = browser.find_element(By.ID, "verify-error")
    assert error.is_displayed() and "没有编号为 no-such-clause 的条款" in error.text

    browser.find_element(By.ID, "tab-ask").click()
    browser.find_element(By.ID, "question").clear()
    browser.find_element(By.ID, "ask-button").click()  # empty question: caught before the API
    assert "请先输入问题" in browser.find_element(By.ID, "ask-error").text


def test_phone_layout_stacks_the_clause_panel(browser: WebDriver, site: Site, shot) -> None:
    browser.set_window_size(390, 844)
    open_page(browser, site)
    assert browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)") >= 16
    card = ask(browser, "宿舍钥匙归谁管？")
    assert "宿舍管理员" in card.find_element(By.CSS_SELECTOR, ".owner").text
    assert no_horizontal_scroll(browser)
    shot(browser, "09-phone-answer")
    card.find_element(By.CSS_SELECTOR, "button.cite").click()
    cited_clause(browser, "宿舍钥匙")
    main, panel = (browser.find_element(By.ID, i).rect for i in ("main", "clause-panel"))
    assert panel["y"] >= main["y"] + main["height"]  # stacked under the answers, not beside them
    assert no_horizontal_scroll(browser)
    shot(browser, "10-phone-clause")


SWITCHBOARD = "0535-3450811、0535-3450812（转 806）"  # two numbers, then an extension of the second
SECURITY_OFFICE = f"""|机构名称|保卫处|办公电话|{SWITCHBOARD}|
|机构职能|1.负责校园门禁和外来人员登记。<br><br>2.负责校园监控系统的值守。|   |   |
"""
CONTACT_PARTS = """
return [...arguments[0].childNodes].map((n) => [n.nodeName, n.textContent, n.nodeName === 'A' ? n.href : null]);
"""


def test_contact_links_each_phone_number_and_not_the_extension(browser: WebDriver, start_site, shot) -> None:
    """One tel: link per number; 、 and （转 806） stay visible as plain text and are dialled by nobody."""
    site: Site = start_site()  # its own documents: this test adds a department with a switchboard
    doc = site.knowledge / "内设机构.md"
    doc.write_text(doc.read_text(encoding="utf-8") + SECURITY_OFFICE, encoding="utf-8")
    assert site.desk.ingest().updated == ["内设机构.md"]
    open_page(browser, site)
    card = ask(browser, "谁负责外来人员登记？")
    owner = card.find_element(By.CSS_SELECTOR, ".owner")
    assert "保卫处" in owner.text and f"联系电话：{SWITCHBOARD}" in owner.text  # every character still shown
    links = owner.find_elements(By.CSS_SELECTOR, "a")
    assert [(a.text, a.get_attribute("href")) for a in links] == [
        ("0535-3450811", "tel:0535-3450811"), ("0535-3450812", "tel:0535-3450812")]
    parts = browser.execute_script(CONTACT_PARTS, owner)
    assert parts[-4:] == [["A", "0535-3450811", "tel:0535-3450811"], ["#text", "、", None],
                          ["A", "0535-3450812", "tel:0535-3450812"], ["#text", "（转 806）", None]]
    shot(browser, "11-tel-links")

    browser.find_element(By.ID, "tab-directory").click()  # the owner's page shows the same links
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".owner-button"))
    browser.find_element(By.XPATH, "//button[contains(@class,'owner-button')][.//span[text()='保卫处']]").click()
    wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#owner-detail .owner-contact a"))
    contact = browser.find_element(By.CSS_SELECTOR, "#owner-detail .owner-contact")
    assert contact.text == f"联系电话：{SWITCHBOARD}"
    assert [a.get_attribute("href") for a in contact.find_elements(By.CSS_SELECTOR, "a")] == [
        "tel:0535-3450811", "tel:0535-3450812"]


def feedback_status(card: WebElement) -> str:
    return card.find_element(By.CSS_SELECTOR, ".feedback-status").text


def test_feedback_is_sent_acknowledged_and_logged_with_the_page_as_front(browser: WebDriver, start_site,
                                                                         shot) -> None:
    """有帮助 is sent at once; 没帮助 opens an optional comment. The server logs both, as from the web page."""
    site: Site = start_site()  # its own question log
    open_page(browser, site)
    helped = ask(browser, "病假需要什么证明？")
    missed = ask(browser, "宿管阿姨几点查寝？")
    assert "related" in missed.get_attribute("class")

    helped.find_element(By.CSS_SELECTOR, ".feedback-yes").click()
    wait(browser).until(lambda d: feedback_status(helped) == "已收到，谢谢")
    assert [b.is_enabled() for b in helped.find_elements(By.CSS_SELECTOR, ".feedback button")] == [False] * 3

    assert not missed.find_element(By.CSS_SELECTOR, ".feedback-comment").is_displayed()
    missed.find_element(By.CSS_SELECTOR, ".feedback-no").click()
    comment = missed.find_element(By.CSS_SELECTOR, ".feedback-comment textarea")
    assert comment.is_displayed() and browser.switch_to.active_element == comment
    assert missed.find_element(By.CSS_SELECTOR, f"label[for='{comment.get_attribute('id')}']").text
    comment.send_keys("想问的是晚上查寝的时间")
    shot(browser, "12-feedback-comment")
    missed.find_element(By.XPATH, ".//button[text()='发送']").click()
    wait(browser).until(lambda d: feedback_status(missed) == "已收到，谢谢")
    assert not any(b.is_enabled() for b in missed.find_elements(By.CSS_SELECTOR, ".feedback button"))
    shot(browser, "13-feedback-sent")

    logged = {entry.question: entry for entry in site.desk.questions.asks()}
    assert (logged["病假需要什么证明？"].helpful, logged["病假需要什么证明？"].comment) == (True, None)
    assert (logged["宿管阿姨几点查寝？"].helpful, logged["宿管阿姨几点查寝？"].comment) == (False, "想问的是晚上查寝的时间")
    assert {entry.front for entry in logged.values()} == {"web"}  # X-DutyDesk-Front: web on every /ask


def test_rate_limited_feedback_says_so_and_stays_open(browser: WebDriver, start_site) -> None:
    site: Site = start_site(api_rate_limit=1)  # one POST a minute: the question itself
    open_page(browser, site)
    card = ask(browser, "病假需要什么证明？")
    card.find_element(By.CSS_SELECTOR, ".feedback-yes").click()
    wait(browser).until(lambda d: "太频繁" in feedback_status(card))
    assert card.find_element(By.CSS_SELECTOR, ".feedback-yes").is_enabled()  # nothing recorded: try later
    assert [entry.helpful for entry in site.desk.questions.asks()] == [None]


def test_screenshot_for_the_docs(browser: WebDriver, site: Site, shot) -> None:
    """The README's picture: an owner answer and a fact answer, the cited clause open beside them."""
    browser.set_window_size(1280, 1060)
    open_page(browser, site)
    ask(browser, "谁负责教职工邮箱密码重置？")
    card = ask(browser, "病假需要什么证明？")
    card.find_element(By.CSS_SELECTOR, "button.cite").click()
    cited_clause(browser, SICK_LEAVE)
    browser.execute_script("document.activeElement.blur()")
    path: Path = shot(browser, "00-overview")
    assert path.stat().st_size > 10_000
