"""The chat UI's layout in a real headless Chromium at 390x844 (touch) and
1366x900: nothing wider than the screen on any tab or sheet, a phone's chat
filling the screen with the question box kept in view (also when the on-screen
keyboard takes half of it, emulated by shrinking the viewport), a new answer
shown from its first line, the drawer, and the source sheet with its Close
button, Escape and the browser's Back. Every test also checks that the page
asked no other host for anything. Fixtures: tests/browser_kit.py.
"""

from __future__ import annotations

import pytest

from browser_kit import (DESKTOP, LONG_QUESTION, PHONE, QUESTION, VIEWS, app_settings, assert_no_overflow,  # noqa: F401
                         axe_violations, browser, choose_model, fake, last_answer, pages, screenshot, server)

pytestmark = pytest.mark.slow

KEYBOARD_PX = 336  # a phone keyboard's height: the visible viewport shrinks by this much

SHEET_OPEN = "() => document.documentElement.classList.contains('rag-sheet')"
VIEWER_OPEN = "() => !!document.querySelector('#rag-viewer mark.rag-hit')"
DRAWER_OPEN = "() => document.querySelector('#rag-sidebar').classList.contains('open')"


def rect(page, selector: str) -> dict:
    return page.evaluate("s => { const r = document.querySelector(s).getBoundingClientRect();"
                         " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, height: r.height}; }",
                         selector)


def input_in_view(page) -> bool:
    return page.evaluate("""() => { const r = document.querySelector('#rag-question textarea').getBoundingClientRect();
        const h = window.visualViewport ? window.visualViewport.height : window.innerHeight;
        return r.top >= 0 && r.bottom <= h + 1 && r.left >= 0 && r.right <= window.innerWidth + 1; }""")


def page_scrolls(page) -> bool:
    """Does the page itself (not the conversation) scroll vertically?"""
    return page.evaluate("() => document.documentElement.scrollHeight > window.innerHeight + 1")


def first_line_visible(page) -> dict:
    """Where the last answer's first line is, relative to the conversation's box and the screen."""
    return page.evaluate("""() => {
        const wrap = document.querySelector('#rag-chat .bubble-wrap').getBoundingClientRect();
        const bots = document.querySelectorAll('#rag-chat [data-testid=bot]');
        const bot = bots[bots.length - 1], r = bot.getBoundingClientRect();
        const line = parseFloat(getComputedStyle(bot).lineHeight) || 24;
        return {ok: r.top >= wrap.top - 1 && r.top + line <= wrap.bottom && r.top >= 0
                    && r.top + line <= window.innerHeight,
                top: r.top, height: r.height, wrapTop: wrap.top, wrapBottom: wrap.bottom}; }""")


def focused(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector)


@pytest.mark.parametrize("view", VIEWS)
def test_nothing_is_wider_than_the_screen_on_any_tab_sheet_or_drawer(pages, view):
    p = pages(view)
    page = p.open()
    assert_no_overflow(page, "empty chat")
    p.ask(QUESTION)
    assert_no_overflow(page, "chat with an answer")
    p.press(last_answer(page).locator(".rag-answer > p a.rag-cite").first)
    page.locator("#rag-viewer mark.rag-hit").wait_for(timeout=20_000)
    page.wait_for_timeout(300)
    assert_no_overflow(page, "source open")
    if p.phone:
        p.press(page.locator("#rag-sheet-close"))
        page.wait_for_function(f"() => !({SHEET_OPEN})()", timeout=5_000)
    p.press(last_answer(page).locator("a.rag-more"))
    page.locator("#rag-sources table.rag-kvtable").wait_for(timeout=20_000)
    page.wait_for_timeout(300)
    assert_no_overflow(page, "sources and answer details")
    if p.phone:
        page.go_back()
        page.wait_for_function(f"() => !({SHEET_OPEN})()", timeout=5_000)
    p.sidebar()
    assert_no_overflow(page, "drawer open")
    p.sidebar(open_=False)
    assert_no_overflow(page, "drawer closed")
    p.press(page.get_by_role("tab", name="Corpus"))
    page.locator("#rag-files", has_text="000_6cae30295beecc41.txt").wait_for(timeout=20_000)
    assert_no_overflow(page, "corpus tab")
    p.press(page.get_by_role("tab", name="Chat"))
    page.locator("#rag-question textarea").wait_for(timeout=5_000)
    assert p.outside == [] and p.errors == []


def test_phone_chat_fills_the_screen_and_keeps_the_box_above_the_keyboard(pages, tmp_path):
    p = pages(PHONE)
    page = p.open()
    # The chat app layout: header, one scrolling conversation, the box at the bottom.
    assert not page_scrolls(page), "the page scrolls: the conversation should be the only scroll"
    assert input_in_view(page)
    box, chat = rect(page, "#rag-question textarea"), rect(page, "#rag-chat")
    assert chat["bottom"] <= box["top"] and box["bottom"] > 844 - 120, (chat, box)  # pinned to the bottom
    assert page.evaluate("() => getComputedStyle(document.getElementById('rag-side-panels')).display") == "none"

    choose_model(p)
    p.ask(QUESTION)
    p.ask(LONG_QUESTION)
    where = first_line_visible(page)
    assert where["height"] > where["wrapBottom"] - where["wrapTop"], "the answer must be taller than the chat"
    assert where["ok"], f"the new answer's first line is out of view: {where}"
    assert input_in_view(page) and not page_scrolls(page)
    screenshot(page, tmp_path, "screenshot-phone-long.png", keep=False)

    # The on-screen keyboard: the visible viewport shrinks; the box stays in it, the page does not scroll.
    page.locator("#rag-question textarea").focus()
    page.set_viewport_size({"width": 390, "height": 844 - KEYBOARD_PX})
    page.wait_for_function("""() => { const r = document.querySelector('#rag-question textarea').getBoundingClientRect();
                                      return r.bottom <= window.innerHeight; }""", timeout=5_000)
    assert input_in_view(page) and not page_scrolls(page)
    assert rect(page, "#rag-chat")["height"] >= 100  # the conversation shrinks, and is still there
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.querySelector('#rag-question textarea').getBoundingClientRect().bottom"
                           " > 844 - 120", timeout=5_000)
    assert input_in_view(page) and not page_scrolls(page)
    assert p.outside == [] and p.errors == []


def test_desktop_shows_a_long_answer_from_its_first_line(pages):
    p = pages(DESKTOP)
    page = p.open()
    choose_model(p)
    p.ask(QUESTION)
    p.ask(LONG_QUESTION)
    where = first_line_visible(page)
    assert where["height"] > where["wrapBottom"] - where["wrapTop"] and where["ok"], where
    assert input_in_view(page)
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_drawer_toggle_says_what_it_does_and_escape_or_a_tap_outside_closes_it(pages, view):
    p = pages(view)
    page = p.open()
    toggle = page.locator("#rag-sidebar .toggle-button")

    def state(open_: bool) -> None:
        page.wait_for_function(f"() => ({DRAWER_OPEN})() === {str(open_).lower()}", timeout=5_000)
        page.wait_for_timeout(350)
        assert toggle.get_attribute("aria-label") == ("Close" if open_ else "Open") + " conversations and settings"
        assert toggle.get_attribute("aria-expanded") == str(open_).lower()
        if open_:  # the toggle never covers the drawer's first button
            t, b = rect(page, "#rag-sidebar .toggle-button"), rect(page, "#rag-new")
            assert t["bottom"] <= b["top"] or t["right"] <= b["left"] or t["left"] >= b["right"], (t, b)
        else:  # closed: nothing of it on the page but the toggle, nothing in it reachable
            assert not page.locator("#rag-new").is_visible()

    if not p.phone:  # open at first on a desktop, beside the chat (never over the question box)
        state(True)
        assert rect(page, "#rag-sidebar")["right"] <= rect(page, "#rag-question")["left"]
        p.press(toggle)
        state(False)
    state(False)
    p.press(toggle)  # the button opens it...
    state(True)
    if p.phone:
        page.wait_for_function("() => document.activeElement && document.activeElement.closest('#rag-sidebar')",
                               timeout=5_000)  # focus moves into the drawer
    else:
        page.locator("#rag-new").focus()
    page.keyboard.press("Escape")  # ...Escape closes it, focus back on the toggle
    state(False)
    assert focused(page, "#rag-sidebar .toggle-button")
    p.press(toggle)
    state(True)
    if p.phone:  # over the page on a phone: a tap outside closes it
        page.touchscreen.tap(380, 600)
        state(False)
        assert focused(page, "#rag-sidebar .toggle-button")
        p.press(toggle)
        state(True)
    p.press(toggle)  # and the button closes it
    state(False)
    assert focused(page, "#rag-sidebar .toggle-button")
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_citation_opens_the_source_and_close_escape_and_back_return_to_the_answer(pages, view, tmp_path):
    p = pages(view)
    page = p.open()
    p.ask(QUESTION)
    link = last_answer(page).locator(".rag-answer > p a.rag-cite").first
    href = link.get_attribute("href")
    at_link = f"() => document.activeElement && document.activeElement.getAttribute('href') === '{href}'"

    def open_source(press: bool = True) -> None:
        if press:
            p.press(link)
        page.wait_for_function(VIEWER_OPEN, timeout=20_000)
        page.wait_for_function("() => document.activeElement && document.activeElement.matches('mark.rag-hit')",
                               timeout=15_000)
        mark = rect(page, "#rag-viewer mark.rag-hit")
        assert 0 <= mark["top"] < page.viewport_size["height"]
        if p.phone:  # a full-screen sheet over the chat
            assert page.evaluate(SHEET_OPEN)
            sheet = rect(page, "#rag-side-panels")
            assert sheet["left"] == 0 and sheet["top"] == 0 and sheet["right"] == 390 and sheet["bottom"] == 844
            assert page.locator("#rag-sheet-close").is_visible()
        else:
            assert page.locator("#rag-viewer a.rag-back").is_visible()

    def closed() -> None:
        if p.phone:
            page.wait_for_function(f"() => !({SHEET_OPEN})()", timeout=5_000)
        else:  # the viewer goes back to its placeholder
            page.locator("#rag-viewer .rag-viewer-empty").wait_for(timeout=10_000)
        page.wait_for_function(at_link, timeout=5_000)  # focus back on the [1] that opened it
        assert input_in_view(page)

    open_source()
    # Prose in the page's font, not monospace.
    assert "monospace" not in page.evaluate("() => getComputedStyle(document.querySelector('#rag-viewer .rag-doc'))"
                                            ".fontFamily").split(",")[0]
    if p.phone:
        screenshot(page, tmp_path, "screenshot-phone-source.png")
        p.press(page.locator("#rag-sheet-close"))
    else:
        p.press(page.locator("#rag-viewer a.rag-back"))
    closed()
    open_source()
    page.go_back()  # the browser's (or the phone's) Back
    closed()
    open_source()
    page.keyboard.press("Escape")
    closed()
    # Closed and opened again at once, before the server has answered the close: the click is not
    # dropped, and the focus goes to the new view, not to the old one still on screen.
    open_source()
    page.evaluate("""(href) => new Promise(done => {
        window.addEventListener("popstate", () => {
            document.querySelector(`#rag-chat a.rag-cite[href="${href}"]`).click(); done();
        }, {once: true});
        history.back();
    })""", href)
    open_source(press=False)
    page.keyboard.press("Escape")
    closed()

    # An answer's "Retrieved passages and answer details": the sources table and the details as tables.
    more = last_answer(page).locator("a.rag-more")
    p.press(more)
    details = page.locator("#rag-sources table.rag-kvtable")
    details.wait_for(timeout=20_000)
    assert "Retrieved passages" in page.locator("#rag-sources").inner_text()
    if p.phone:
        assert page.evaluate(SHEET_OPEN) and details.is_visible()
        assert not page.locator("#rag-viewer").is_visible()
        page.go_back()
        page.wait_for_function(f"() => !({SHEET_OPEN})()", timeout=5_000)
        page.wait_for_function("() => document.activeElement && document.activeElement.matches('a.rag-more')",
                               timeout=5_000)
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_axe_finds_nothing_serious_with_the_drawer_or_the_sheet_open(pages, view):
    p = pages(view)
    page = p.open()
    p.ask(QUESTION)
    p.press(last_answer(page).locator("a.rag-more"))
    page.locator("#rag-sources table.rag-kvtable").wait_for(timeout=20_000)
    assert axe_violations(page) == []
    if p.phone:
        page.go_back()
        page.wait_for_function(f"() => !({SHEET_OPEN})()", timeout=5_000)
    p.sidebar(open_=True)
    assert axe_violations(page) == []
    assert p.outside == []
