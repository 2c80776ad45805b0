"""Templates are folders (template.yaml, template.html.j2, style.css); the registry finds them.

    from docfactory.templates import TemplateRegistry
    registry = TemplateRegistry(extra_dirs=["my_templates"])
    registry.names(); registry.get("invoice_classic")
"""

from docfactory.templates.registry import (
    BUILTIN_DIR, Template, TemplateError, TemplateRegistry, UnknownTemplate, load_template,
)
from docfactory.templates.schema import KNOB_NAMES, FieldDecl, TemplateConfig

__all__ = [
    "BUILTIN_DIR", "KNOB_NAMES", "FieldDecl", "Template", "TemplateConfig", "TemplateError",
    "TemplateRegistry", "UnknownTemplate", "load_template",
]
