"""libcst helpers shared by Python transforms."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m
from libcst.metadata import PositionProvider


class PositionedTransformer(cst.CSTTransformer):
    """A transformer that can say where (1-based line, column) an original node is.

    Run it with ``wrapper.visit(...)`` on the ``MetadataWrapper`` the pipeline hands
    to :meth:`winport.PythonTransform.rewrite`.
    """

    METADATA_DEPENDENCIES = (PositionProvider,)

    def pos(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.get_metadata(PositionProvider, node).start
        return start.line, start.column + 1


def module_aliases(module: cst.Module, name: str) -> set[str]:
    """Names under which module ``name`` is imported anywhere in ``module``
    (``import socket`` -> {"socket"}, ``import socket as s`` -> {"s"})."""
    found: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                if m.matches(alias.name, m.Name(name)):
                    found.add(alias.asname.name.value if alias.asname else name)  # type: ignore[union-attr]

    module.visit(Visitor())
    return found


def parse_statement(code: str, module: cst.Module) -> cst.BaseStatement:
    """Parse one statement with the module's conventions (indent, newline)."""
    return cst.parse_statement(code, config=module.config_for_parsing)


def parse_expression(code: str, module: cst.Module) -> cst.BaseExpression:
    return cst.parse_expression(code, config=module.config_for_parsing)
