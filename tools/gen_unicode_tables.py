"""Generate csrc/unicode_tables.c: the Unicode classes the C pre-tokenization scanners need.

    python tools/gen_unicode_tables.py            # rewrite csrc/unicode_tables.c
    python tools/gen_unicode_tables.py --check    # exit 1 if the committed file is stale

The scanners must split text exactly as tiktoken does, and tiktoken runs its patterns with
fancy-regex on the Rust `regex` crate's Unicode tables, which lag the `regex` module's. So the
classes are computed twice: first with the `regex` module (fast, any version), then checked
against tiktoken itself, and where the two disagree tiktoken wins. The check builds a
`tiktoken.Encoding` whose vocabulary holds every code point's UTF-8 bytes as one token, with the
class as its whole pattern: tiktoken's `find_iter` skips the characters the class does not match,
so encoding the string of all code points yields exactly the members of the class.

Each code point gets one byte of flags (see csrc/unicode.h):

    L   \\p{L}                               N   \\p{N}
    S   \\s (Unicode White_Space)            U   [\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]  (o200k)
    W   [\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]  (o200k)

stored as a two-stage table: stage1[cp >> SHIFT] selects a block of stage2, identical blocks
shared. A second table serves the cleaning pass of `lmio prepare` (csrc/clean.c): per code point,
its canonical combining class when its NFC quick check is Yes, else 255 (No or Maybe, and every
code point unassigned in this Python's `unicodedata`, so that text the table does not know goes
to Python's own normalisation). It comes from `unicodedata` because `lmio.text.Cleaner`
normalises with it; the file names the Unicode version. The generator also checks the one other fact the scanners hard-code: under `(?i:...)` the
only non-ASCII character that matches a contraction letter (s d m t l v e r) is U+017F LATIN SMALL
LETTER LONG S, which folds to `s`.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

import regex

OUT = Path(__file__).resolve().parents[1] / "csrc" / "unicode_tables.c"

# flag bit -> (name, pattern); the bit values are mirrored in csrc/unicode.h
CLASSES = {
    0x01: ("L", r"\p{L}"),
    0x02: ("N", r"\p{N}"),
    0x04: ("S", r"\s"),
    0x08: ("U", r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]"),
    0x10: ("W", r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]"),
}
FOLD_PATTERN = r"(?i:[sdmtlvre])"
EXPECTED_FOLD = {ord(c) for c in "sdmtlvreSDMTLVRE"} | {0x17F}

CODE_POINTS = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
ALL_TEXT = "".join(map(chr, CODE_POINTS))


def members_regex(pattern: str) -> set[int]:
    return {ord(c) for c in regex.findall(pattern, ALL_TEXT)}


class TiktokenOracle:
    """Class membership as tiktoken's regex engine sees it."""

    def __init__(self) -> None:
        import tiktoken

        self.tiktoken = tiktoken
        self.version = tiktoken.__version__
        ranks = {bytes([b]): b for b in range(256)}
        for cp in CODE_POINTS:
            encoded = chr(cp).encode()
            if len(encoded) > 1:
                ranks[encoded] = len(ranks)
        self.ranks = ranks

    def members(self, pattern: str) -> set[int]:
        enc = self.tiktoken.Encoding(
            "lmio-unicode-probe", pat_str=pattern, mergeable_ranks=self.ranks, special_tokens={}
        )
        tokens = enc.encode_ordinary(ALL_TEXT)
        return {ord(enc.decode_single_token_bytes(t).decode()) for t in tokens}


def ranges(cps: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1] = (out[-1][0], cp)
        else:
            out.append((cp, cp))
    return out


def fmt_ranges(cps: set[int]) -> list[str]:
    """All ranges, wrapped for a C comment."""
    items = [f"U+{a:04X}" if a == b else f"U+{a:04X}..U+{b:04X}" for a, b in ranges(cps)]
    lines = [""]
    for item in items:
        if len(lines[-1]) + len(item) > 90:
            lines.append("")
        lines[-1] += item + " "
    return ["    " + line.rstrip() for line in lines]


def nfc_classes() -> bytearray:
    """Per code point: its canonical combining class if its NFC_QC is Yes, else 255.

    NFC_QC is No for a code point that normalisation changes on its own, and Maybe for one that
    can be the second of a primary composite (the second of a two-character canonical
    decomposition that NFC composes back) and for the Hangul vowel and trailing jamo. Unassigned
    code points get 255 too: a later Unicode may give them a class this table cannot know.
    """
    table = bytearray(0x110000)
    maybe = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for cp in CODE_POINTS:
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = [int(part, 16) for part in decomposition.split()]
            if len(parts) == 2 and unicodedata.normalize("NFC", chr(parts[0]) + chr(parts[1])) == (
                chr(cp)
            ):
                maybe.add(parts[1])
    for cp in range(0x110000):
        char = chr(cp)
        if (
            0xD800 <= cp <= 0xDFFF
            or cp in maybe
            or unicodedata.category(char) == "Cn"
            or unicodedata.normalize("NFC", char) != char
        ):
            table[cp] = 255
        else:
            table[cp] = unicodedata.combining(char)
            assert table[cp] < 255
    return table


def two_stage(flags: bytearray) -> tuple[int, list[int], bytes]:
    best: tuple[int, int, list[int], bytes] | None = None
    for shift in (5, 6, 7, 8):
        size = 1 << shift
        blocks: dict[bytes, int] = {}
        stage1: list[int] = []
        for start in range(0, 0x110000, size):
            block = bytes(flags[start : start + size])
            stage1.append(blocks.setdefault(block, len(blocks)))
        stage2 = b"".join(blocks)  # dicts keep insertion order: block i is at i * size
        total = 2 * len(stage1) + len(stage2)
        if best is None or total < best[0]:
            best = (total, shift, stage1, stage2)
    assert best is not None and len(best[3]) >> best[1] <= 0xFFFF
    return best[1], best[2], best[3]


def stage_lines(name: str, stage1: list[int], stage2: bytes) -> list[str]:
    lines = [f"const uint16_t {name}_stage1[{len(stage1)}] = {{"]
    for i in range(0, len(stage1), 16):
        lines.append("    " + ", ".join(str(v) for v in stage1[i : i + 16]) + ",")
    lines += ["};", "", f"const uint8_t {name}_stage2[{len(stage2)}] = {{"]
    for i in range(0, len(stage2), 24):
        lines.append("    " + ", ".join(str(v) for v in stage2[i : i + 24]) + ",")
    return [*lines, "};", ""]


def render(flags: bytearray, nfc: bytearray, notes: list[str]) -> str:
    shift, stage1, stage2 = two_stage(flags)
    nfc_shift, nfc_stage1, nfc_stage2 = two_stage(nfc)
    lines = [
        "/* GENERATED by tools/gen_unicode_tables.py: do not edit; rerun the generator. */",
        "/*",
        " * Unicode class flags per code point for the pre-tokenization scanners (see unicode.h).",
        *[f" * {n}" for n in notes],
        " */",
        '#include "unicode.h"',
        "",
        *stage_lines("lmio_ucd", stage1, stage2),
    ]
    # Byte-indexed flags for the scanners' ASCII fast path; bytes >= 0x80 start (or continue)
    # a multi-byte sequence and carry LMIO_UC_NONASCII instead.
    ascii_flags = [flags[b] if b < 0x80 else 0x80 for b in range(256)]
    lines.append("const uint8_t lmio_ucd_ascii[256] = {")
    for i in range(0, 256, 16):
        lines.append("    " + ", ".join(str(v) for v in ascii_flags[i : i + 16]) + ",")
    lines += ["};", ""]
    lines += [
        f"/* NFC quick check for the cleaning pass, from Python's unicodedata "
        f"{unicodedata.unidata_version}: the",
        " * canonical combining class where NFC_QC is Yes, 255 where it is No or Maybe or the code",
        " * point is unassigned. */",
        *stage_lines("lmio_nfc", nfc_stage1, nfc_stage2),
    ]
    header = (Path(__file__).resolve().parents[1] / "csrc" / "unicode.h").read_text()
    for name, chosen in (("LMIO_UCD_SHIFT", shift), ("LMIO_NFC_SHIFT", nfc_shift)):
        if f"#define {name} {chosen}\n" not in header:
            sys.exit(f"csrc/unicode.h must define {name} {chosen} (the block size chosen here)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs")
    parser.add_argument(
        "--no-tiktoken", action="store_true", help="skip the tiktoken check (NOT for commits)"
    )
    args = parser.parse_args()

    notes = [f"Computed with the regex module {regex.__version__}"]
    oracle = None if args.no_tiktoken else TiktokenOracle()
    if oracle is not None:
        notes[0] += (
            f", checked against tiktoken {oracle.version} (tiktoken wins where they differ)."
        )
    flags = bytearray(0x110000)
    for bit, (name, pattern) in CLASSES.items():
        members = members_regex(pattern)
        if oracle is not None:
            truth = oracle.members(pattern)
            if members - truth:
                notes.append(f"{name}: regex module only ({len(members - truth)} code points):")
                notes.extend(fmt_ranges(members - truth))
            if truth - members:
                notes.append(f"{name}: tiktoken only ({len(truth - members)} code points):")
                notes.extend(fmt_ranges(truth - members))
            members = truth
        for cp in members:
            flags[cp] |= bit
        print(f"{name:2} {pattern:34} {len(members):7} code points", file=sys.stderr)

    fold = members_regex(FOLD_PATTERN)
    if oracle is not None:
        fold = oracle.members(FOLD_PATTERN)
    if fold != EXPECTED_FOLD:
        changed = " ".join(fmt_ranges(fold ^ EXPECTED_FOLD))
        sys.exit(f"case folding of contraction letters changed: {changed}")
    notes.append(
        "(?i:[sdmtlvre]) matches ASCII letters plus U+017F (folds to s), as scanners assume."
    )

    text = render(flags, nfc_classes(), notes)
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: rerun tools/gen_unicode_tables.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    for note in notes:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
