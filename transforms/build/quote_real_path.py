from __future__ import annotations

from winport.lang import treesitter
from winport.transform import CMakeTransform, Context


class QuoteRealPath(CMakeTransform):
    """Quote the path argument of `file(REAL_PATH ...)`.

    Why:
    On Windows the Python executable and the CUDA toolkit usually live under
    `C:\\Program Files\\...`. An unquoted `${EXECUTABLE}` is split by CMake's
    list rules and `file(REAL_PATH)` then receives the wrong number of
    arguments or a truncated path, and configuration stops.

    Pattern:
    A `file(REAL_PATH <path> <out-var> ...)` command, in any CMake file, whose
    `<path>` is an unquoted argument that expands a variable.

    Rewrite:
    `file(REAL_PATH ${EXECUTABLE} EXECUTABLE)` becomes
    `file(REAL_PATH "${EXECUTABLE}" EXECUTABLE)`. A quoted argument is one
    argument on every platform, so no `if(WIN32)` is needed.
    """

    id = "build/quote-real-path"
    seed = "B4"
    summary = "quote `${VAR}` paths in `file(REAL_PATH ...)` so paths with spaces survive"
    triggers = ("REAL_PATH",)

    def rewrite(self, tree, ctx: Context) -> None:
        for _, cmd in treesitter.captures(self.language, "(normal_command) @cmd", tree.root_node):
            name = cmd.child(0)
            if name is None or name.text.decode().lower() != "file":
                continue
            arglist = next((c for c in cmd.named_children if c.type == "argument_list"), None)
            args = [a for a in (arglist.named_children if arglist else []) if a.type == "argument"]
            if len(args) < 2 or args[0].text.decode() != "REAL_PATH":
                continue
            path = args[1]
            kind = path.named_children[0].type if path.named_children else ""
            text = path.text.decode()
            if kind == "quoted_argument":
                ctx.already(path, f"path already quoted: {text}")
            elif kind == "unquoted_argument" and "$" in text:
                if '"' in text:
                    ctx.report(path, f"unquoted path {text} contains a quote character; quote it by hand")
                else:
                    ctx.replace_node(path, f'"{text}"', f"{text} -> \"{text}\"")
