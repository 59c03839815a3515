"""Theme, CSS and page script of the app (passed to ``launch()`` in Gradio 6).

Fonts are system fonts on purpose: a web font would be fetched from the
internet, and the app makes no outbound calls.
"""

from __future__ import annotations

SANS = ["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace"]


def theme():
    """The app's theme (indigo accents on slate), with local fonts only."""
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          radius_size="md", font=SANS, font_mono=MONO)


CSS = """
.gradio-container { max-width: 1480px !important; }
#rag-header { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap; padding: 2px 4px 0; }
#rag-header h1 { font-size: 1.35rem; margin: 0; font-weight: 700; }
#rag-header .rag-sub { color: var(--body-text-color-subdued); font-size: .92rem; }
.rag-muted { color: var(--body-text-color-subdued); font-size: .85em; }
.rag-chip { display: inline-block; padding: 1px 8px; border-radius: 999px; font-weight: 600;
            background: var(--color-accent-soft); color: var(--color-accent); margin-right: 8px; }
.rag-badge { display: inline-block; padding: 1px 8px; border-radius: 6px; font-size: .8em; font-weight: 700;
             text-transform: uppercase; letter-spacing: .03em; margin-right: 6px; }
.rag-refused { background: #fde68a; color: #78350f; }
.rag-warning { background: #fee2e2; color: #991b1b; }
.rag-cites { display: block; font-size: .86em; color: var(--body-text-color-subdued);
             border-top: 1px solid var(--border-color-primary); padding-top: 6px; }
.rag-viewer-head { display: flex; align-items: center; gap: 6px; flex-wrap: wrap; margin-bottom: 6px; }
.rag-file { font-family: var(--font-mono); font-size: .9em; }
.rag-doc { white-space: pre-wrap; font-family: var(--font-mono); font-size: 12.5px; line-height: 1.55;
           max-height: 340px; overflow-y: auto; padding: 10px 12px; border-radius: 8px;
           border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.rag-doc mark.rag-hit { background: #fde047; color: #1f2937; padding: 1px 0; border-radius: 2px;
                        box-shadow: 0 0 0 2px #facc15; }
.rag-viewer-empty { padding: 28px 16px; text-align: center; color: var(--body-text-color-subdued);
                    border: 1px dashed var(--border-color-primary); border-radius: 8px; }
.rag-notice { padding: 8px 10px; margin: 6px 0; border-radius: 6px; background: #fee2e2; color: #991b1b; }
table.rag-sources { width: 100%; border-collapse: collapse; font-size: .84em; margin: 0 !important;
                    border: none !important; }
table.rag-sources th, table.rag-sources td { border: none !important; padding: 4px 6px !important;
    text-align: left; border-bottom: 1px solid var(--border-color-primary) !important; }
table.rag-sources th { font-weight: 600; color: var(--body-text-color-subdued); white-space: nowrap; }
table.rag-sources td.rag-file { word-break: break-all; }
table.rag-sources td.rag-num { white-space: nowrap; font-variant-numeric: tabular-nums; }
#rag-citations td { text-align: left !important; vertical-align: top; font-size: .9em; }
#rag-citations td:first-child { width: 2.6em; font-weight: 700; color: var(--color-accent); }
#rag-citations td:nth-child(2) { font-family: var(--font-mono); font-size: .82em; width: 30%; word-break: break-all; }
#rag-viewer { padding: 10px 12px; }
table.rag-sources tr.rag-cited td:first-child { font-weight: 700; }
.rag-bar { display: inline-block; width: 60px; height: 7px; border-radius: 4px; margin-right: 6px;
           background: var(--background-fill-secondary); vertical-align: middle; overflow: hidden; }
.rag-bar span { display: block; height: 100%; background: var(--color-accent); }
.rag-kv { display: grid; grid-template-columns: auto 1fr; gap: 3px 10px; font-size: .86em; }
.rag-kv dt { color: var(--body-text-color-subdued); }
.rag-kv dd { margin: 0; font-family: var(--font-mono); font-size: .92em; overflow-wrap: anywhere; }
"""

# Scroll a newly shown highlight into view inside the viewer's own scroll box
# (not the page). A MutationObserver catches every re-render of the viewer,
# however long the server took.
JS = """
() => {
  const seen = new WeakSet();
  const scroll = () => {
    for (const mark of document.querySelectorAll('mark.rag-hit')) {
      if (seen.has(mark)) continue;
      seen.add(mark);
      const box = mark.closest('.rag-doc');
      if (!box) continue;
      const top = mark.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = Math.max(0, top - box.clientHeight / 4);
      const rect = box.getBoundingClientRect();
      if (rect.top < 0 || rect.bottom > window.innerHeight) box.scrollIntoView({block: 'nearest'});
    }
  };
  new MutationObserver(scroll).observe(document.body, {childList: true, subtree: true});
}
"""
