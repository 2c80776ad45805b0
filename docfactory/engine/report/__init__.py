"""`engine report RUN`: one self-contained HTML file (inline SVG, base64 page images, no server)."""

from docfactory.engine.report.html import write_report

__all__ = ["write_report"]
