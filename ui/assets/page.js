() => {
  // The browser side of the chat UI (passed to Gradio's launch(js=...)).
  // Server-rendered HTML stays the source of truth; this script only adds what
  // needs the browser: saved conversations (localStorage), citation clicks,
  // clean copy, the character counter, upload checks, and the layout: the drawer,
  // the source sheet, a chat that fills a phone's screen and new answers shown from
  // their start.
  // It never inserts server or document text as HTML (textContent only).
  const STORE = "rag-citations:conv:";   // localStorage: one record per conversation
  const ACTIVE = "rag-citations:active"; // sessionStorage: this tab's open conversation
  const $ = (sel, root = document) => root.querySelector(sel);
  const state = {inbox: null, outgoing: [], focusHit: null, focusUntil: 0, restored: false, requests: 0, sentAt: 0, retry: null};

  // -- bridges to the server (gr.HTML #rag-inbox / #rag-outbox, see ui/layout.py)
  const api = window.rag = {
    drain() {
      const queue = window.ragQueue || [];
      window.ragQueue = [];
      for (const [kind, value] of queue) {
        if (kind === "inbox") { state.inbox = value; flush(); }
        else if (kind === "outbox") onOutbox(value);
      }
    },
    send(message) { state.outgoing.push(message); flush(); },
    done() { state.sentAt = 0; flush(); },  // the server has answered the last request
  };
  // One request in flight at a time, so the server sees them in the order they were made
  // (two at once may arrive swapped). A request unanswered for 15 s no longer holds the rest.
  function flush() {
    if (!state.inbox || !state.outgoing.length) return;
    const wait = state.sentAt + 15000 - Date.now();
    if (state.sentAt && wait > 0) {  // one timer at most, however many requests wait
      if (!state.retry) state.retry = setTimeout(() => { state.retry = null; flush(); }, wait + 10);
      return;
    }
    state.sentAt = Date.now();
    state.inbox("select", {index: 0, value: JSON.stringify(state.outgoing.shift())});
  }
  function onOutbox(value) {
    let m = null;
    try { m = JSON.parse(value); } catch (e) { return; }
    if (!m) return;
    if (m.op === "save" && m.record && m.record.id) save(m.record);
    else if (m.op === "active") {
      if (m.id) sessionStorage.setItem(ACTIVE, m.id); else sessionStorage.removeItem(ACTIVE);
      renderHistory();
    }
  }

  // -- saved conversations -------------------------------------------------------
  function records() {
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(STORE)) continue;
      try {
        const r = JSON.parse(localStorage.getItem(key));
        if (r && r.id && Array.isArray(r.turns)) out.push(r);
      } catch (e) { /* a damaged entry is skipped */ }
    }
    return out.sort((a, b) => (b.updated || 0) - (a.updated || 0));
  }
  function save(record) {
    const text = JSON.stringify(record);
    for (let attempt = 0; attempt < 20; attempt++) {
      try { localStorage.setItem(STORE + record.id, text); break; }
      catch (e) {  // storage full: drop the oldest other conversation and retry
        const old = records().filter(r => r.id !== record.id).pop();
        if (!old) break;
        localStorage.removeItem(STORE + old.id);
      }
    }
    sessionStorage.setItem(ACTIVE, record.id);
    renderHistory();
  }
  function openConversation(id) {
    let record = null;
    try { record = JSON.parse(localStorage.getItem(STORE + id)); } catch (e) { /* gone or damaged */ }
    if (!record) { renderHistory(); return; }
    const stop = $("#rag-question .stop-button");
    if (stop) stop.click();
    sessionStorage.setItem(ACTIVE, id);
    api.send({kind: "open", record});
    renderHistory();
  }
  function deleteConversation(id) {
    localStorage.removeItem(STORE + id);
    if (sessionStorage.getItem(ACTIVE) === id) {
      sessionStorage.removeItem(ACTIVE);
      api.send({kind: "new"});
    }
    renderHistory();
  }
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") node.textContent = v;
      else if (k === "on") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }
  function renderHistory() {
    const list = document.getElementById("rag-history");
    if (!list) return;
    const active = sessionStorage.getItem(ACTIVE);
    const items = records().map(r => {
      const title = r.title || "Conversation";
      const when = new Date((r.updated || r.created || 0) * 1000);
      const open = el("button", {type: "button", class: "rag-conv-open", title: title,
                                 on: () => { openConversation(r.id); closeSidebarOnPhone(); }},
                      el("span", {class: "rag-conv-title", text: title}),
                      el("span", {class: "rag-conv-when", text: when.toLocaleString()}));
      if (r.id === active) open.setAttribute("aria-current", "true");
      const li = el("li", {class: "rag-conv" + (r.id === active ? " rag-active" : "")}, open);
      const del = el("button", {type: "button", class: "rag-conv-del", "aria-label": `Delete “${title}”`,
                                title: "Delete this conversation", text: "×"});
      del.addEventListener("click", () => {  // ask first, in place
        const yes = el("button", {type: "button", class: "rag-conv-yes", text: "Delete",
                                  on: () => deleteConversation(r.id)});
        const no = el("button", {type: "button", class: "rag-conv-no", text: "Keep", on: () => renderHistory()});
        li.replaceChildren(el("span", {class: "rag-conv-ask", text: `Delete “${title}”?`}), yes, no);
        no.focus();
      });
      li.append(del);
      return li;
    });
    list.replaceChildren(...(items.length ? items
      : [el("li", {class: "rag-muted rag-conv-none", text: "No saved conversations yet."})]));
  }
  window.addEventListener("storage", (ev) => {  // another tab saved or deleted one
    if (!ev.key || ev.key.startsWith(STORE)) renderHistory();
  });

  // -- citations and details: a sheet over the chat on a phone, the right column on a desktop
  // [n] opens the quote in the viewer; "Retrieved passages and answer details" opens that
  // answer's panels. Close, Escape and the browser's Back close it again, focus goes back
  // to the link that opened it.
  const narrow = () => window.matchMedia("(max-width: 768px)").matches;
  const markNarrow = () => document.documentElement.classList.toggle("rag-narrow", narrow());  // see page.css
  markNarrow();
  const sheet = {open: false, mode: null, opener: null, wait: null, waitUntil: 0};
  function setSheetClasses(mode) {
    const root = document.documentElement;
    root.classList.remove("rag-sheet", "rag-sheet-source", "rag-sheet-details", "rag-sheet-wait");
    if (!mode) return;
    root.classList.add("rag-sheet-" + mode);
    if (narrow()) root.classList.add("rag-sheet");
    const title = document.getElementById("rag-sheet-title");
    if (title) title.textContent = mode === "source" ? "Source" : "Sources and answer details";
  }
  function openSheet(mode, opener, wait) {
    sheet.opener = opener;
    sheet.mode = mode;
    setSheetClasses(mode);
    if (wait) {  // the new source is on its way: keep the old one hidden until it arrives
      sheet.wait = wait; sheet.waitUntil = Date.now() + 15000;
      if (narrow()) document.documentElement.classList.add("rag-sheet-wait");
    }
    if (!sheet.open) history.pushState({ragSheet: true}, "");  // so Back closes it
    sheet.open = true;
    if (mode === "details") {
      if (narrow()) document.getElementById("rag-sheet-close")?.focus();
      else { const acc = document.getElementById("rag-sources-acc"); acc?.scrollIntoView({block: "nearest"}); }
    }
  }
  function closeSheet(fromHistory = false) {
    if (!sheet.open) return;
    if (!fromHistory && history.state && history.state.ragSheet) { history.back(); return; }  // popstate comes back here
    sheet.open = false;
    sheet.wait = null;
    if (sheet.mode === "source") api.send({kind: "close"});  // the viewer shows its placeholder again
    setSheetClasses(null);
    const opener = sheet.opener && sheet.opener.isConnected ? sheet.opener
      : sheet.opener && $(`#rag-chat a[href="${sheet.opener.getAttribute("href")}"]`);
    if (opener) { opener.scrollIntoView({block: "nearest"}); opener.focus({preventScroll: true}); }
  }
  window.addEventListener("popstate", () => closeSheet(true));
  function sheetArrived() {  // called on every DOM change
    if (!sheet.wait) return;
    const viewer = document.getElementById("rag-viewer");
    if (!viewer) return;
    if ($(sheet.wait, viewer) || $(".rag-notice", viewer) || Date.now() > sheet.waitUntil) {
      sheet.wait = null;
      document.documentElement.classList.remove("rag-sheet-wait");
    }
  }
  document.addEventListener("click", (ev) => {
    if (ev.target.closest && ev.target.closest("#rag-sheet-close")) { ev.preventDefault(); closeSheet(); return; }
    const link = ev.target.closest && ev.target.closest("a.rag-cite, a.rag-back, a.rag-more");
    if (!link) return;
    const m = /^#rag-(cite|back|more)-(\d+)(?:-(\d+))?$/.exec(link.getAttribute("href") || "");
    if (!m) return;
    ev.preventDefault();
    ev.stopPropagation();  // not also a click on the chat message
    if (m[1] === "cite" && m[3]) {
      // The view this click asks for: its Close link carries this number, so a view of the same
      // citation still on screen (a close not yet answered) is not taken for it.
      const req = ++state.requests;
      const wanted = `a.rag-back[href="#rag-back-${m[2]}-${m[3]}"][data-rag-req="${req}"]`;
      state.focusHit = wanted;  // focus the quote once this view is in the viewer
      state.focusUntil = Date.now() + 10000;
      const opener = link.closest("#rag-chat") ? link : (sheet.open && sheet.opener) || link;
      openSheet("source", opener, wanted);
      api.send({kind: "cite", turn: +m[2], marker: +m[3], req});
    } else if (m[1] === "more") {
      openSheet("details", link);
      api.send({kind: "more", turn: +m[2]});
    } else if (sheet.open) {
      closeSheet();
    } else {  // a viewer left open by another page state: just go back to the answer
      const back = $(`#rag-chat a.rag-cite[href="#rag-cite-${m[2]}-${m[3]}"]`);
      if (back) { back.scrollIntoView({block: "center"}); back.focus(); }
    }
  }, true);
  const seenHits = new WeakSet();
  function showHits() {
    const viewer = document.getElementById("rag-viewer");
    const mark = viewer && $("mark.rag-hit", viewer);
    if (!mark) return;
    const box = mark.closest(".rag-doc");
    if (box && !seenHits.has(mark)) {  // a new source: scroll the viewer's own box (not the page) to the quote
      seenHits.add(mark);
      const top = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = Math.max(0, top - box.clientHeight / 4);
    }
    if (state.focusHit && $(state.focusHit, viewer)) {
      // The citation the user asked for has arrived (perhaps the same one again): show it, focus the quote.
      const r = viewer.getBoundingClientRect();
      if (!narrow() && (r.top < 0 || r.bottom > window.innerHeight)) viewer.scrollIntoView({block: "start"});
      mark.focus({preventScroll: true});
      // Gradio keeps an updating component hidden for a moment: try again on the next change until it takes.
      if (document.activeElement === mark || Date.now() > state.focusUntil) state.focusHit = null;
      else setTimeout(onChange, 100);
    }
  }

  // -- copy: clean text instead of the bubble's HTML ----------------------------------
  function cleanCopy(text) {
    if (typeof text !== "string" || !text.includes("rag-copytext")) return null;
    const doc = new DOMParser().parseFromString(text, "text/html");  // inert: loads and runs nothing
    const node = doc.querySelector(".rag-copytext");
    return node ? node.textContent : null;
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(cleanCopy(text) ?? text);
  }
  document.addEventListener("copy", (ev) => {  // the fallback path without a secure context
    const node = document.activeElement;
    const clean = node && node.tagName === "TEXTAREA" ? cleanCopy(node.value) : null;
    if (clean !== null && ev.clipboardData) { ev.clipboardData.setData("text/plain", clean); ev.preventDefault(); }
  }, true);

  // -- the question box: counter, described-by, Escape stops --------------------------
  function counter() {
    const box = $("#rag-question textarea");
    const out = document.getElementById("rag-counter");
    if (!box || !out) return;
    if (!box.hasAttribute("aria-describedby")) box.setAttribute("aria-describedby", "rag-counter rag-notice");
    const max = +out.dataset.max || 2000;
    const n = box.value.trim().length;
    let text = "", cls = "";
    if (n > max) { text = `${(n - max).toLocaleString()} characters over the ${max.toLocaleString()} limit`; cls = "rag-over"; }
    else if (n >= max * 0.8) { text = `${n.toLocaleString()} / ${max.toLocaleString()} characters`; cls = "rag-near"; }
    if (out.textContent !== text) out.textContent = text;
    if (out.className !== cls) out.className = cls;
  }
  document.addEventListener("input", (ev) => {
    if (ev.target.closest && ev.target.closest("#rag-question")) counter();
  }, true);
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape" || !ev.target.closest) return;
    const stop = $("#rag-question .stop-button");
    if (ev.target.closest("#rag-question") && stop) { ev.preventDefault(); stop.click(); return; }
    if (drawerOpen() && (narrow() || ev.target.closest("#rag-sidebar"))) { ev.preventDefault(); closeDrawer(); return; }
    if (sheet.open && (narrow() || ev.target.closest("#rag-side-panels"))) { ev.preventDefault(); closeSheet(); }
  }, true);

  // -- upload checks before anything is sent ----------------------------------------
  function size(n) { return n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`; }
  function checkFiles(files) {
    const box = document.getElementById("rag-upload-check");
    if (!box || !files) return;
    const max = +box.dataset.maxBytes, types = (box.dataset.types || "").split(" ");
    const bad = [], good = [];
    for (const f of files) {
      const ext = ((f.name.match(/\.[^.]+$/) || [""])[0]).toLowerCase();
      if (!types.includes(ext)) bad.push(`${f.name}: not a supported type (use ${types.join(" ")})`);
      else if (f.size > max) bad.push(`${f.name}: ${size(f.size)}, over the ${size(max)} limit`);
      else good.push(f.name);
    }
    const lines = bad.length ? [el("p", {text: "Not added:"}), el("ul", {}, ...bad.map(t => el("li", {text: t})))] : [];
    if (good.length) lines.push(el("p", {text: `Ready: ${good.join(", ")}. Press “Add to corpus and index”.`}));
    box.replaceChildren(...lines);
    box.className = bad.length ? "rag-status rag-error" : good.length ? "rag-status rag-info" : "";
    box.setAttribute("role", bad.length ? "alert" : "status");
  }
  document.addEventListener("change", (ev) => {
    if (ev.target.matches && ev.target.matches("#rag-upload input[type=file]")) checkFiles(ev.target.files);
  }, true);
  document.addEventListener("drop", (ev) => {
    if (ev.target.closest && ev.target.closest("#rag-upload") && ev.dataTransfer) checkFiles(ev.dataTransfer.files);
  }, true);

  // -- the drawer (conversations and settings) ------------------------------------------
  // Closed at first on a phone, open on a desktop. Its toggle says what it will do; on a
  // phone it covers the page: a tap outside or Escape closes it, Tab stays inside it, and
  // focus goes back to the toggle.
  function sidebar() { return document.getElementById("rag-sidebar"); }
  function sidebarToggle() { return $("#rag-sidebar .toggle-button"); }
  function drawerOpen() { const s = sidebar(); return !!s && s.classList.contains("open"); }
  function closeDrawer() { if (drawerOpen()) { sidebarToggle()?.click(); sidebarToggle()?.focus(); } }
  function closeSidebarOnPhone() { if (narrow() && drawerOpen()) sidebarToggle()?.click(); }
  function openSidebarOnDesktop() { if (!narrow() && !drawerOpen()) sidebarToggle()?.click(); }
  let wasOpen = null;
  function drawerChanged() {
    const t = sidebarToggle();
    if (!t) return;
    const open = drawerOpen();
    const label = open ? "Close conversations and settings" : "Open conversations and settings";
    if (t.getAttribute("aria-label") !== label) t.setAttribute("aria-label", label);
    if (t.getAttribute("aria-expanded") !== String(open)) t.setAttribute("aria-expanded", String(open));
    t.setAttribute("aria-controls", "rag-sidebar");
    document.documentElement.classList.toggle("rag-drawer", open && narrow());
    if (wasOpen !== null && open !== wasOpen) {
      if (open && narrow()) setTimeout(() => document.getElementById("rag-new")?.focus(), 50);
      else if (!open && document.activeElement && (document.activeElement === document.body
               || document.activeElement.closest("#rag-sidebar"))) t.focus();
    }
    wasOpen = open;
  }
  const backdrop = el("div", {id: "rag-backdrop", "aria-hidden": "true"});
  backdrop.addEventListener("click", () => closeDrawer());
  document.body.append(backdrop);
  document.addEventListener("keydown", (ev) => {  // a modal drawer keeps Tab inside it
    if (ev.key !== "Tab" || !narrow() || !drawerOpen()) return;
    const items = [...sidebar().querySelectorAll("button, [href], input, select, textarea, [tabindex]:not([tabindex='-1'])")]
      .filter(n => !n.disabled && n.getClientRects().length);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (!sidebar().contains(document.activeElement)) { ev.preventDefault(); first.focus(); }
    else if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  }, true);

  // -- a phone's chat fills the screen, the question box at the bottom ----------------------
  // The conversation gets the height left between the header and the box within the
  // visible viewport (which shrinks when the on-screen keyboard opens), so the page
  // itself never scrolls on the chat tab: one scroll, the conversation's.
  function onChatTab() { const c = document.getElementById("rag-chat-col"); return !!c && c.offsetParent !== null; }
  function fitChat() {
    const root = document.documentElement;
    const chatTab = onChatTab();
    root.classList.toggle("rag-on-chat", chatTab);
    const chat = document.getElementById("rag-chat"), col = document.getElementById("rag-chat-col");
    const vv = window.visualViewport;
    const height = vv ? vv.height : window.innerHeight;
    root.style.setProperty("--rag-vh", `${Math.round(height)}px`);
    if (!chat || !col || !narrow() || !chatTab) { root.style.removeProperty("--rag-chat-h"); return; }
    const gap = 8;  // under the question box
    const top = chat.getBoundingClientRect().top + window.scrollY;
    const below = col.getBoundingClientRect().bottom - chat.getBoundingClientRect().bottom;
    const want = `${Math.max(140, Math.floor(height - top - below - gap))}px`;
    if (root.style.getPropertyValue("--rag-chat-h") !== want) root.style.setProperty("--rag-chat-h", want);
    if (window.scrollY && !(vv && vv.offsetTop)) window.scrollTo(0, 0);
  }

  // -- a new question and its answer are shown from their start -----------------------------
  // (Gradio's autoscroll is off: it would scroll to the bottom, past a long answer's start.)
  let followed = "";
  function followAnswer() {
    const wrap = $("#rag-chat .bubble-wrap");
    if (!wrap) return;
    const users = wrap.querySelectorAll("[data-testid=user]");
    const bots = wrap.querySelectorAll("[data-testid=bot]");
    const last = bots.length && bots[bots.length - 1];
    const key = `${users.length}:${bots.length}:${last && last.querySelector(".rag-copytext") ? "final" : "live"}`;
    if (key === followed) return;
    followed = key;
    if (!users.length) return;
    const q = users[users.length - 1].closest(".message-row") || users[users.length - 1];
    const top = (node) => node.getBoundingClientRect().top - wrap.getBoundingClientRect().top + wrap.scrollTop;
    let target = top(q) - 34;  // under Gradio's "Clear" icon
    const a = last && (last.closest(".message-row") || last);
    if (a && top(a) > top(q)) target = Math.max(target, top(a) - wrap.clientHeight / 2);  // a long question
    wrap.scrollTop = Math.max(0, target);
  }

  // -- Gradio's message labels repeat the raw HTML: label by visible text instead ------
  function labelMessages() {
    for (const node of document.querySelectorAll("#rag-chat [data-testid=bot][aria-label], #rag-chat [data-testid=user][aria-label]")) {
      const label = node.getAttribute("aria-label");
      if (label && label.includes("<")) node.removeAttribute("aria-label");
    }
  }
  function clearReadyNote() {
    const box = document.getElementById("rag-upload-check");
    const upload = $("#rag-upload");
    if (box && box.classList.contains("rag-info") && upload && !upload.querySelector("table, .file-preview, li")) {
      box.replaceChildren(); box.className = "";
    }
  }

  // -- start ---------------------------------------------------------------------
  let scheduled = false;
  function onChange() {
    scheduled = false;
    sheetArrived(); showHits(); labelMessages(); drawerChanged(); clearReadyNote(); fitChat(); followAnswer();
  }
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(onChange);
  });
  const started = Date.now();
  const boot = setInterval(() => {
    const ready = $("#rag-question textarea") && sidebarToggle() && document.getElementById("rag-history");
    if (!ready && Date.now() - started < 15000) return;
    clearInterval(boot);
    closeSidebarOnPhone();
    openSidebarOnDesktop();
    renderHistory();
    drawerChanged();
    observer.observe(document.body, {childList: true, subtree: true});
    if (sidebar()) observer.observe(sidebar(), {attributes: true, attributeFilter: ["class"]});
    const sized = new ResizeObserver(() => fitChat());
    for (const id of ["rag-header", "rag-question", "rag-input-foot"]) {
      const node = document.getElementById(id);
      if (node) sized.observe(node);
    }
    window.addEventListener("resize", () => { markNarrow(); fitChat(); if (!narrow()) setSheetClasses(sheet.open ? sheet.mode : null); drawerChanged(); });
    if (window.visualViewport) window.visualViewport.addEventListener("resize", fitChat);
    fitChat();
    setInterval(counter, 400);  // the server clears the box without an input event
    const active = sessionStorage.getItem(ACTIVE);
    if (active && !state.restored) { state.restored = true; openConversation(active); }  // a reload keeps the chat
    api.drain();
  }, 30);
}
