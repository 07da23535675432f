"""The guide as a student gets it: every line of code that answers a chosen part is replaced by a pointer to the
part; equations, derivations and everything else stay.

A line of a part's engine body "answers" the part when it says something: three tokens or more of which two are
names (not keywords) or numbers, so `optimizer.step()`, `x.copy()` and `if need_param_grads:` are not answers,
and not a line the student's copy shows anyway outside the parts. It is found
in the guide by its tokens, not its spelling: whitespace, `self.`/`batch.` and other owners of a name, a leading
`return` and `1.0` against `1` do not matter, so `target.flat_params += (1.0 - rho) * online.flat_params` is
found as `actor_target.flat_params += (1 - rho) * actor.flat_params` too. The guide is matched against the
engine's source at generation time, so a guide edit that quotes a part's code is redacted as well.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize

from .parts import Part

NAME_CHAIN = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
GUIDE_TOKEN = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\d+\.\d*(?:e-?\d+)?|\.\d+|\d+(?:e-?\d+)?|\*\*=?|//=?|->|"
                         r"[-+*/@%<>=!&|^]=?|[^\s\w]")
MIN_TOKENS = 3
MIN_NAMES = 2  # names and numbers in a line
MIN_PIECE_NAMES = 3  # in a piece of a line
ASSIGNMENTS = {"=", "+=", "-=", "*=", "/=", "//=", "@=", "**=", "%="}


def normal(token: str) -> str:
    """A name chain by its last name (self.config.gamma -> gamma), a number by its value (1.0 -> 1)."""
    if NAME_CHAIN.fullmatch(token):
        return token.rsplit(".", 1)[-1]
    try:
        return format(float(token), "g")
    except ValueError:
        return token


def guide_tokens(text: str) -> list[tuple[str, int, int]]:
    """(normal token, start, end) of every token of a text that may be prose, markdown or pseudo-code."""
    return [(normal(m.group()), m.start(), m.end()) for m in GUIDE_TOKEN.finditer(text)]


def code_lines(source: str) -> list[list[str]]:
    """The normal tokens of each physical line of Python source, comments and strings left out."""
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.STRING,
            tokenize.ENDMARKER, *(getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END")
                                  if hasattr(tokenize, name))}
    raw = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]
    lines: dict[int, list[str]] = {}
    i = 0
    while i < len(raw):
        j = i
        while raw[i].type == tokenize.NAME and j + 2 < len(raw) and raw[j + 1].string == "." \
                and raw[j + 2].type == tokenize.NAME:
            j += 2  # self.config.gamma is one name chain, known by its last name
        lines.setdefault(raw[i].start[0], []).append(normal(raw[j].string))
        i = j + 1
    return [lines[n] for n in sorted(lines)]


def body_source(source: str, qualname: str) -> str:
    """The lines of a function's body after its docstring, dedented enough to tokenize."""
    from .assignment import find_function

    node = find_function(ast.parse(source), qualname)
    first = node.body[0].end_lineno + 1 if ast.get_docstring(node) is not None else node.body[0].lineno
    lines = source.splitlines(keepends=True)[first - 1:node.end_lineno]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "".join(line[indent:] if line.strip() else "\n" for line in lines)


def answers(part: Part, engine_source: str, shown: str) -> list[list[str]]:
    """The token sequences that answer the part: each line of its body with three tokens or more, two of them names
    (not keywords) or numbers, a leading `return` not counted; and each element of a returned tuple with three
    names or numbers. Less what `shown` (the student's package, stubs in
    place) holds anyway."""
    shown_text = "\x1f" + "\x1f".join(t for line in code_lines(shown) for t in [*line, "\x1e"]) + "\x1f"
    found = []
    for tokens in code_lines(body_source(engine_source, part.qualname)):
        tokens = tokens[1:] if tokens[:1] == ["return"] else tokens
        candidates = [(tokens, MIN_NAMES)] + [(piece, MIN_PIECE_NAMES) for piece in pieces(tokens) if piece != tokens]
        for sequence, least in candidates:
            names = [t for t in sequence if (NAME_CHAIN.fullmatch(t) and not keyword.iskeyword(t)) or t[:1].isdigit()]
            if len(sequence) < MIN_TOKENS or len(names) < least:
                continue  # `p.step()`, `x.copy()`, `if need_param_grads:` say nothing about the answer
            if "\x1f" + "\x1f".join(sequence) + "\x1f" not in shown_text and sequence not in found:
                found.append(sequence)
    return found


def pieces(tokens: list[str]) -> list[list[str]]:
    """The elements of a returned tuple (`mean(error * error), error * (2.0 / error.size)`): the parts of a line
    between top-level commas, when it assigns nothing (an assignment's pieces are equations: `m += (1 - beta1) * g`)."""
    depth, start, result = 0, 0, []
    for i, token in enumerate(tokens):
        depth += token in ("(", "[", "{")
        depth -= token in (")", "]", "}")
        if depth == 0 and token in ASSIGNMENTS:
            return []
        if depth == 0 and token == ",":
            result.append(tokens[start:i])
            start = i + 1
    return [piece for piece in [*result, tokens[start:]] if piece] if result else []


def redact(guide: str, parts: list[Part], engine_sources: dict[str, str], shown: str) -> str:
    """The guide with each occurrence of a chosen part's answering line replaced by `[part NAME: ...]`; inside a
    `code span` the whole span goes."""
    tokens = guide_tokens(guide)
    words = [t for t, _, _ in tokens]
    spans: list[tuple[int, int, str]] = []
    for part in parts:
        for answer in answers(part, engine_sources[part.module_file], shown):
            for i in range(len(words) - len(answer) + 1):
                if words[i:i + len(answer)] == answer:
                    spans.append((*code_span(guide, tokens[i][1], tokens[i + len(answer) - 1][2]), part.name))
    out, position = [], 0
    for start, end, name in merged(spans):
        out += [guide[position:start], f"[part {name}: your code, see README.md]"]
        position = end
    return "".join([*out, guide[position:]])


def code_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The `code span` around start..end on its line, when there is one; else start..end itself (a `return`
    just before it included)."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end) % (len(text) + 1)
    before, after = text[line_start:start], text[end:line_end]
    if before.count("`") % 2 == 1 and "`" in after:
        return line_start + before.rindex("`"), end + after.index("`") + 1
    if before.rstrip().endswith("return"):
        return line_start + before.rstrip().rindex("return"), end
    return start, end


def merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans joined, in order; the joined span names every part it came from."""
    result: list[tuple[int, int, str]] = []
    for start, end, name in sorted(spans):
        if result and start < result[-1][1]:
            last_start, last_end, last_name = result[-1]
            names = last_name if name in last_name.split(", ") else f"{last_name}, {name}"
            result[-1] = (last_start, max(end, last_end), names)
        else:
            result.append((start, end, name))
    return result
