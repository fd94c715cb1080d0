"""The ready-model format shared by Byom's processors and runtimes.

A processor turns a raw artifact into a *ready model* directory (model type
`python/ready-model`): the model files under `model/` and a manifest
`byom-model.json` beside them. A runtime reads only that directory. Nothing in this
package imports a third-party library, so the processor images stay small.
"""

from byom_ready.manifest import MANIFEST_FILE, Manifest, read_manifest, write_manifest
from byom_ready.schema import (
    COLUMN_TYPES,
    Column,
    SchemaError,
    mlflow_signature_to_schema,
    parse_schema,
    sample_request,
    scorer_data_type,
)

__all__ = [
    "COLUMN_TYPES",
    "MANIFEST_FILE",
    "Column",
    "Manifest",
    "SchemaError",
    "mlflow_signature_to_schema",
    "parse_schema",
    "read_manifest",
    "sample_request",
    "scorer_data_type",
    "write_manifest",
]
