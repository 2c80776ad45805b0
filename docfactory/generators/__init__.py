"""Content synthesis, rendering, labels and verification.

The entry point other code calls:

    from docfactory.generators import generate_pages, sample_spec
    from docfactory.templates import TemplateRegistry

    registry = TemplateRegistry()
    specs = [sample_spec(run_seed=0, index=i, templates=list(registry.templates.values())) for i in range(8)]
    records, rejections = generate_pages(specs, registry)   # verified PageRecords, one per page

Generators never import the engine; they return plain records (docfactory.records).
"""

from docfactory.generators.pipeline import Rejection, generate_pages
from docfactory.generators.spec import assign_split, derive_seed, doc_id_for, sample_spec
from docfactory.generators.validate import Violation, check_values

__all__ = ["Rejection", "Violation", "assign_split", "check_values", "derive_seed", "doc_id_for",
           "generate_pages", "sample_spec"]
