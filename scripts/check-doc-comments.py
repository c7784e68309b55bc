#!/usr/bin/env python3
"""Reports public declarations in node/ and sim/ headers that have no doc comment.

House style, after LogCabin: a doc comment on every class, function and
member in headers, saying what it is, when it changes and why. This checker
holds the tree to it; the test suite runs it (tests/CMakeLists.txt).

What it checks, in every header under node/ and sim/ (generated protobuf
code and tests/ excepted):
  - types: classes, structs, unions and enumerations (enumerators are optional);
  - functions: free functions and the public member functions of classes;
  - fields: the public data members of classes and structs;
  - variables: variables and constants at namespace scope.
Private and protected sections are skipped whole (types nested in them
included), and so are `= delete` and `= default` members, `using` and
`typedef` aliases, friend declarations, static_asserts, forward
declarations, preprocessor lines and the `#else` branch of a conditional
(the first branch carries the comment).

What counts as documented: a `//` comment on the line directly above the
declaration (its `template <...>` line, when it has one). #if, #ifdef and
#endif lines between the two are looked through. A data member (field or
variable) may instead carry its comment at the end of its own line. One
declaration that names several fields on one line (`int a = 0, b = 0;`)
needs one comment. A `// NOLINT` or `// clang-format` comment is not
documentation.

The parsing is a heuristic, not a C++ parser: it tracks braces, parentheses,
`namespace`, `class`/`struct`/`union`/`enum` scopes and access specifiers,
which is enough for clang-formatted code in the project's style.

Usage: scripts/check-doc-comments.py [--quiet | --all] [header ...]
Prints `file:line: name (kind)` for each undocumented declaration, then a
summary line ("functions 130/130 documented (100%), fields 90/90 (100%),
..."), and exits 1 when anything is missing. --quiet prints the summary
only; --all lists every declaration found, to check the parser. Percentages
round down, so 100% means none is missing.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCANNED_DIRS = ("node", "sim")
KINDS = ("functions", "fields", "variables", "types")

ACCESS_RE = re.compile(r"^\s*(public|private|protected)\s*:\s*$")
NOT_DOC_RE = re.compile(r"^//\s*(NOLINT|clang-format)")
CONDITIONAL_RE = re.compile(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b")
IDENT_RE = re.compile(r"[A-Za-z_]\w*")


def find_headers(root):
    """Every header under node/ and sim/, except generated code and tests."""
    found = []
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "tests")
            for name in sorted(filenames):
                if name.endswith((".h", ".hpp")) and not name.endswith(".pb.h"):
                    found.append(os.path.join(dirpath, name))
    return found


def blank_comments_and_literals(text):
    """The text with comments, string and character literals replaced by
    spaces (newlines kept), so that braces in them do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"' or (c == "'" and (i == 0 or not (text[i - 1].isalnum()))):
            raw = c == '"' and i > 0 and text[i - 1] == "R"
            if raw:
                m = re.compile(r'"([^(\s]*)\(').match(text, i)
                end = text.find(")" + m.group(1) + '"', i) if m else -1
                j = n if end < 0 else end + len(m.group(1)) + 2
            else:
                j = i + 1
                while j < n and text[j] != c and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1 : j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def code_lines(text):
    """The file's lines with comments and literals blanked, preprocessor
    lines blanked, and the lines of #else/#elif branches blanked."""
    lines = blank_comments_and_literals(text).split("\n")
    branches = []  # per open conditional: whether we are past its first branch
    continued = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if continued or stripped.startswith("#"):
            directive = re.match(r"#\s*(\w+)", stripped) if not continued else None
            if directive:
                word = directive.group(1)
                if word in ("if", "ifdef", "ifndef"):
                    branches.append(False)
                elif word in ("else", "elif") and branches:
                    branches[-1] = True
                elif word == "endif" and branches:
                    branches.pop()
            continued = line.rstrip().endswith("\\")
            lines[i] = ""
        elif any(branches):
            lines[i] = ""
    return lines


def strip_template_prefix(head):
    """`template <class T> class x` -> `class x` (angle brackets balanced)."""
    head = head.strip()
    while head.startswith("template"):
        start = head.find("<")
        if start < 0:
            return head
        depth = 0
        for k in range(start, len(head)):
            if head[k] == "<":
                depth += 1
            elif head[k] == ">":
                depth -= 1
                if depth == 0:
                    head = head[k + 1 :].strip()
                    break
        else:
            return head
    return head


def strip_angles(head):
    """`std::array<int, 3> x` -> `std::array x`: template arguments removed,
    so that their commas and names are not taken for declarators."""
    out, depth = [], 0
    for c in head:
        if c == "<":
            depth += 1
        elif c == ">" and depth:
            depth -= 1
        elif not depth:
            out.append(c)
    return "".join(out)


def strip_attributes(head):
    """The head without its [[attributes]]."""
    return re.sub(r"\[\[.*?\]\]", " ", head)


def top_level_paren(head):
    """Index of the first `(` outside template angle brackets, or -1."""
    angle = 0
    k = 0
    while k < len(head):
        if head.startswith("operator", k) and (k == 0 or not IDENT_RE.match(head[k - 1])):
            return k
        c = head[k]
        if c == "<":
            angle += 1
        elif c == ">":
            angle = max(0, angle - 1)
        elif c == "(" and angle == 0:
            return k
        elif c == "=" and angle == 0:
            return -1  # an initializer: `x = f(1)` is a variable
        k += 1
    return -1


def classify(head):
    """(kind, name) of a declaration's head, the text before its body or `;`,
    or None for what is not checked."""
    head = strip_attributes(strip_template_prefix(" ".join(head.split())))
    if not head:
        return None
    first = IDENT_RE.match(head)
    if first and first.group(0) in ("using", "typedef", "friend", "static_assert", "namespace"):
        return None
    if re.search(r"=\s*(delete|default)\s*$", head):
        return None
    m = re.match(r"^(?:typedef\s+)?enum(?:\s+(?:class|struct))?\s+(\w+)", head)
    if m:
        return ("types", m.group(1)) if ("{" in head or head.endswith("{")) else None
    m = re.match(r"^(class|struct|union)\s+(?:alignas\([^)]*\)\s*)?(\w+)", head)
    if m and "(" not in head.split(m.group(2), 1)[0]:
        # A forward declaration ends without a body; it is documented where
        # the type is defined.
        return ("types", m.group(2)) if head.endswith("{") else None
    paren = top_level_paren(head)
    if paren >= 0:
        if head.startswith("operator", paren):
            op = re.match(r"operator\s*(\(\)|[^\s(]+|\s+[\w:<>]+)", head[paren:])
            return ("functions", "operator" + (op.group(1).strip() if op else ""))
        names = IDENT_RE.findall(head[:paren])
        if not names:
            return None
        name = names[-1]
        if head[:paren].rstrip().endswith("~" + name):
            name = "~" + name
        return ("functions", name)
    # A variable or field: the last name before its initializer.
    decl = re.split(r"[={;\[]|,", strip_angles(head), maxsplit=1)[0]
    names = IDENT_RE.findall(decl)
    if len(names) < 2:
        return None  # a lone word is no declaration (a macro call, a stray token)
    return ("fields", names[-1])


class Scope:
    """One level of braces that holds declarations: a namespace, a class
    (struct, union) or an enum, whether it is public at all (checked), and
    the access of the section being read."""

    def __init__(self, kind, checked, access="public"):
        self.kind = kind  # namespace, class or enum
        self.checked = checked
        self.access = access


def scan(text):
    """The declarations of one header: a list of (line, kind, name, documented)."""
    raw = text.split("\n")
    lines = code_lines(text)
    found = []
    scopes = [Scope("namespace", True)]
    head = []  # code of the statement being read
    start = None  # its first line (0-based)
    skip_depth = 0  # braces of a body or initializer being skipped
    paren = 0

    def finish(end_line, opens_type=False):
        """Ends the statement being read, and records it if it declares
        something public."""
        nonlocal head, start
        text_head = "".join(head).strip()
        if start is not None and text_head and scopes[-1].checked:
            decl = classify(text_head + (" {" if opens_type else ""))
            if decl:
                kind, name = decl
                if kind == "fields" and scopes[-1].kind == "namespace":
                    kind = "variables"
                if not (scopes[-1].kind == "class" and scopes[-1].access != "public"):
                    documented = has_doc_comment(raw, lines, start, end_line, kind)
                    found.append((start + 1, kind, name, documented))
        head, start = [], None

    for lineno, line in enumerate(lines):
        if not skip_depth and not head and scopes[-1].kind == "class":
            m = ACCESS_RE.match(line)
            if m:
                scopes[-1].access = m.group(1)
                continue
        for c in line:
            if skip_depth:
                if c == "{":
                    skip_depth += 1
                elif c == "}":
                    skip_depth -= 1
                    if skip_depth == 0:
                        head.append("{}")
                        text_head = "".join(head)
                        if is_function_head(text_head):
                            finish(lineno)
                continue
            if c in " \t" and start is None:
                continue
            if start is None:
                start = lineno
            if c == "(":
                paren += 1
            elif c == ")":
                paren = max(0, paren - 1)
            if paren:
                head.append(c)
                continue
            if c == ";":
                finish(lineno, None)
            elif c == "{":
                opener = opener_kind("".join(head))
                if opener == "namespace":
                    head, start = [], None
                    scopes.append(Scope("namespace", scopes[-1].checked))
                elif opener in ("class", "struct", "union", "enum"):
                    checked = scopes[-1].checked and not (
                        scopes[-1].kind == "class" and scopes[-1].access != "public"
                    )
                    finish(lineno, opens_type=True)
                    if opener == "enum":
                        scopes.append(Scope("enum", False))
                    else:
                        access = "private" if opener == "class" else "public"
                        scopes.append(Scope("class", checked, access))
                else:
                    head.append(c)
                    skip_depth = 1
            elif c == "}":
                head, start = [], None
                if len(scopes) > 1:
                    scopes.pop()
            else:
                head.append(c)
        if start is not None:
            head.append(" ")
    return found


def opener_kind(head):
    """What a `{` after `head` opens: namespace, class, struct, union, enum,
    or None for a body or an initializer."""
    h = strip_attributes(strip_template_prefix(" ".join(head.split())))
    if re.match(r"^(inline\s+)?namespace\b", h) or h.startswith('extern "'):
        return "namespace"
    if re.match(r"^(typedef\s+)?enum\b", h):
        return "enum"
    m = re.match(r"^(class|struct|union)\b", h)
    if m and top_level_paren(h) < 0 and "=" not in h:
        return m.group(1)
    return None


def is_function_head(head):
    """Whether a statement whose braces just closed was a function with its
    body (so it ends there), rather than a variable with a brace initializer."""
    h = strip_attributes(strip_template_prefix(" ".join(head.split())))
    return top_level_paren(h) >= 0


def is_doc_comment(raw_line):
    """Whether a line (or a line's tail) is a comment that documents."""
    s = raw_line.strip()
    return s.startswith("//") and not NOT_DOC_RE.match(s)


def has_doc_comment(raw, lines, start, end, kind):
    """Whether the declaration on lines [start, end] has its comment."""
    k = start - 1
    while k >= 0 and CONDITIONAL_RE.match(raw[k]):
        k -= 1
    if k >= 0 and is_doc_comment(raw[k]):
        return True
    if kind in ("fields", "variables"):
        for j in range(start, end + 1):
            code_len = len(lines[j].rstrip())
            tail = raw[j][code_len:].strip() if code_len else ""
            if tail.startswith("//") and is_doc_comment(tail):
                return True
    return False


def main(argv):
    quiet = "--quiet" in argv
    every = "--all" in argv  # lists every declaration found, for checking the parser
    paths = [a for a in argv if not a.startswith("--")]
    files = [os.path.abspath(p) for p in paths] if paths else find_headers(ROOT)
    totals = {k: [0, 0] for k in KINDS}  # kind -> [documented, all]
    missing = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        rel = os.path.relpath(path, ROOT)
        for line, kind, name, documented in scan(text):
            totals[kind][1] += 1
            if every:
                print(f"{rel}:{line}: {name} ({kind[:-1]}) {'ok' if documented else 'MISSING'}")
            if documented:
                totals[kind][0] += 1
            else:
                missing += 1
                if not quiet and not every:
                    print(f"{rel}:{line}: {name} ({kind[:-1]})")
    parts = []
    for kind in KINDS:
        done, total = totals[kind]
        percent = 100 * done // total if total else 100
        documented = " documented" if not parts else ""
        parts.append(f"{kind} {done}/{total}{documented} ({percent}%)")
    print(", ".join(parts) + f"; {missing} missing in {len(files)} headers")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
