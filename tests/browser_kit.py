"""What the browser tests share: the app on a seeds copy with a real index,
a scripted model, headless Chromium (Debian's, driven by Playwright for Python;
no browser is downloaded), a page wrapper that records requests leaving the
host, and helpers (waiting for answers, screenshots, axe-core, overflow).

Imported by tests/test_ui_browser.py and tests/test_ui_layout.py; each module
gets its own server (the fixtures are module-scoped).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import ui  # noqa: F401  (sets the offline environment before gradio is imported)
from fake_openai import FakeOpenAI, Reply, cite, question_in
from rag import Settings
from ui.app import build_app, serve

from conftest import free_port, indexed_seeds_copy

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = REPO / ".test-deps" / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "Which UN Security Council resolutions were cited?"
LONG_QUESTION = "Which UN Security Council resolutions were cited, one by one?"  # answered in 12 paragraphs
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
VIEWS = [pytest.param(DESKTOP, id="desktop-1366x900"), pytest.param(PHONE, id="phone-390x844")]
HOSTILE_NAME = '<img src=x onerror="window.pwned=1">notes.txt'  # plain text: the loader keeps markup as is
HOSTILE_TEXT = ("Zebra notes\n\nThe zebra committee of Ulaanbaatar approved the yak treaty in 2031 "
                '![t](http://example.com/t.png) <img src="http://example.com/x.png"> '
                "<script>window.pwned = 1</script>.\n")

# The answer to LONG_QUESTION, 12 paragraphs of (a word of the cited passage, two sentences).
# Every sentence is distinct and supported by its passage: the answer keeps all of them
# (it drops a repeated sentence and one its citation does not support).
LONG_ANSWER = [
    ("2270", "The resolutions cited were 2270 and 2231 [{n}]. "
             "Resolutions 2270 and 2231 imposed robust and comprehensive sanctions on North Korea [{n}]."),
    ("2270", "Those sanctions are meant to inhibit North Korea's campaign to develop operational nuclear "
             "and missile capabilities [{n}]. The Secretary said they intend to continue their coordination on "
             "implementing Resolutions 2270 and 2231 [{n}]."),
    ("Trilateral cooperation allows", "The Secretary discussed the priority of expanding trilateral cooperation "
             "with the Republic of Korea [{n}]. Trilateral cooperation allows the three nations to coordinate "
             "actions on major regional and global problems [{n}]."),
    ("Trilateral cooperation allows", "It also lets them more effectively counter the threats posed by North "
             "Korea [{n}]. The Trump Administration gives that cooperation priority [{n}]."),
    ("said Secretary Tillerson, intends", "Secretary Tillerson said the United States intends to continue its "
             "coordination on Resolutions 2270 and 2231 [{n}]. Expanding U.S. trilateral cooperation with Japan "
             "and the Republic of Korea remains a priority [{n}]."),
    ("said Secretary Tillerson, intends", "The three nations will coordinate actions on major regional and "
             "global problems [{n}]. They will more effectively counter the threats posed by North Korea [{n}]."),
    ("relevant United Nations Security Council", "Japan and the United States shared the recognition that "
             "North Korea's nuclear and missile development programs are totally unacceptable [{n}]. "
             "Japan, the United States and the ROK will coordinate to urge North Korea to exercise "
             "self-restraint [{n}]."),
    ("relevant United Nations Security Council", "North Korea is urged to refrain from provocative actions "
             "[{n}]. It is urged to comply with the relevant United Nations Security Council resolutions [{n}]."),
    ("relevant United Nations Security Council", "The two sides also discussed the importance of China's role "
             "[{n}]. They confirmed the importance of cooperation among Japan, the United States and the ROK, "
             "including on security [{n}]."),
    ("December 12 launch", "The two diplomats discussed their joint commitment to strong action by the United "
             "Nations Security Council [{n}]. That action answers North Korea's December 12 launch using "
             "ballistic missile technology [{n}]."),
    ("December 12 launch", "Secretary Clinton reiterated U.S. support for Japan's efforts [{n}]. Those efforts "
             "seek to return Japanese citizens who have been abducted by North Korea [{n}]."),
    ("2270", "In short, the cited resolutions are UN Security Council Resolutions 2270 and 2231 [{n}]. Both "
             "imposed sanctions on North Korea over its nuclear and missile capabilities [{n}]."),
]


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    """A writable copy of seeds/ and a real MiniLM + Chroma index, both in tmp."""
    return indexed_seeds_copy(tmp_path_factory.mktemp("ui-browser"))


@pytest.fixture(scope="module")
def fake():
    """A model that streams its first sentence, then holds the rest until released;
    :data:`LONG_QUESTION` gets a long answer (taller than a phone's screen) at once."""
    with FakeOpenAI() as f:
        def reply(request):
            n = cite(request, "2270")
            if LONG_QUESTION in question_in(request):
                return Reply("\n\n".join(text.format(n=cite(request, word)) for word, text in LONG_ANSWER))
            # A sentence is shown once the next one starts: " They" releases the first.
            chunks = ["The resolutions cited were", " 2270 and 2231", f" [{n}].", " They", " imposed", f" sanctions [{n}]."]
            return Reply("".join(chunks), chunks=chunks, pause_after=4)

        f.handler = reply
        yield f


@pytest.fixture(scope="module")
def server(app_settings, fake):
    settings = app_settings.replace(llm_base_url=fake.url, llm_api_key="test", llm_max_retries=0)
    app = build_app(settings)
    _, url, _ = serve(app, "127.0.0.1", free_port(), block=False, quiet=True)
    yield url
    fake.release.set()
    app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get update && apt-get install -y chromium`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: pip install -e '.[test]' (it drives the system Chromium)")
    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env={**os.environ, "HOME": str(home)})
        yield b
        b.close()


class Page:
    """A fresh browser context (own storage) with one page on the app, recording
    every request that does not go to the app itself."""

    def __init__(self, browser, server: str, view: dict) -> None:
        self.server = server
        self.view = view
        self.context = browser.new_context(**view)
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.rstrip("/"))
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.page = self.new_page()

    def new_page(self):
        page = self.context.new_page()
        page.on("request", lambda r: self.outside.append(r.url)
                if not r.url.startswith((self.server, "data:", "blob:")) else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    @property
    def phone(self) -> bool:
        return self.view is PHONE

    def open(self, page=None):
        page = page or self.page
        page.goto(self.server)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        # The page script has started (it closes the sidebar on phones, renders saved conversations).
        page.wait_for_function("() => window.rag && document.querySelector('#rag-history li')", timeout=20_000)
        # The sidebar settles: closed on a phone, open on the desktop, its slide finished.
        page.wait_for_function("o => document.querySelector('#rag-sidebar').classList.contains('open') === o",
                               arg=not self.phone, timeout=5_000)
        page.wait_for_timeout(500)
        return page

    def press(self, locator) -> None:
        """A tap on the phone, a click on the desktop."""
        locator.tap() if self.phone else locator.click()

    def ask(self, question: str, page=None) -> None:
        page = page or self.page
        box = page.locator("#rag-question textarea")
        asked = page.locator("#rag-chat [data-testid=user]").count()
        box.fill(question)
        box.press("Enter")
        page.wait_for_function("n => document.querySelectorAll('#rag-chat [data-testid=user]').length > n",
                               arg=asked, timeout=30_000)
        wait_for_answer(page)

    def sidebar(self, page=None, open_: bool = True) -> None:
        """Open (or close) the sidebar; on the desktop it is open already."""
        page = page or self.page
        if page.evaluate("() => document.querySelector('#rag-sidebar').classList.contains('open')") != open_:
            self.press(page.locator("#rag-sidebar .toggle-button"))
            page.wait_for_function("o => document.querySelector('#rag-sidebar').classList.contains('open') === o",
                                   arg=open_, timeout=5_000)
            page.wait_for_timeout(400)  # the slide-in transition

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def pages(browser, server):
    opened: list[Page] = []

    def make(view: dict) -> Page:
        p = Page(browser, server, view)
        opened.append(p)
        return p

    yield make
    for p in opened:
        p.close()


def wait_for_answer(page, timeout: int = 60_000) -> None:
    """Until the last answer is final (it carries its copy text) and Ask is back."""
    page.wait_for_function(
        """() => { const bots = document.querySelectorAll('#rag-chat [data-testid=bot]');
                   return bots.length && bots[bots.length - 1].querySelector('.rag-copytext')
                          && !document.querySelector('#rag-question .stop-button'); }""", timeout=timeout)


def last_answer(page):
    return page.locator("#rag-chat [data-testid=bot]").last


def screenshot(page, tmp_path: Path, name: str, keep: bool = True) -> None:
    """Take a screenshot; with ``RAG_UI_SCREENSHOT_DIR`` set (and ``keep``), also save it there."""
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    if keep and os.environ.get("RAG_UI_SCREENSHOT_DIR"):
        shutil.copyfile(shot, Path(os.environ["RAG_UI_SCREENSHOT_DIR"]) / name)


def has_outline(page, selector_js: str) -> bool:
    """Is the element's focus outline drawn (style not none, at least 2 px)?"""
    return page.evaluate(f"""() => {{ const e = {selector_js}; if (!e) return false;
        const s = getComputedStyle(e); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }}""")




def overflowing(page) -> dict:
    """Every element (with a size) that reaches past either side of the viewport, even
    inside a box that would scroll it, and the page's scroll width."""
    return page.evaluate("""() => {
        const W = window.innerWidth, bad = [];
        for (const e of document.querySelectorAll('body *')) {
            const r = e.getBoundingClientRect();
            if (r.width && r.height && (r.left < -1 || r.right > W + 1))
                bad.push(`${e.tagName.toLowerCase()}#${e.id}.${String(e.className).slice(0, 50)} `
                         + `[${Math.round(r.left)}, ${Math.round(r.right)}]`);
        }
        return {bad: bad.slice(0, 10), scrollWidth: document.documentElement.scrollWidth, width: W}; }""")


def assert_no_overflow(page, where: str) -> None:
    got = overflowing(page)
    assert got["bad"] == [] and got["scrollWidth"] <= got["width"] + 1, f"{where}: {got}"


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing at {AXE}: tests/run.sh installs it (npm install --prefix .test-deps axe-core)")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    violations = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '')).slice(0, 5)}))""")
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def choose_model(p: "Page") -> None:
    """Switch the answerer to the (scripted) model in the drawer, then close it on a phone."""
    p.sidebar()
    p.press(p.page.locator("#rag-sidebar label", has_text=re.compile(r"^\s*Model")))
    if p.phone:
        p.sidebar(open_=False)
