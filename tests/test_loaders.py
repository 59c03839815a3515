"""Structure-aware loaders: each format yields blocks (headings with their path,
paragraphs with soft wraps joined, list items, table rows with their headers,
fields, code), drops page chrome, and keeps `document_text()` the text that
every block offset points into."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.chunking import split_documents
from rag.ingest.loaders import parse_text
from rag.ingest.loaders.pdf import parse_pdf
from rag.ingest.loading import document_text, load_corpus

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO / "evals" / "corpora"


def blocks(parsed, kind=None):
    return [(b.kind, parsed.text[b.start:b.end], b.headings) for b in parsed.blocks if kind in (None, b.kind)]


SPHINX_LIKE = """<html><head><title>T</title></head><body>
<nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/d">Docs</a></li></ul></nav>
<div class="sphinxsidebar"><h3>Table of Contents</h3><ul><li><a href="#a">A</a></li></ul></div>
<div role="main">
<h1>Logging HOWTO<a class="headerlink" href="#x">\u00b6</a></h1>
<dl class="field-list"><dt>Author<span class="colon">:</span></dt><dd><p>Vinay Sajip</p></dd></dl>
<p>Logging is a means of tracking events
that happen when some software runs. The software's developer adds calls.</p>
<table><thead><tr><th>Level</th><th>Numeric value</th></tr></thead>
<tbody><tr><td>CRITICAL</td><td>50</td></tr><tr><td>ERROR</td><td>40</td></tr></tbody></table>
<ul><li><a href="#one">One</a></li><li><a href="#two">Two</a></li><li><a href="#three">Three</a></li></ul>
<h2>Functions</h2>
<dl class="py function"><dt class="sig">heapq.nsmallest(n, iterable, key=None)<a class="headerlink">\u00b6</a></dt>
<dd><p>Return a list with the n smallest elements.</p><p>Equivalent to sorted(iterable)[:n].</p></dd></dl>
<ol><li><p><b>Maximum length of a string</b></p><p>The default value is 1 billion.</p></li></ol>
<pre>import logging
logging.warning('Watch out!')</pre>
<div class="footer">&copy; Copyright 2001</div>
</div></body></html>"""


def test_html_keeps_the_main_content_as_structure_and_drops_chrome():
    p = parse_text(SPHINX_LIKE, ".html")
    text = p.text
    assert "Home" not in text and "Table of Contents" not in text and "Copyright" not in text
    assert "\u00b6" not in text
    got = blocks(p)
    assert ("heading", "Logging HOWTO", ()) in got
    assert ("field", "Author: Vinay Sajip", ("Logging HOWTO",)) in got
    # Soft-wrapped source lines are one paragraph.
    assert ("paragraph", "Logging is a means of tracking events that happen when some software runs. "
            "The software's developer adds calls.", ("Logging HOWTO",)) in got
    # Table rows carry their column headers.
    assert ("table_row", "Level: CRITICAL; Numeric value: 50", ("Logging HOWTO",)) in got
    # A list of in-page links is a table of contents: dropped.
    assert "One" not in [t for _, t, _ in got]
    # A signature titles the paragraphs of its definition; it is never a paragraph itself.
    assert ("term", "heapq.nsmallest(n, iterable, key=None)", ("Logging HOWTO", "Functions")) in got
    assert ("paragraph", "Return a list with the n smallest elements.",
            ("Logging HOWTO", "Functions", "heapq.nsmallest(n, iterable, key=None)")) in got
    # A bold-only line titles the rest of its list item.
    assert ("paragraph", "The default value is 1 billion.",
            ("Logging HOWTO", "Functions", "Maximum length of a string")) in got
    assert ("code", "import logging\nlogging.warning('Watch out!')", ("Logging HOWTO", "Functions")) in got


def test_every_block_offset_points_into_the_document_text():
    for suffix, raw in ((".html", SPHINX_LIKE), (".md", MARKDOWN), (".txt", PLAIN)):
        p = parse_text(raw, suffix)
        for b in p.blocks:
            piece = p.text[b.start:b.end]
            assert piece and piece == piece.strip(), (suffix, b)
        assert all(a.end <= b.start for a, b in zip(p.blocks, p.blocks[1:])), suffix


MARKDOWN = """---
title: Setup
---
# Setup

Install it with
pip, then run the **server**.

| Option | Default | Description |
|---|---|---|
| `port` | 8000 | Port to [listen](https://x.example) on |
| `workers` | <ul><li>1</li><li>2</li></ul> | Worker count |

!!! note "Heads up"
    The server binds to 127.0.0.1 by default.

- [Armory](https://example.com/armory)
- [in-toto](https://example.com/in-toto)
- [TUF](https://example.com/tuf)

```bash
rag serve --port 8000
```

![logo](http://example.com/t.png) :material-github:
"""


def test_markdown_is_rendered_to_text_with_structure():
    p = parse_text(MARKDOWN, ".md")
    got = blocks(p)
    assert "title: Setup" not in p.text  # front matter
    assert ("paragraph", "Install it with pip, then run the server.", ("Setup",)) in got
    assert ("table_row", "Option: port; Default: 8000; Description: Port to listen on", ("Setup",)) in got
    assert ("table_row", "Option: workers; Default: 1, 2; Description: Worker count", ("Setup",)) in got
    # An admonition is text, not an indented code block.
    assert ("paragraph", "The server binds to 127.0.0.1 by default.", ("Setup",)) in got
    # In Markdown a list of links is content (projects, references), kept.
    assert ("list_item", "Armory", ("Setup",)) in got
    assert ("code", "rag serve --port 8000", ("Setup",)) in got
    assert "http://example.com" not in p.text and "material-github" not in p.text  # images, icons


PLAIN = """INTRODUCTION

The tool reads every file of the folder you give it and keeps
them indexed for later questions. It never sends them anywhere.

March 16, 2017
Japan-U.S. Foreign Ministers' Meeting

- first item
- second item
"""


def test_plain_text_is_the_file_itself_with_wrapped_and_separate_lines_told_apart():
    p = parse_text(PLAIN, ".txt")
    assert p.text == PLAIN
    got = blocks(p)
    assert got[0][:2] == ("heading", "INTRODUCTION")
    assert got[1][0] == "paragraph" and got[1][1].startswith("The tool reads") and "\n" in got[1][1]
    assert ("paragraph", "March 16, 2017", ("INTRODUCTION",)) in got  # separate short lines
    assert ("list_item", "- second item", ("INTRODUCTION",)) in got


def make_pdf(path: Path) -> None:
    """A three-page PDF drawn by matplotlib: a running head and a page number on
    every page, a big heading, body lines wrapped with a hyphen, and a monospaced line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        for page in range(3):
            fig = plt.figure(figsize=(8.5, 11))
            fig.text(0.1, 0.95, "Chapter 1: Getting started", fontsize=9)
            fig.text(0.9, 0.95, str(page + 4), fontsize=9)
            fig.text(0.1, 0.88, f"{page + 1}.1 Installing part {page + 1}", fontsize=16, weight="bold")
            y = 0.84
            for line in ("The installer copies the files into the target folder and regis-",
                         "ters them with the system so that every user can run them.",
                         "It takes about five minutes on a laptop."):
                fig.text(0.1, y, line, fontsize=10)
                y -= 0.018
            fig.text(0.1, y - 0.02, "install --prefix /opt/tool", fontsize=10, family="monospace")
            fig.text(0.5, 0.04, str(page + 4), fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)


def test_pdf_lines_become_blocks_without_page_chrome(tmp_path):
    make_pdf(tmp_path / "guide.pdf")
    p = parse_pdf(tmp_path / "guide.pdf")
    got = blocks(p)
    assert "Chapter 1: Getting started" not in p.text  # running head
    headings = [t for k, t, _ in got if k == "heading"]
    assert headings == ["1.1 Installing part 1", "2.1 Installing part 2", "3.1 Installing part 3"]
    paragraphs = [t for k, t, _ in got if k == "paragraph"]
    # Wrapped lines joined, the end-of-line hyphen removed.
    assert "The installer copies the files into the target folder and registers them with the system so " \
           "that every user can run them. It takes about five minutes on a laptop." in paragraphs
    assert ("code", "install --prefix /opt/tool", ("3.1 Installing part 3",)) in got
    assert not any(t.strip().isdigit() for _, t, _ in got)  # page numbers


@pytest.mark.parametrize("name", ["sqlite-docs", "hatch-docs", pytest.param("r-manuals", marks=pytest.mark.slow)])
def test_real_corpora_load_into_chunks_with_heading_paths_and_verbatim_offsets(name, tmp_path):
    corpus = tmp_path / name
    corpus.mkdir()
    for f in sorted(p for p in (CORPORA / name).rglob("*") if p.is_file())[:3]:
        (corpus / f.name).write_bytes(f.read_bytes())
    docs, skipped = load_corpus(corpus)
    assert docs and not skipped
    chunks = split_documents(docs, 800, 120)
    assert sum(bool(c.heading_path) for c in chunks) > len(chunks) / 2
    texts = {d.source: document_text(corpus / d.source) for d in docs}
    for c in chunks:
        assert texts[c.source][c.start:c.end] == c.text
        assert c.end - c.start <= 800
        assert c.blocks and c.blocks[0].start == c.start and c.blocks[-1].end == c.end
    # A chunk ends on a title only when the section after it would not fit in the next one.
    titled = [c for c in chunks if c.blocks[-1].kind in ("heading", "term") and len(c.blocks) > 1]
    assert len(titled) <= len(chunks) / 30, [c.text[-80:] for c in titled]
