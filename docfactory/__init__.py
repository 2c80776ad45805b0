"""docfactory: a synthetic-document factory and data engine for document AI.

The sub-packages follow the one-way flow of ARCHITECTURE.md:
``generators`` (spec -> verified page records), ``templates`` (the template registry),
``engine`` (shards, catalog, orchestration), ``evaluate`` (metrics, error tables) and
``train`` (models and predictors). Only ``engine`` knows the whole loop.
"""

__version__ = "0.1.0"
