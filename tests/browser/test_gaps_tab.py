"""The 未答问题 tab in a real headless Chromium against the real app (tests/browser/conftest.py).

Each test starts its own site with an admin token: the question log and the alias file are per site,
and the alias file lives in the site's temp copy of the corpus, never in the repository's knowledge/.
"""
from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

# The page helpers; importing test_web also skips this module where Chromium is absent.
from test_web import WAIT_S, ask, no_horizontal_scroll, open_page, wait

if TYPE_CHECKING:
    from conftest import Site  # tests/browser/conftest.py

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "browser-test-admin-token"
REFUSED = "学校食堂几点开饭？"  # nothing in the corpus comes close
STAFF_WORD = "网管"  # what staff call the office the documents call 信息中心
IN_STAFF_WORDS = "网管负责什么？"  # refused as asked; answered once 网管 is an alias of 信息中心
TOKEN_KEY = "dutydesk-admin-token"
SELECT_IN_QUESTION = """
const [source, start, end] = arguments;
const range = document.createRange();
range.setStart(source.firstChild, start);
range.setEnd(source.firstChild, end);
getSelection().removeAllRanges();
getSelection().addRange(range);
source.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
"""


@pytest.fixture()
def site(start_site) -> Site:
    """A site of this test's own, with an admin token."""
    return start_site(admin_token=TOKEN)


# ------------------------------------------------------------------------------- helpers

def open_gaps(browser: WebDriver, token: str | None = TOKEN) -> None:
    """Select the tab and (unless already in) give the token; wait for the list or the token form's error."""
    browser.find_element(By.ID, "tab-gaps").click()
    if token is None:
        return
    form = browser.find_element(By.ID, "token-form")
    wait(browser).until(lambda d: form.is_displayed() or d.find_element(By.ID, "gaps-view").is_displayed())
    if form.is_displayed():
        field = browser.find_element(By.ID, "admin-token")
        field.clear()
        field.send_keys(token)
        browser.find_element(By.ID, "token-button").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "gaps-view").is_displayed()
                        or d.find_element(By.ID, "gaps-error").is_displayed())


def settle(browser: WebDriver) -> WebDriverWait:
    """A wait across a re-render of the list (a card found just before it is replaced is stale)."""
    return WebDriverWait(browser, WAIT_S, ignored_exceptions=(StaleElementReferenceException,))


def gap_card(browser: WebDriver, question: str) -> WebElement:
    """Wait for the card of a gap, found by its question."""
    xpath = f"//ol[@id='gaps-list']/li[h3[normalize-space()='{question}']]"
    wait(browser).until(lambda d: d.find_elements(By.XPATH, xpath))
    return browser.find_element(By.XPATH, xpath)


def storage(browser: WebDriver) -> dict[str, object]:
    return browser.execute_script(
        "return {session: sessionStorage.getItem(arguments[0]), local: localStorage.length}", TOKEN_KEY)


def api_gaps(site: Site) -> list[dict[str, object]]:
    """GET /gaps as the server has it (the page's view is checked against this)."""
    request = urllib.request.Request(f"{site.base}/gaps", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def state_of(card: WebElement) -> str:
    return card.find_element(By.CSS_SELECTOR, ".gap-state").text


def sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


# ------------------------------------------------------------------------------- tests

def test_tab_asks_for_the_token_and_keeps_it_for_this_tab_only(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    open_gaps(browser, token=None)
    assert browser.find_element(By.ID, "token-form").is_displayed()
    assert not browser.find_element(By.ID, "gaps-view").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "label[for='admin-token']").text == "管理员令牌"
    assert browser.find_element(By.ID, "admin-token").get_attribute("type") == "password"

    open_gaps(browser, token="wrong-token")  # 401: forgotten at once, asked again with the reason
    error = browser.find_element(By.ID, "gaps-error")
    assert error.is_displayed() and "需要管理员令牌" in error.text and "重新输入" in error.text
    assert browser.find_element(By.ID, "token-form").is_displayed()
    assert storage(browser) == {"session": None, "local": 0}
    shot(browser, "20-gaps-token")

    open_gaps(browser)
    wait(browser).until(lambda d: "目前没有未答问题" in d.find_element(By.ID, "gaps-list").text)
    assert not browser.find_element(By.ID, "token-form").is_displayed()
    assert not browser.find_element(By.ID, "gaps-error").is_displayed()
    assert storage(browser) == {"session": TOKEN, "local": 0}  # this tab's session, never localStorage

    open_page(browser, site, "gaps")  # a reload in the same tab keeps it
    wait(browser).until(lambda d: "目前没有未答问题" in d.find_element(By.ID, "gaps-list").text)
    assert not browser.find_element(By.ID, "token-form").is_displayed()

    browser.execute_script("sessionStorage.setItem(arguments[0], 'stale-token')", TOKEN_KEY)  # token changed
    browser.find_element(By.ID, "gaps-refresh").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "token-form").is_displayed())
    assert storage(browser) == {"session": None, "local": 0}

    open_gaps(browser)
    browser.find_element(By.ID, "gaps-logout").click()
    assert browser.find_element(By.ID, "token-form").is_displayed()
    assert storage(browser)["session"] is None


def test_tab_on_a_server_without_admin_token_says_it_is_closed(browser: WebDriver, start_site) -> None:
    site: Site = start_site()  # no DUTYDESK_ADMIN_TOKEN: the admin routes answer 403
    open_page(browser, site)
    open_gaps(browser, token="any-token")
    error = browser.find_element(By.ID, "gaps-error")
    assert error.is_displayed() and "管理接口未开启" in error.text
    assert browser.find_element(By.ID, "token-form").is_displayed()
    assert storage(browser) == {"session": None, "local": 0}


def test_refused_question_is_listed_and_marked_known_gap(browser: WebDriver, site: Site, shot) -> None:
    open_page(browser, site)
    for _ in range(2):
        assert "refused" in ask(browser, REFUSED).get_attribute("class")
    assert "related" in ask(browser, "宿管阿姨几点查寝？").get_attribute("class")
    ask(browser, "病假需要什么证明？")  # answered: no gap
    open_gaps(browser)

    card = gap_card(browser, REFUSED)
    questions = [h3.text for h3 in browser.find_elements(By.CSS_SELECTOR, "#gaps-list > li h3")]
    assert questions == [REFUSED, "宿管阿姨几点查寝？"]  # most asked first; the answered one is no gap
    meta = card.find_element(By.CSS_SELECTOR, ".gap-meta").text
    assert "未找到依据" in meta and "问过 2 次" in meta and "0 次评为“没帮助”" in meta and "最近一次" in meta
    assert state_of(card) == "待处理"
    related = gap_card(browser, "宿管阿姨几点查寝？")
    assert "规章未直接写明" in related.find_element(By.CSS_SELECTOR, ".gap-meta").text

    card.find_element(By.XPATH, ".//button[text()='规章确实没有']").click()
    settle(browser).until(lambda d: state_of(gap_card(d, REFUSED)) == "规章确实没有")
    card = gap_card(browser, REFUSED)
    assert not card.find_elements(By.XPATH, ".//button[text()='规章确实没有']")  # offered: 已解决, 重新打开
    assert card.find_elements(By.XPATH, ".//button[text()='重新打开']")
    assert browser.switch_to.active_element == card.find_element(By.TAG_NAME, "h3")  # focus stayed on it
    assert "已将“学校食堂几点开饭？”标为“规章确实没有”" in browser.find_element(By.ID, "gaps-status").text
    assert {g["question"]: g["state"] for g in api_gaps(site)} == {REFUSED: "known_gap", "宿管阿姨几点查寝？": "open"}
    shot(browser, "21-gaps-known-gap")

    gap_card(browser, "宿管阿姨几点查寝？").find_element(By.XPATH, ".//button[text()='已解决']").click()
    settle(browser).until(lambda d: state_of(gap_card(d, "宿管阿姨几点查寝？")) == "已解决")
    assert {g["question"]: g["state"] for g in api_gaps(site)}["宿管阿姨几点查寝？"] == "resolved"


def test_nearest_clause_of_a_gap_opens_in_the_clause_panel(browser: WebDriver, site: Site) -> None:
    open_page(browser, site)
    ask(browser, "宿管阿姨几点查寝？")  # related: its nearest clause is the 宿舍管理员's head count
    open_gaps(browser)
    card = gap_card(browser, "宿管阿姨几点查寝？")
    [gap] = api_gaps(site)
    buttons = card.find_elements(By.CSS_SELECTOR, ".gap-nearest button.open-clause")
    assert [b.get_attribute("data-clause-id") for b in buttons] == gap["nearest"] and buttons
    wait(browser).until(lambda d: "九点半清点住宿学生人数" in buttons[0].find_element(By.XPATH, "..").text)
    assert "《学校各岗位职责》" in buttons[0].text  # where the clause is, once fetched, instead of its id
    buttons[0].click()
    wait(browser).until(lambda d: "九点半清点住宿学生人数" in d.find_element(By.ID, "clause-body").text)
    assert browser.find_element(By.ID, "cited-clause").get_attribute("data-clause-id") == gap["nearest"][0]


def test_feedback_comment_and_unhelpful_count_reach_the_tab(browser: WebDriver, site: Site) -> None:
    """An answered question marked 没帮助 is a gap too, with the comment the office needs."""
    open_page(browser, site)
    card = ask(browser, "出纳员负责什么？")
    assert "answered" in card.get_attribute("class")
    card.find_element(By.CSS_SELECTOR, ".feedback-no").click()
    card.find_element(By.CSS_SELECTOR, ".feedback-comment textarea").send_keys("我问的是报销流程")
    card.find_element(By.XPATH, ".//button[text()='发送']").click()
    wait(browser).until(lambda d: card.find_element(By.CSS_SELECTOR, ".feedback-status").text == "已收到，谢谢")
    open_gaps(browser)
    gap = gap_card(browser, "出纳员负责什么？")
    assert "1 次评为“没帮助”" in gap.find_element(By.CSS_SELECTOR, ".gap-meta").text
    assert "已回答" in gap.find_element(By.CSS_SELECTOR, ".gap-meta").text
    assert "我问的是报销流程" in gap.find_element(By.CSS_SELECTOR, ".gap-comments").text


def test_alias_added_from_the_tab_makes_the_question_answerable(browser: WebDriver, site: Site, shot) -> None:
    """The done-when: a question in a staff word is refused, the office teaches the word, it is answered."""
    repo_aliases = ROOT / "knowledge" / "aliases.txt"
    before = sha256(repo_aliases)
    open_page(browser, site)
    assert "refused" in ask(browser, IN_STAFF_WORDS).get_attribute("class")
    ask(browser, REFUSED)
    open_gaps(browser)
    card = gap_card(browser, IN_STAFF_WORDS)

    card.find_element(By.XPATH, ".//button[text()='添加同义词…']").click()
    form = card.find_element(By.CSS_SELECTOR, ".alias-form")
    assert form.is_displayed()
    word = form.find_element(By.CSS_SELECTOR, "input[id^='alias-word']")
    name = form.find_element(By.CSS_SELECTOR, "input[id^='alias-name']")
    assert browser.switch_to.active_element == word
    assert word.get_attribute("value") == STAFF_WORD  # guessed from the question
    word.clear()
    browser.execute_script(SELECT_IN_QUESTION, form.find_element(By.CSS_SELECTOR, ".alias-source"), 0, 2)
    assert word.get_attribute("value") == STAFF_WORD  # or picked by selecting it in the question
    for field in (word, name):
        assert form.find_element(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']").text
    suggestions = browser.execute_script(
        "return [...document.querySelectorAll('#owner-names option')].map((o) => o.value)")
    assert {"信息中心", "宿舍管理员", "出纳员"} <= set(suggestions)  # from GET /owners

    name.send_keys("不存在的部门")  # 422 {"detail": ...}: the detail is shown in the form
    form.find_element(By.XPATH, ".//button[text()='添加同义词']").click()
    wait(browser).until(lambda d: form.find_element(By.CSS_SELECTOR, ".alias-message").text)
    assert "知识库中没有出现“不存在的部门”" in form.find_element(By.CSS_SELECTOR, ".alias-message").text

    name.clear()
    name.send_keys("信息中心")
    word.clear()
    word.send_keys("校办")  # 409: already the word for 办公室
    form.find_element(By.XPATH, ".//button[text()='添加同义词']").click()
    wait(browser).until(lambda d: "校办" in form.find_element(By.CSS_SELECTOR, ".alias-message").text)
    assert "已经是“办公室”的说法" in form.find_element(By.CSS_SELECTOR, ".alias-message").text

    word.clear()
    word.send_keys(STAFF_WORD)
    form.find_element(By.XPATH, ".//button[text()='添加同义词']").click()
    wait(browser).until(lambda d: "已添加" in card.find_element(By.CSS_SELECTOR, ".gap-result").text)
    result = card.find_element(By.CSS_SELECTOR, ".gap-result").text
    assert "“网管”按规章中的“信息中心”查找" in result and "现在应当能得到回答" in result
    assert not form.is_displayed()
    assert "信息中心: 网管" in (site.knowledge / "aliases.txt").read_text(encoding="utf-8")  # the site's copy
    assert sha256(repo_aliases) == before  # the repository's knowledge is untouched
    shot(browser, "22-gaps-alias-added")

    again = card.find_element(By.XPATH, ".//button[text()='重新提问试试']")
    assert browser.switch_to.active_element == again
    cards = len(browser.find_elements(By.CSS_SELECTOR, "#answers > li"))
    again.click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#answers > li")) > cards)
    assert browser.find_element(By.ID, "panel-ask").is_displayed()
    answer = browser.find_element(By.CSS_SELECTOR, "#answers > li:first-child")
    assert IN_STAFF_WORDS in answer.find_element(By.CSS_SELECTOR, ".question").text
    assert "answered" in answer.get_attribute("class") and "信息中心" in answer.text
    assert answer.find_elements(By.CSS_SELECTOR, "button.cite")
    shot(browser, "23-reasked-answered")


def test_csv_download_sends_the_token(browser: WebDriver, site: Site, tmp_path: Path) -> None:
    """The CSV comes from a fetch with the Authorization header, saved as a file by the browser."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    open_page(browser, site)
    ask(browser, REFUSED)
    open_gaps(browser)
    gap_card(browser, REFUSED)
    browser.find_element(By.ID, "gaps-csv").click()
    wait(browser).until(lambda d: list(folder.glob("*.csv")))
    [saved] = folder.glob("*.csv")
    assert saved.name.startswith("未答问题-")
    wait(browser).until(lambda d: REFUSED in saved.read_text(encoding="utf-8-sig"))  # (written as it arrives)
    rows = saved.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("编号,问题,次数") and REFUSED in rows[1]
    assert "表格已开始下载" in browser.find_element(By.ID, "gaps-status").text


def test_phone_layout_of_the_tab_and_the_feedback(browser: WebDriver, site: Site, shot) -> None:
    browser.set_window_size(390, 844)
    open_page(browser, site)
    card = ask(browser, IN_STAFF_WORDS)
    card.find_element(By.CSS_SELECTOR, ".feedback-no").click()
    assert no_horizontal_scroll(browser)
    shot(browser, "24-phone-feedback")
    open_gaps(browser)
    gap = gap_card(browser, IN_STAFF_WORDS)
    gap.find_element(By.XPATH, ".//button[text()='添加同义词…']").click()
    assert no_horizontal_scroll(browser)
    shot(browser, "25-phone-gaps")


def test_screenshot_of_the_gaps_tab_for_the_docs(browser: WebDriver, site: Site, shot) -> None:
    """The README's picture of the tab: a few gaps, one with the alias form open."""
    browser.set_window_size(1280, 1240)
    open_page(browser, site)
    for question in (IN_STAFF_WORDS, IN_STAFF_WORDS, "宿管阿姨几点查寝？", REFUSED):
        ask(browser, question)
    open_gaps(browser)
    card = gap_card(browser, IN_STAFF_WORDS)
    card.find_element(By.XPATH, ".//button[text()='添加同义词…']").click()
    card.find_element(By.CSS_SELECTOR, "input[id^='alias-name']").send_keys("信息中心")
    card.find_element(By.CSS_SELECTOR, ".gap-nearest button.open-clause").click()
    wait(browser).until(lambda d: d.find_elements(By.ID, "cited-clause"))
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    path: Path = shot(browser, "gaps-tab")
    assert path.stat().st_size > 10_000
