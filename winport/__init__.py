"""winport: port a vLLM source tree to native Windows (MSVC + CUDA) by semantic rewriting.

Library use::

    from winport import Pipeline, registry
    report = Pipeline(registry.select(["cuda/"])).run("path/to/vllm", write=False)
    for t in report.transforms:
        print(t.id, t.outcome.value, len(t.sites))
"""

from . import registry
from .model import FileResult, Outcome, Report, Site, TransformResult
from .pipeline import KNOWN_LIMITS, Pipeline
from .sources import SourceError, SourceFile
from .transform import (CMakeTransform, Context, CppTransform, Edit, PythonDetector, PythonDocument, PythonTransform,
                        TextTransform, Transform, TransformError, Where, apply_edits)

__version__ = "0.1.0"

__all__ = [
    "CMakeTransform", "Context", "CppTransform", "Edit", "FileResult", "KNOWN_LIMITS", "Outcome",
    "Pipeline", "PythonDetector", "PythonDocument", "PythonTransform", "Report", "Site", "SourceError", "SourceFile",
    "TextTransform", "Transform", "TransformError", "TransformResult", "Where", "apply_edits", "registry",
]
