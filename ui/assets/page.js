() => {
  // The browser side of the chat UI (passed to Gradio's launch(js=...)).
  // Server-rendered HTML stays the source of truth; this script only adds what
  // needs the browser: saved conversations (localStorage), citation clicks,
  // clean copy, the character counter, the phone layout and upload checks.
  // It never inserts server or document text as HTML (textContent only).
  const STORE = "rag-citations:conv:";   // localStorage: one record per conversation
  const ACTIVE = "rag-citations:active"; // sessionStorage: this tab's open conversation
  const $ = (sel, root = document) => root.querySelector(sel);
  const state = {inbox: null, outgoing: [], focusHit: false, restored: false};

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
  };
  function flush() {
    while (state.inbox && state.outgoing.length) {
      state.inbox("select", {index: 0, value: JSON.stringify(state.outgoing.shift())});
    }
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

  // -- citations: [n] links open the source viewer ----------------------------------
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest && ev.target.closest("a.rag-cite, a.rag-back");
    if (!link) return;
    const m = /^#rag-(cite|back)-(\d+)-(\d+)$/.exec(link.getAttribute("href") || "");
    if (!m) return;
    ev.preventDefault();
    ev.stopPropagation();  // not also a click on the chat message
    if (m[1] === "cite") {
      state.focusHit = true;
      api.send({kind: "cite", turn: +m[2], marker: +m[3]});
    } else {
      const back = $(`#rag-chat a.rag-cite[href="#rag-cite-${m[2]}-${m[3]}"]`);
      if (back) { back.scrollIntoView({block: "center"}); back.focus(); }
    }
  }, true);
  const seenHits = new WeakSet();
  function showHits() {
    for (const mark of document.querySelectorAll("#rag-viewer mark.rag-hit")) {
      if (seenHits.has(mark)) continue;
      seenHits.add(mark);
      const box = mark.closest(".rag-doc");
      if (box) {  // scroll the viewer's own box, not the page
        const top = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
        box.scrollTop = Math.max(0, top - box.clientHeight / 4);
      }
      if (state.focusHit) {  // the user asked for it: bring it into view and move focus there
        state.focusHit = false;
        const viewer = document.getElementById("rag-viewer");
        const r = viewer.getBoundingClientRect();
        if (r.top < 0 || r.bottom > window.innerHeight) viewer.scrollIntoView({block: "start"});
        mark.focus({preventScroll: true});
      }
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
    if (ev.key === "Escape" && ev.target.closest && ev.target.closest("#rag-question")) {
      const stop = $("#rag-question .stop-button");
      if (stop) { ev.preventDefault(); stop.click(); }
    }
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

  // -- phone layout: the sidebar starts closed, the chat comes first -------------------
  const narrow = () => window.matchMedia("(max-width: 767px)").matches;
  function sidebarToggle() { return $("#rag-sidebar .toggle-button") || $(".sidebar .toggle-button"); }
  function sidebarOpen() { const s = $("#rag-sidebar") || $(".sidebar"); return !!s && s.classList.contains("open"); }
  function closeSidebarOnPhone() { if (narrow() && sidebarOpen()) sidebarToggle()?.click(); }
  function openSidebarOnDesktop() { if (!narrow() && !sidebarOpen()) sidebarToggle()?.click(); }
  function labelToggle() {
    const t = sidebarToggle();
    if (!t) return;
    const label = sidebarOpen() ? "Close conversations and settings" : "Open conversations and settings";
    if (t.getAttribute("aria-label") !== label) t.setAttribute("aria-label", label);
    const expanded = String(sidebarOpen());
    if (t.getAttribute("aria-expanded") !== expanded) t.setAttribute("aria-expanded", expanded);
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
  const observer = new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; showHits(); labelMessages(); labelToggle(); clearReadyNote(); });
  });
  const started = Date.now();
  const boot = setInterval(() => {
    const ready = $("#rag-question textarea") && sidebarToggle() && document.getElementById("rag-history");
    if (!ready && Date.now() - started < 15000) return;
    clearInterval(boot);
    closeSidebarOnPhone();
    openSidebarOnDesktop();
    renderHistory();
    labelToggle();
    observer.observe(document.body, {childList: true, subtree: true});
    setInterval(counter, 400);  // the server clears the box without an input event
    const active = sessionStorage.getItem(ACTIVE);
    if (active && !state.restored) { state.restored = true; openConversation(active); }  // a reload keeps the chat
    api.drain();
  }, 30);
}
