from __future__ import annotations

from winport.lang import treesitter
from winport.lang.cpp import msvc_sees
from winport.transform import Context, CppTransform

# ISO C++ alternative tokens and the operators they stand for.
ALTERNATIVES = {
    "and": "&&", "or": "||", "not": "!", "bitand": "&", "bitor": "|", "xor": "^", "compl": "~",
    "and_eq": "&=", "or_eq": "|=", "xor_eq": "^=", "not_eq": "!=",
}

_WORDS = treesitter.words(ALTERNATIVES)


class AltTokens(CppTransform):
    """Replace the alternative operator tokens `and`, `or`, `not`, ... with symbols.

    Why:
    MSVC treats `and`, `or`, `not`, `bitand`, `bitor`, `xor`, `compl`,
    `and_eq`, `or_eq`, `xor_eq` and `not_eq` as keywords only under
    `/permissive-` or with `<ciso646>`; by default `a or b` is a syntax error.

    Pattern:
    An alternative token used as an operator in code: the parser's operator
    node, so the same word in a comment, a string literal, an identifier such
    as `or_helper` or a macro name is never touched. Code in `#if` branches
    that Windows never compiles is left alone.

    Rewrite:
    Each token becomes its symbol (`or` -> `||`, `and` -> `&&`, `not` -> `!`,
    `not_eq` -> `!=`, ...). The two spellings are the same token to every C++
    compiler, so no `#ifdef` is needed and Linux builds are unchanged.
    """

    id = "cuda/alt-tokens"
    seed = "K6"
    summary = "alternative tokens `or`/`and`/`not`/... -> `||`/`&&`/`!`/... in code"
    portable = True
    triggers = tuple(ALTERNATIVES)
    trigger_words = True
    triggers_in_code = True  # "or" and "and" fill comments

    def rewrite(self, tree, ctx: Context) -> None:
        for node in treesitter.tokens(tree.root_node, _WORDS, ALTERNATIVES):
            if node.parent is None or not node.parent.type.endswith("expression"):
                continue
            if not msvc_sees(node, device=True):
                continue
            ctx.replace_node(node, ALTERNATIVES[node.type], f"`{node.type}` -> `{ALTERNATIVES[node.type]}`")
