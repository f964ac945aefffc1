"""The demo dispute's evidence files, drawn in code with Pillow: a photo (JPEG) and an invoice (PDF). Real files
of their types, so upload confirmation (which decodes them) accepts them like any other."""

import io

from PIL import Image, ImageDraw, ImageFont


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def ceiling_photo() -> bytes:
    """A ceiling with one light hanging loose from its rose, captioned."""
    image = Image.new("RGB", (800, 600), (236, 232, 224))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 800, 120), fill=(250, 248, 242))  # the ceiling
    draw.line((0, 120, 800, 120), fill=(190, 184, 172), width=4)
    # Left: a fitting as it should be, flush with the ceiling.
    draw.ellipse((150, 95, 250, 145), fill=(255, 244, 190), outline=(120, 110, 90), width=3)
    # Right: the rose pulled away, the fitting hanging on its flex, askew.
    draw.rectangle((540, 112, 600, 124), fill=(200, 196, 188), outline=(120, 110, 90))
    draw.line((570, 124, 585, 300), fill=(40, 40, 40), width=3)
    draw.polygon(
        [(545, 300), (625, 290), (640, 340), (530, 352)], fill=(255, 236, 150), outline=(120, 110, 90)
    )
    draw.line((560, 118, 520, 180), fill=(90, 80, 70), width=2)  # a crack in the plaster
    draw.line((520, 180, 535, 230), fill=(90, 80, 70), width=2)
    draw.rectangle((0, 500, 800, 600), fill=(40, 44, 52))
    draw.text((24, 520), "Kitchen ceiling, two days after the visit", font=_font(30), fill=(255, 255, 255))
    draw.text((24, 560), "Right-hand light loose and flickering", font=_font(22), fill=(220, 220, 220))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def invoice_pdf(business: str, job: str, amount: str) -> bytes:
    """A one-page invoice (A4 at 72 dpi)."""
    page = Image.new("RGB", (595, 842), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 595, 90), fill=(30, 64, 120))
    draw.text((40, 30), business, font=_font(28), fill=(255, 255, 255))
    lines = [
        ("INVOICE", 22),
        ("Billed to: Casey Customer, 221B Baker Street, London", 14),
        (f"Job: {job}", 14),
        ("Parts and labour, fitted and tested on site", 14),
        (f"Total: {amount}", 18),
        ("Paid in full. Work guaranteed for 12 months.", 14),
    ]
    y = 130
    for text, size in lines:
        draw.text((40, y), text, font=_font(size), fill=(20, 20, 20))
        y += size + 24
    draw.line((40, y, 555, y), fill=(160, 160, 160), width=1)
    out = io.BytesIO()
    page.save(out, "PDF", resolution=72.0)
    return out.getvalue()
