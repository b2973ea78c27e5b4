"""The browser's message type names (static/js/wire.js) are the wire registry's
(interviews/wire.py), and no other page module writes one as a string literal.

Plain Python, no browser: wire.js is read with a regular expression, the other
modules with a small tokenizer that knows JavaScript's comments, strings,
template literals and regular expression literals.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from interviews.wire import ClientType, EventType

JS = Path(__file__).resolve().parents[2] / "static" / "js"
WIRE_JS = JS / "wire.js"

OBJECT = re.compile(r"export const (\w+) = Object\.freeze\(\{(.*?)\}\);", re.S)
MEMBER = re.compile(r'^\s*([A-Z][A-Z0-9_]*): "([^"\\]*)",?\s*$')


def wire_js() -> dict[str, dict[str, str]]:
    """wire.js's frozen objects: {object name: {member name: value}}."""
    objects = {}
    for name, body in OBJECT.findall(WIRE_JS.read_text()):
        members = {}
        for line in body.splitlines():
            if not line.strip() or line.strip().startswith("//"):
                continue
            match = MEMBER.match(line)
            assert match, f'wire.js, {name}: not a `NAME: "value",` line: {line!r}'
            assert match[1] not in members, f"wire.js, {name}: {match[1]} twice"
            members[match[1]] = match[2]
        objects[name] = members
    return objects


@pytest.mark.parametrize("registry", [ClientType, EventType], ids=lambda r: r.__name__)
def test_wire_js_declares_the_registrys_names_and_values(registry: type[enum.StrEnum]):
    objects = wire_js()
    assert set(objects) == {"ClientType", "EventType"}
    assert objects[registry.__name__] == {m.name: m.value for m in registry}


# A regular expression literal may start after these (otherwise `/` divides).
REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {""}
WORD = re.compile(r"[\w$]+")
REGEX_AFTER_WORDS = {"return", "typeof", "case", "in", "of", "delete", "void", "throw", "yield"}


def string_literals(source: str) -> Iterator[tuple[int, str, str]]:
    """Every string in JavaScript `source` outside comments: (line, value, the
    code just before it). Quoted strings, and the text parts of template
    literals (those inside `${...}` are scanned as code)."""
    i, n = 0, len(source)
    braces: list[str] = []  # "{" for a block or object, "${" for a substitution
    last = ""  # the last significant token, to tell a regex from a division

    def line(at: int) -> int:
        return source.count("\n", 0, at) + 1

    def template_text(start: int) -> int:
        """Where the template text from `start` ends: at `` ` `` or `${`."""
        j = start
        while source[j] != "`" and not source.startswith("${", j):
            j += 2 if source[j] == "\\" else 1
        return j

    while i < n:
        c = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif c in "\"'":
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            yield line(i), source[i + 1 : j], source[max(0, i - 40) : i]
            i, last = j + 1, c
        elif c == "`" or (c == "}" and braces and braces[-1] == "${"):
            if c == "}":
                braces.pop()
            end = template_text(i + 1)
            yield line(i + 1), source[i + 1 : end], "`"
            i = end
            if source.startswith("${", i):
                braces.append("${")
                i += 2
                last = "{"
            else:
                i, last = i + 1, "`"
        elif c == "/" and (last in REGEX_AFTER or last in REGEX_AFTER_WORDS):
            j, in_class = i + 1, False
            while in_class or source[j] != "/":
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i, last = j + 1, "/regex/"
        elif c.isalnum() or c in "_$":
            word = WORD.match(source, i)[0]
            i, last = i + len(word), word
        else:
            if c == "{":
                braces.append("{")
            elif c == "}" and braces:
                braces.pop()
            if not c.isspace():
                last = c
            i += 1


def test_the_tokenizer_finds_strings_and_skips_comments_and_regexes():
    source = (
        '// "not.this"\n'
        "/* 'nor.this' */\n"
        "const a = \"one\", b = 'two';\n"
        'const c = x / 2 / y; const r = /[/"]+/g;\n'
        'const t = `three ${f("four") ? `five` : "six"} seven`;\n'
        'const d = `${scheme}//${host}`; // "eight"\n'
        'const e = "nine\\"ten";\n'
    )
    found = [(at, value) for at, value, _ in string_literals(source)]
    assert found == [
        (3, "one"),
        (3, "two"),
        (5, "three "),
        (5, "four"),
        (5, "five"),
        (5, "six"),
        (5, " seven"),
        (6, ""),
        (6, "//"),
        (6, ""),
        (7, 'nine\\"ten'),
    ]


WIRE_NAMES = {m.value for m in ClientType} | {m.value for m in EventType}
# A literal that is another field's value is that field's word, not a message
# type: mic.js's microphone problem `code: "error"`.
OTHER_FIELD = re.compile(r"[{,]\s*(?!type\b)[A-Za-z_$][\w$]*\s*:\s*$")


def test_no_other_module_writes_a_wire_type_name_as_a_string():
    modules = sorted(p for p in JS.glob("*.js") if p != WIRE_JS)
    assert {p.name for p in modules} >= {
        "candidate.js",
        "observer.js",
        "transcript.js",
        "lobby.js",
        "socket.js",
    }
    found = [
        f"{path.name}:{at}: {value!r}"
        for path in modules
        for at, value, before in string_literals(path.read_text())
        if value in WIRE_NAMES and not OTHER_FIELD.search(before)
    ]
    assert not found, "use ClientType/EventType from wire.js instead:\n" + "\n".join(found)


def test_the_check_would_see_a_written_name():
    source = (
        'socket.send({ type: "turn.end" });\n'
        'if (event.type === "ai.delta") f();\n'
        'const x = { code: "error" };\n'
        "const y = `ping`;\n"
        'const z = ok ? a : "presence";\n'
    )
    flagged = [
        value
        for _, value, before in string_literals(source)
        if value in WIRE_NAMES and not OTHER_FIELD.search(before)
    ]
    assert flagged == ["turn.end", "ai.delta", "ping", "presence"]
