"""Draw a record's field and cell boxes on its page image: what a template author checks by eye."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from docfactory.records import PageRecord

FIELD_COLOR, CELL_COLOR = (220, 30, 60), (20, 120, 220)


def draw_boxes(record: PageRecord) -> Image.Image:
    image = Image.open(io.BytesIO(record.image)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for table in record.tables:
        for cell in table.cells:
            b = cell.box
            draw.rectangle([b.x0, b.y0, b.x1, b.y1], outline=CELL_COLOR, width=1)
    for field in record.fields:
        for b in field.boxes:
            draw.rectangle([b.x0 - 1, b.y0 - 1, b.x1 + 1, b.y1 + 1], outline=FIELD_COLOR, width=2)
        if field.boxes:
            b = field.boxes[0]
            draw.text((b.x0, max(0, b.y0 - 9)), field.name, fill=FIELD_COLOR)
    return image
