"""Theme, CSS and page script of the app (passed to ``launch()`` in Gradio 6).

The CSS and the script live in ``ui/assets/`` (``page.css``, ``page.js``).
Fonts are system fonts on purpose: a web font would be fetched from the
internet, and the app makes no outbound calls.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SANS = ["Inter", "ui-sans-serif", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace"]


def theme():
    """The app's theme (indigo accents on slate), with local fonts only and
    text colours darkened to meet WCAG AA contrast (4.5:1; the axe scan checks it)."""
    import gradio as gr

    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          radius_size="md", font=SANS, font_mono=MONO).set(
        body_text_color_subdued="*neutral_600",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        checkbox_label_background_fill_selected="*primary_600",
    )


CSS = (ASSETS / "page.css").read_text(encoding="utf-8")
JS = (ASSETS / "page.js").read_text(encoding="utf-8")
