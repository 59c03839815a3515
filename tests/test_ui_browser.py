"""The chat UI in a real headless Chromium (Debian's ``chromium`` at
/usr/bin/chromium, driven by Playwright for Python; no browser is downloaded),
at 1366x900 and at 390x844 with touch.

Covered: phone layout, asking, clicking an inline [1] to the highlighted quote,
copy (read back from the clipboard as plain text), a reload that finds the
conversation, stopping a streamed answer, a too-long question that keeps its
text, the keyboard path, the corpus tab (checks before upload, confirmation,
undo, refresh from another session), document markup shown as text, the
Content-Security-Policy, no request leaving 127.0.0.1, and an axe-core scan
(the npm package, installed by tests/run.sh into .test-deps/).

``RAG_UI_SCREENSHOT_DIR=docs`` also saves the README's screenshots there.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from browser_kit import (DESKTOP, HOSTILE_NAME, HOSTILE_TEXT, QUESTION, REPO, VIEWS,  # noqa: F401
                         app_settings, axe_violations, browser, fake, has_outline, last_answer, pages, screenshot,
                         server, wait_for_answer)
from rag import ask
from rag.ingest.loading import document_text
from ui.app import build_app, serve
from ui.bubbles import copy_text
from ui.corpus import safe_name
from ui.layout import REFRESH_SECONDS

from conftest import free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("view", VIEWS)
def test_layout_chat_first_nothing_over_the_input_and_example_questions(pages, view):
    p = pages(view)
    page = p.open()
    geometry = page.evaluate("""() => {
        const r = s => document.querySelector(s).getBoundingClientRect();
        const box = r('#rag-question textarea');
        const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return {hit: hit && hit.outerHTML.slice(0, 200), sidebarOpen: document.querySelector('#rag-sidebar').classList.contains('open'),
                box: [box.left, box.top, box.right, box.bottom], boxOnTop: !!hit && !!hit.closest('#rag-question'),
                chatTop: r('#rag-chat-col').top, chatLeft: r('#rag-chat-col').left, panelsTop: r('#rag-side-panels').top,
                panels: getComputedStyle(document.getElementById('rag-side-panels')).display,
                scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
                height: window.innerHeight}; }""")
    left, top, right, bottom = geometry["box"]
    assert geometry["boxOnTop"], f"something covers the question box: {geometry['hit']}"
    assert 0 <= left and right <= geometry["width"] and 0 <= top and bottom <= geometry["height"]
    if p.phone:
        assert not geometry["sidebarOpen"], "the sidebar must start closed on a phone"
        assert geometry["panels"] == "none", "on a phone the panels open as a sheet from an answer, not below the chat"
        assert geometry["scrollWidth"] <= geometry["width"] + 1, "the page scrolls sideways"
    else:
        assert geometry["sidebarOpen"] and abs(geometry["chatTop"] - geometry["panelsTop"]) < 5
    examples = page.locator("#rag-chat button.example")
    examples.first.wait_for(timeout=30_000)
    texts = examples.all_inner_texts()
    assert len(texts) == 3 and all(t.strip().endswith("?") for t in texts), texts
    assert not any(re.match(r"What is said about|Which documents mention", t.strip()) for t in texts), texts
    style = page.evaluate("() => { const s = getComputedStyle(document.querySelector('#rag-chat button.example'));"
                          " return [s.borderTopStyle, s.backgroundColor]; }")
    assert style[0] != "none" and style[1] not in ("rgba(0, 0, 0, 0)", "transparent"), style  # looks like a button
    p.press(examples.first)  # an example asks itself
    wait_for_answer(page)
    assert texts[0].strip() in page.locator("#rag-chat [data-testid=user]").last.inner_text()
    assert last_answer(page).locator("a.rag-cite").count() >= 1
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_inline_citation_opens_the_highlighted_quote_and_copy_is_plain_text(pages, view, app_settings, tmp_path):
    p = pages(view)
    page = p.open()
    panel_tops = "() => ['#rag-citations', '#rag-viewer', '#rag-sources-acc'].map(s => " \
                 "Math.round(document.querySelector(s).getBoundingClientRect().top + window.scrollY))"
    before = page.evaluate(panel_tops)
    p.ask(QUESTION)
    if p.phone:
        screenshot(page, tmp_path, "screenshot-phone.png")
    inline = last_answer(page).locator(".rag-answer > p a.rag-cite").first  # the [1] in the text itself
    assert inline.inner_text() == "[1]"
    p.press(inline)
    mark = page.locator("#rag-viewer mark.rag-hit")
    mark.wait_for(timeout=20_000)
    expected = ask(QUESTION, settings=app_settings)
    c = expected.citations[0]
    assert mark.inner_text() == document_text(app_settings.ingest.corpus_dir / c.source)[c.start:c.end]
    page.wait_for_function(  # in view, inside the viewer's box, and focused for the keyboard
        """() => { const m = document.querySelector('#rag-viewer mark.rag-hit');
                   const d = m.closest('.rag-doc').getBoundingClientRect(), r = m.getBoundingClientRect();
                   return document.activeElement === m && r.top >= d.top - 1 && r.top < d.bottom
                          && r.top >= 0 && r.top < window.innerHeight; }""", timeout=5_000)
    assert has_outline(page, "document.activeElement")
    assert c.source in page.locator("#rag-viewer .rag-viewer-head").inner_text()
    if not p.phone:  # the right column keeps its place: nothing jumps when answers and sources arrive
        assert page.evaluate(panel_tops) == before
        screenshot(page, tmp_path, "screenshot-desktop.png")

    if p.phone:  # the sheet's Close button takes the phone back to the chat
        p.press(page.locator("#rag-sheet-close"))
        page.wait_for_function("() => !document.documentElement.classList.contains('rag-sheet')", timeout=5_000)
    else:
        last_answer(page).hover()
    p.press(page.locator("#rag-chat button[aria-label='Copy message']").last)  # the last answer's
    page.wait_for_timeout(300)
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert clipboard == copy_text(expected), clipboard
    assert "<" not in clipboard and "**" not in clipboard and "rag-" not in clipboard
    assert clipboard.endswith(f"Sources:\n[1] {c.source} (chars {c.start}-{c.end})")

    # Like, then Dislike 30 ms later, while the first is being saved: both are kept (Gradio's
    # default drops an event sent while the last one is pending; a same-tick pair slips through).
    feedback = app_settings.store.index_dir / "feedback.jsonl"
    lines = lambda: feedback.read_text(encoding="utf-8").splitlines() if feedback.exists() else []  # noqa: E731
    had = len(lines())
    page.evaluate("""() => {
        const last = (label) => [...document.querySelectorAll(`#rag-chat button[aria-label="${label}"]`)].pop();
        const like = last("Like"), dislike = last("Dislike");
        like.click(); setTimeout(() => dislike.click(), 30);
    }""")
    for _ in range(100):  # bounded: 20 s
        if len(lines()) >= had + 2:
            break
        page.wait_for_timeout(200)
    assert [json.loads(x)["rating"] for x in lines()[had:]] == ["up", "down"]
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_reload_finds_the_conversation_which_can_be_reopened_and_deleted(pages, view):
    p = pages(view)
    page = p.open()
    p.ask(QUESTION)
    page.reload()
    page.locator("#rag-question textarea").wait_for(timeout=60_000)
    wait_for_answer(page)  # the conversation came back by itself
    assert QUESTION in page.locator("#rag-chat [data-testid=user]").first.inner_text()
    assert "2270" in last_answer(page).inner_text()
    p.press(last_answer(page).locator(".rag-answer > p a.rag-cite").first)  # and its citations still open
    page.locator("#rag-viewer mark.rag-hit").wait_for(timeout=20_000)
    if p.phone:  # back from the source sheet to the chat
        page.go_back()
        page.wait_for_function("() => !document.documentElement.classList.contains('rag-sheet')", timeout=5_000)

    p.sidebar()
    p.press(page.locator("#rag-new"))
    page.locator("#rag-chat button.example").first.wait_for(timeout=20_000)  # an empty chat again
    p.sidebar()
    saved = page.locator("#rag-history button.rag-conv-open", has_text=QUESTION[:30])
    assert saved.count() == 1
    p.press(saved)
    wait_for_answer(page)
    assert "2270" in last_answer(page).inner_text()

    p.sidebar()
    p.press(page.locator("#rag-history button.rag-conv-del").first)
    p.press(page.locator("#rag-history button.rag-conv-yes"))  # asked first, then deleted
    page.locator("#rag-history .rag-conv-none").wait_for(timeout=5_000)
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('rag-citations:conv:'))") == []
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_stop_a_streaming_answer_keeps_what_arrived(pages, view, fake):
    fake.release.clear()
    p = pages(view)
    page = p.open()
    p.sidebar()
    p.press(page.locator("#rag-sidebar label", has_text=re.compile(r"^\s*Model")))
    p.sidebar(open_=False) if p.phone else None
    box = page.locator("#rag-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_function("() => { const b = document.querySelectorAll('#rag-chat [data-testid=bot]');"
                           " return b.length && b[b.length - 1].innerText.includes('2270 and 2231'); }",
                           timeout=30_000)
    stop = page.locator("#rag-question .stop-button")
    assert stop.is_visible() and "sanctions" not in last_answer(page).inner_text()
    p.press(stop)
    page.locator("#rag-chat .rag-stopped").wait_for(timeout=10_000)
    fake.release.set()
    answer = last_answer(page).inner_text()
    assert "2270 and 2231" in answer and "sanctions" not in answer
    page.locator("#rag-question .submit-button").wait_for(timeout=10_000)  # Ask is back
    assert "Stopped" in page.locator("#rag-notice").inner_text()
    page.wait_for_timeout(1_500)  # the model's held-back sentence never arrives
    assert "sanctions" not in last_answer(page).inner_text()
    page.reload()  # the stopped answer was saved as stopped
    page.locator("#rag-chat .rag-stopped").wait_for(timeout=30_000)
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_too_long_question_keeps_its_text_with_the_reason_under_the_box(pages, view):
    p = pages(view)
    page = p.open()
    text = "Which resolutions " + "were cited " * 200
    box = page.locator("#rag-question textarea")
    box.fill(text)
    page.wait_for_function("() => document.getElementById('rag-counter').textContent.includes('over the 2,000 limit')",
                           timeout=5_000)
    assert page.locator("#rag-counter").inner_text().startswith(f"{len(text.strip()) - 2000:,} characters over")
    box.press("Enter")
    notice = page.locator("#rag-notice [role=alert]")
    notice.wait_for(timeout=20_000)
    assert "limit is 2,000" in notice.inner_text()
    # Laid out under the box at its full width, not squeezed into a narrow column.
    widths = page.evaluate("() => [document.querySelector('#rag-notice [role=alert]').getBoundingClientRect().width,"
                           " document.querySelector('#rag-question').getBoundingClientRect().width]")
    assert widths[0] >= 0.9 * widths[1], widths
    page.locator("#rag-question .submit-button").wait_for(timeout=10_000)
    assert box.input_value() == text  # kept, to shorten it
    assert page.locator("#rag-chat [data-testid=bot]").count() == 0  # never a chat answer
    assert p.outside == [] and p.errors == []


def test_keyboard_path_through_input_citation_viewer_and_back(pages):
    p = pages(DESKTOP)
    page = p.open()
    box = page.locator("#rag-question textarea")
    box.focus()
    assert has_outline(page, "document.querySelector('#rag-question textarea')")
    page.keyboard.type("Which UN Security Council resolutions were cited?")
    page.keyboard.press("Enter")
    wait_for_answer(page)
    box.focus()
    for _ in range(40):  # back from the box into the answer
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => !!document.activeElement.closest('#rag-chat') && "
                         "document.activeElement.matches('a.rag-cite')"):
            break
    else:
        pytest.fail("Shift+Tab from the question box never reached a citation link")
    assert has_outline(page, "document.activeElement")
    href = page.evaluate("() => document.activeElement.getAttribute('href')")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('mark.rag-hit')",
                           timeout=20_000)
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.matches('a.rag-back')"):
            break
    else:
        pytest.fail("no Close link (back to the answer) before the source text")
    page.keyboard.press("Enter")
    page.wait_for_function("h => document.activeElement.matches('#rag-chat a.rag-cite') && "
                           "document.activeElement.getAttribute('href') === h", arg=href, timeout=5_000)
    assert p.outside == [] and p.errors == []


@pytest.mark.parametrize("view", VIEWS)
def test_axe_finds_no_serious_or_critical_violations(pages, view):
    p = pages(view)
    page = p.open()
    p.ask(QUESTION)
    p.press(last_answer(page).locator(".rag-answer > p a.rag-cite").first)
    page.locator("#rag-viewer mark.rag-hit").wait_for(timeout=20_000)
    bad = axe_violations(page)
    assert bad == [], json.dumps(bad, indent=1)
    assert p.outside == []


def test_document_markup_is_shown_as_text_and_nothing_leaves_the_host(pages, server, app_settings, tmp_path):
    from gradio_client import Client, handle_file

    hostile = tmp_path / HOSTILE_NAME  # a legal file name on Linux
    hostile.write_text(HOSTILE_TEXT, encoding="utf-8")
    c = Client(server, verbose=False)
    status, *_ = c.predict([handle_file(str(hostile))], api_name="/upload")
    added = re.search(r"Added:</b> <code>([^<]*)</code>", status)
    assert added, status
    name = html.unescape(added.group(1))  # the plain name the app made of it (the client escapes some characters)
    assert name == safe_name(name) and "<" not in name and name.endswith("notes.txt")
    try:
        p = pages(DESKTOP)
        page = p.open()
        response = page.goto(p.server)
        csp = response.headers.get("content-security-policy", "")
        assert "img-src 'self' data: blob:" in csp and "connect-src 'self'" in csp
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        page.wait_for_function("() => window.rag", timeout=20_000)
        p.ask("Who approved the yak treaty?")
        p.press(last_answer(page).locator(".rag-answer > p a.rag-cite").first)
        page.locator("#rag-viewer mark.rag-hit").wait_for(timeout=20_000)
        shown = last_answer(page).inner_text() + page.locator("#rag-viewer").inner_text()
        assert "![t](http://example.com/t.png)" in shown and '<img src="http://example.com/x.png">' in shown
        assert "<script>window.pwned = 1</script>" in page.locator("#rag-viewer").inner_text()
        images = page.evaluate("() => [...document.querySelectorAll('img')].map(i => i.getAttribute('src'))")
        assert not [s for s in images if s and "example.com" in s], images
        assert page.evaluate("() => window.pwned") is None
        assert name in page.locator("#rag-viewer .rag-viewer-head").inner_text()  # the cleaned name, as text
        markup = page.content()
        for path in (app_settings.ingest.corpus_dir, app_settings.store.index_dir, REPO):
            assert str(path) not in markup, f"the page shows the server path {path}"
        assert p.outside == [], f"the page made outbound requests: {p.outside}"
        # And were markup ever to slip through, the policy would stop the fetch.
        blocked = page.evaluate("""() => new Promise(done => {
            document.addEventListener('securitypolicyviolation', e => done(e.blockedURI), {once: true});
            const img = new Image(); img.src = 'http://example.com/probe.png';
            setTimeout(() => done(null), 5000); })""")
        assert blocked == "http://example.com/probe.png"
        # The listener sees even a blocked attempt: so the empty list above means none was made.
        assert p.outside == ["http://example.com/probe.png"]
        p.outside.clear()
        # A Markdown file's headings become the passage's heading path, shown in the viewer.
        guide = tmp_path / "guide.md"
        guide.write_text("# Walrus guide\n\n## Install\n\nThe walrus installer needs the accord of 2044.\n")
        c.predict([handle_file(str(guide))], api_name="/upload")
        p.ask("What does the walrus installer need?")
        p.press(last_answer(page).locator(".rag-answer > p a.rag-cite").first)
        page.locator("#rag-viewer", has_text="guide.md").wait_for(timeout=20_000)
        assert "Walrus guide > Install" in page.locator("#rag-viewer .rag-heading-path").inner_text()
        assert p.outside == []
    finally:
        c.predict(name, api_name="/remove")
        c.predict("guide.md", api_name="/remove")


def test_corpus_tab_checks_before_upload_asks_before_removing_undoes_and_follows_other_sessions(
        pages, server, app_settings, tmp_path):
    from gradio_client import Client, handle_file

    p = pages(DESKTOP)
    page = p.open()
    p.press(page.get_by_role("tab", name="Corpus"))
    page.locator("#rag-files", has_text="000_6cae30295beecc41.txt").wait_for(timeout=20_000)
    listed = "() => [...document.querySelectorAll('#rag-files tbody tr')].map(r => r.innerText).filter(t => t.includes('.'))"
    n_files = len(page.evaluate(listed))

    p.press(page.locator("#rag-add"))  # nothing chosen: a message that stays, the table stays too
    status = page.locator("#rag-corpus-status [role=alert]")
    status.wait_for(timeout=10_000)
    assert "Choose one or more" in status.inner_text()
    page.wait_for_timeout(4_000)
    assert status.is_visible() and len(page.evaluate(listed)) == n_files

    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (21 * 1024 * 1024))
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    page.locator("#rag-upload input[type=file]").set_input_files([str(big), str(exe)])
    check = page.locator("#rag-upload-check[role=alert]")
    check.wait_for(timeout=10_000)
    text = check.inner_text()
    assert "big.txt: 21.0 MB, over the 20.0 MB limit" in text and "tool.exe: not a supported type" in text
    page.wait_for_timeout(4_000)
    assert check.is_visible() and "big.txt" in check.inner_text()  # persistent, not a toast

    name = "003_570d4b081ac06c31.txt"
    dropdown = page.locator("#rag-remove input")
    dropdown.click()
    dropdown.fill(name)
    dropdown.press("Enter")
    p.press(page.locator("#rag-remove-btn"))
    page.locator("#rag-confirm-yes").wait_for(state="visible", timeout=10_000)
    assert name in page.locator("#rag-confirm").first.inner_text()  # asked first
    assert (app_settings.ingest.corpus_dir / name).exists()
    p.press(page.locator("#rag-confirm-yes"))
    page.locator("#rag-corpus-status", has_text="Moved to the trash").wait_for(timeout=60_000)
    assert not (app_settings.ingest.corpus_dir / name).exists()
    page.wait_for_function("n => ![...document.querySelectorAll('#rag-files tbody tr')].some(r => "
                           "r.innerText.includes(n))", arg=name, timeout=10_000)
    p.press(page.locator("#rag-undo"))
    page.locator("#rag-corpus-status", has_text="Restored").wait_for(timeout=60_000)
    assert (app_settings.ingest.corpus_dir / name).exists()

    # Another session adds a file: this open page lists it without any click.
    other = tmp_path / "other-session.txt"
    other.write_text("The other session wrote about the walrus accord of 2044.\n")
    c = Client(server, verbose=False)
    c.predict([handle_file(str(other))], api_name="/upload")
    try:
        page.wait_for_function("() => document.querySelector('#rag-files').innerText.includes('other-session.txt')",
                               timeout=(REFRESH_SECONDS + 15) * 1000)
    finally:
        c.predict("other-session.txt", api_name="/remove")
    assert p.outside == [] and p.errors == []


def test_two_sessions_in_two_tabs_keep_their_own_conversations(pages):
    p = pages(DESKTOP)
    a = p.open()
    b = p.open(p.new_page())  # a second tab of the same browser: shared storage, own session
    p.ask(QUESTION, a)
    p.ask("Where is MCAS Futenma to be relocated?", b)
    a.reload()
    b.reload()
    for page, mine, theirs in ((a, "Security Council", "Futenma"), (b, "Futenma", "Security Council")):
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        wait_for_answer(page)
        users = page.locator("#rag-chat [data-testid=user]").all_inner_texts()
        assert len(users) == 1 and mine in users[0] and theirs not in users[0]
        page.wait_for_function("() => document.querySelectorAll('#rag-history li.rag-conv').length === 2",
                               timeout=10_000)  # both conversations are listed in both tabs
    assert p.outside == [] and p.errors == []


def test_reload_mid_stream_keeps_the_question_marked_unanswered(pages, fake):
    fake.release.clear()
    p = pages(DESKTOP)
    page = p.open()
    page.locator("#rag-sidebar label", has_text=re.compile(r"^\s*Model")).click()
    box = page.locator("#rag-question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_function("() => { const b = document.querySelectorAll('#rag-chat [data-testid=bot]');"
                           " return b.length && b[b.length - 1].innerText.includes('2270 and 2231'); }",
                           timeout=30_000)
    page.reload()
    page.locator("#rag-chat .rag-stopped").wait_for(timeout=30_000)
    fake.release.set()
    assert QUESTION in page.locator("#rag-chat [data-testid=user]").last.inner_text()
    assert "reloaded while this question was being answered" in last_answer(page).inner_text()
    page.locator("#rag-question .submit-button").wait_for(timeout=10_000)  # the page is usable again
    p.ask("Where is MCAS Futenma to be relocated?")
    assert "Futenma" in page.locator("#rag-chat [data-testid=user]").last.inner_text()
    assert p.outside == [] and p.errors == []


def test_the_sign_in_page_holds_nothing_of_the_corpus_until_sign_in(browser, app_settings):
    """Issue 17 rows 1 and 13: with RAG_UI_AUTH set, the page before sign-in (its
    HTML, its embedded config, everything it loads) names no corpus file; after
    signing in through the form, the Corpus tab lists them."""
    app = build_app(app_settings)
    _, url, _ = serve(app, "127.0.0.1", free_port(), auth=("alice", "pw-1717"), block=False, quiet=True)
    context = browser.new_context(**DESKTOP)
    try:
        page = context.new_page()
        responses: list = []
        failed: list[str] = []
        page.on("response", lambda r: responses.append(r))
        # Requests cut short by the reload after sign-in are not failures of the app.
        page.on("requestfailed", lambda r: failed.append(r.url) if "ABORTED" not in (r.failure or "") else None)
        page.goto(url)
        page.locator("input[type=password]").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        bodies = [page.content()]
        for r in list(responses):  # everything the sign-in page loaded, scripts and data included
            try:
                bodies.append(r.body().decode("utf-8", "replace"))
            except Exception:  # a redirect or a streamed response has no body to read
                pass
        names = [p.name for p in app_settings.ingest.corpus_dir.iterdir()]
        assert len(bodies) > 3 and not any(n in b for n in names for b in bodies)
        page.locator("input[type=text]").fill("alice")
        page.locator("input[type=password]").fill("pw-1717")
        page.keyboard.press("Enter")
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        page.get_by_role("tab", name="Corpus").click()
        page.locator("#rag-files", has_text="000_6cae30295beecc41.txt").wait_for(timeout=30_000)
        assert failed == []
    finally:
        context.close()
        app.close()
