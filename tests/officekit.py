"""Office documents, e-books, mail and scans made here with the same libraries
the loaders read them with (python-docx, python-pptx, openpyxl, odfpy,
ebooklib, the email package, matplotlib and Pillow), each holding facts that
appear nowhere else, plus hostile variants (zip bombs, a million empty rows,
a huge attachment, damaged files)."""

from __future__ import annotations

import os
import re
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

# (file, question, a fact the cited quote must hold)
FACTS = [
    ("minutes.docx", "What budget did the board approve for the harbour wall?", "2.4 million euros"),
    ("minutes.docx", "Who owns the harbour wall project?", "Ines Duarte"),
    ("review.pptx", "How many nurses will be hired in the Lisbon clinic?", "seven nurses"),
    ("review.pptx", "What do the speaker notes say about the Porto office lease?", "Porto office lease"),
    ("revenue.xlsx", "What revenue did the North region have in Q3?", "1.2M"),
    ("revenue.xlsx", "What role does Rui Costa have?", "Harbour master"),
    ("towns.csv", "Who is the mayor of Aveiro?", "Joana Matos"),
    ("stations.tsv", "How deep is the water at the Ilhavo gauge station?", "Ilhavo"),
    ("handbook.odt", "What colour of helmet must visitors wear on the quay?", "yellow helmet"),
    ("tides.epub", "How high does the spring tide in the estuary reach?", "3.8 metres"),
    ("notice.eml", "When does dredging of the north channel start?", "4 August 2027"),
    ("notice.eml#schedule.docx", "What does the dredger Kestrel do?", "arrives on 1 August"),
    ("notice.eml#samples.pdf", "How much clay did the sediment samples contain?", "12 percent clay"),
]
# Facts only OCR can read.
SCAN_FACTS = [
    ("scan.pdf", "What did divers find about the concrete caissons?", "fourteen centimetres"),
    ("receipt.png", "Which contractor repaired the slipway?", "Kestrel Marine Works"),
]


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_paragraph("Board minutes", style="Title")
    d.add_heading("Budget", level=1)
    d.add_paragraph("The board approved a budget of 2.4 million euros for the harbour wall in 2027.")
    d.add_heading("Decisions", level=2)
    d.add_paragraph("Publish the tender in January.", style="List Bullet")
    d.add_paragraph("Review the contract in June.", style="List Bullet")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Project", "Owner", "Deadline"), ("Harbour wall", "Ines Duarte", "March 2027"),
                             ("Fish market roof", "Paulo Reis", "May 2027")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    return _save(d, path)


def make_schedule_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Dredging schedule", level=1)
    d.add_paragraph("The dredger Kestrel arrives on 1 August and starts work three days later.")
    return _save(d, path)


def _save(doc, path: Path) -> Path:
    doc.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    import pptx

    deck = pptx.Presentation()
    s1 = deck.slides.add_slide(deck.slide_layouts[1])
    s1.shapes.title.text = "Quarterly review"
    body = s1.placeholders[1].text_frame
    body.text = "Clinic visits rose by a fifth."
    body.add_paragraph().text = "Waiting times fell to nine days."
    s2 = deck.slides.add_slide(deck.slide_layouts[5])
    s2.shapes.title.text = "Hiring plan"
    from pptx.util import Inches

    box = s2.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(1))
    box.text_frame.text = "We will hire seven nurses in the Lisbon clinic before October."
    s2.notes_slide.notes_text_frame.text = "Mention that the Porto office lease ends in December."
    deck.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Revenue"
    ws.append(["Quarterly revenue 2027"])
    ws.append([])
    ws.append(["Region", "Q3 revenue", "Growth"])
    ws.append(["North", "1.2M", 0.125])
    ws.cell(row=4, column=3).number_format = "0.0%"
    ws.append(["South", "0.9M", -0.02])
    staff = wb.create_sheet("Staff")
    staff.append(["Name", "Role", "Since"])
    staff.append(["Rui Costa", "Harbour master", datetime(2019, 4, 1)])
    wb.save(str(path))
    return path


def make_csv(path: Path) -> Path:
    path.write_text("City,Population,Mayor\nAveiro,80000,Joana Matos\nIlhavo,39000,\"Costa, Rui\"\n",
                    encoding="utf-8")
    return path


def make_tsv(path: Path) -> Path:
    path.write_text("Station\tWater depth\tGauge\nIlhavo\t6.5 m\tradar\nBarra\t11 m\tfloat\n", encoding="utf-8")
    return path


def make_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, List, ListItem, P

    doc = OpenDocumentText()
    doc.text.addElement(H(outlinelevel=1, text="Safety rules"))
    doc.text.addElement(P(text="Visitors must wear a yellow helmet on the quay at all times."))
    items = List()
    for t in ("Keep two metres from the edge.", "Report spills to the harbour office."):
        li = ListItem()
        li.addElement(P(text=t))
        items.addElement(li)
    doc.text.addElement(items)
    doc.save(str(path))
    return path


def make_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("tides-2027")
    book.set_title("Tides of the estuary")
    book.set_language("en")
    chapters = []
    for i, (title, body) in enumerate([
            ("Spring tides", "The spring tide in the estuary reaches 3.8 metres at the harbour mouth."),
            ("Neap tides", "Neap tides stay under two metres and leave the sandbanks dry.")], start=1):
        ch = epub.EpubHtml(title=title, file_name=f"chap_{i}.xhtml", lang="en")
        ch.content = f"<html><body><h1>{title}</h1><p>{body}</p></body></html>"
        book.add_item(ch)
        chapters.append(ch)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    epub.write_epub(str(path), book)
    return path


def make_text_pdf(path: Path, lines: list[str]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.5, 11))
    y = 0.9
    for line in lines:
        fig.text(0.1, y, line, fontsize=11)
        y -= 0.03
    fig.savefig(str(path), format="pdf")
    plt.close(fig)
    return path


def make_eml(path: Path, tmp: Path, *, extra: list[tuple[str, bytes, str]] = ()) -> Path:
    msg = EmailMessage()
    msg["Subject"] = "Dredging schedule for the north channel"
    msg["From"] = "Ana Ortiz <ana@harbour.example>"
    msg["To"] = "Works team <works@harbour.example>"
    msg["Date"] = format_datetime(datetime(2027, 6, 14, 9, 30, tzinfo=timezone.utc))
    msg.set_content("Hello all,\n\nDredging of the north channel starts on 4 August 2027 and lasts\n"
                    "three weeks. The schedule and the sediment report are attached.\n\nAna\n")
    schedule = make_schedule_docx(tmp / "schedule.docx").read_bytes()
    msg.add_attachment(schedule, maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename="schedule.docx")
    report = make_text_pdf(tmp / "samples.pdf", ["Sediment report", "",
                                                 "Sediment samples contained 12 percent clay."]).read_bytes()
    msg.add_attachment(report, maintype="application", subtype="pdf", filename="samples.pdf")
    msg.add_attachment(b"PK\x03\x04 not really", maintype="application", subtype="zip", filename="photos.zip")
    for name, data, ctype in extra:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    path.write_bytes(msg.as_bytes())
    return path


def render_text_image(lines: list[str], size=(1240, 1754)):
    """A page of text as a Pillow image (DejaVu Sans from matplotlib's own fonts)."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts/ttf/DejaVuSans.ttf"), 28)
    img = Image.new("L", size, 255)
    draw = ImageDraw.Draw(img)
    y = 120
    for line in lines:
        draw.text((100, y), line, font=font, fill=0)
        y += 44
    return img


def make_scan_pdf(path: Path) -> Path:
    """A scanned page: an image of text, no text layer."""
    render_text_image(["Harbour survey 2027", "",
                       "The northern breakwater was inspected on 12 May 2027.",
                       "Divers found that the concrete caissons had settled by",
                       "fourteen centimetres since the previous survey."]).save(str(path), resolution=150)
    return path


def make_png(path: Path) -> Path:
    render_text_image(["Slipway repair", "", "The slipway was repaired by Kestrel Marine Works",
                       "for 18,500 euros in April 2027."], size=(1240, 600)).save(str(path))
    return path


def make_corpus(folder: Path, *, scans: bool = True) -> Path:
    """One file of each type (the scans: a PDF with no text layer and a PNG)."""
    folder.mkdir(parents=True, exist_ok=True)
    work = folder.parent / (folder.name + "-work")
    work.mkdir(exist_ok=True)
    make_docx(folder / "minutes.docx")
    make_pptx(folder / "review.pptx")
    make_xlsx(folder / "revenue.xlsx")
    make_csv(folder / "towns.csv")
    make_tsv(folder / "stations.tsv")
    make_odt(folder / "handbook.odt")
    make_epub(folder / "tides.epub")
    make_eml(folder / "notice.eml", work)
    if scans:
        make_scan_pdf(folder / "scan.pdf")
        make_png(folder / "receipt.png")
    return folder


# -- hostile files -----------------------------------------------------------

def zip_bomb(path: Path, like: Path, member: str, gigabytes: float = 2.0) -> Path:
    """``like`` (a real .docx/.xlsx/.epub) with ``member`` replaced by a few MB
    that declare gigabytes of zeros when unpacked (a classic zip bomb)."""
    size = int(gigabytes * 2**30)
    with zipfile.ZipFile(like) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == member:
                bomb = zipfile.ZipInfo(member)
                bomb.compress_type = zipfile.ZIP_DEFLATED
                with dst.open(bomb, "w", force_zip64=True) as f:
                    block = b"\x00" * (1 << 24)
                    for _ in range(size // len(block)):
                        f.write(block)
            else:
                dst.writestr(info, src.read(info.filename))
    return path


def rewrite_zip(path: Path, like: Path, member: str, change) -> Path:
    """A copy of the archive ``like`` with ``member`` replaced by ``change(its bytes)``."""
    with zipfile.ZipFile(like) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        assert member in src.namelist(), member
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, change(data) if info.filename == member else data)
    return path


def million_empty_rows(path: Path, like: Path, rows: int = 1_000_000) -> Path:
    """An .xlsx whose first sheet declares A1:XFD1048576 and holds a million empty rows after its data."""
    def fill(data: bytes) -> bytes:
        text = data.decode()
        start = text.count("<row ") + 1
        filler = "".join(f'<row r="{i}"><c r="A{i}"/></row>' for i in range(start, start + rows))
        text = text.replace("</sheetData>", filler + "</sheetData>")
        return re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', text).encode()

    return rewrite_zip(path, like, "xl/worksheets/sheet1.xml", fill)


def corrupt(path: Path, data: bytes) -> Path:
    """A damaged copy: the first half of ``data`` (a truncated download), mangled in the middle."""
    half = bytearray(data[: max(16, len(data) // 2)])
    for i in range(len(half) // 3, len(half) // 3 + 64):
        if i < len(half):
            half[i] ^= 0x5A
    path.write_bytes(bytes(half))
    return path
