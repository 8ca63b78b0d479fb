#!/usr/bin/env python3
"""Writes the nabavkidata data revision that loads the CPV 2008 vocabulary.

Usage: cpv_vocabulary_sql.py CPV_CSV up > 20251125_091000_load_cpv_2008_vocabulary.up.sql
       cpv_vocabulary_sql.py CPV_CSV down > 20251125_091000_load_cpv_2008_vocabulary.down.sql

CPV_CSV has the columns code8,description_en (../shared/data/cpv2008_en.csv: 9,454 codes).
The hierarchy is the code's own: a code's significant digits are those before its trailing
zeros (at least two, the division); level is 1 for a division (2 digits), 2 for a group (3),
3 for a class (4), 4 for a category (5) and 5 below; the parent is the longest code of the
vocabulary that the code extends (its digits with the last significant ones zeroed). The
output is deterministic: the same CSV gives the same file (the catalog's checksum).
"""
import csv
import sys


def significant(code):
    return max(2, len(code.rstrip("0")))


def quote(text):
    return "'" + text.replace("'", "''") + "'"


# The 50 codes of 20251124_090000 (the 45 divisions and the five groups of division 45): the
# down leaves them to that revision's down.
SEEDED_GROUPS = {"45100000", "45200000", "45300000", "45400000", "45500000"}


def write_down(rows):
    by_digits = {}
    for code, _ in rows:
        if significant(code) == 2 or code in SEEDED_GROUPS:
            continue
        by_digits.setdefault(significant(code), []).append(code)
    out = sys.stdout
    out.write("""-- Revert 20251125_091000: delete the codes it loaded (the vocabulary but the 50 of
-- 20251124_090000), finest first, as written by migrations/tools/cpv_vocabulary_sql.py.
-- Codes outside the vocabulary, and rows someone enriched since (a Macedonian name, a
-- check digit), are left alone. Fails (ON DELETE RESTRICT) while a tender or a finer code
-- still references one: master data in use is not silently removed.
""")
    for digits in sorted(by_digits, reverse=True):
        codes = sorted(by_digits[digits])
        # One array literal, not an IN list: a single constant for the parser (a list of
        # 9,404 literals is a large parse tree held by every schemad that loads the catalog).
        out.write(f"\n-- {len(codes)} code(s) with {digits} significant digits.\n")
        out.write("DELETE FROM cpv_codes WHERE name_mk IS NULL AND check_digit IS NULL AND "
                  "code = ANY ('{\n")
        for i in range(0, len(codes), 10):
            chunk = ",".join(codes[i:i + 10])
            out.write(f"    {chunk}{',' if i + 10 < len(codes) else ''}\n")
        out.write("}'::text[]);\n")


def main(path, direction):
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["code8"], r["description_en"].strip()) for r in csv.DictReader(f)]
    codes = {code for code, _ in rows}
    if len(codes) != len(rows):
        sys.exit(f"{path}: duplicate codes")
    if direction == "down":
        write_down(rows)
        return
    lines = []
    for code, name in sorted(rows):
        if len(code) != 8 or not code.isdigit() or not name:
            sys.exit(f"{path}: bad row {code!r}")
        digits = significant(code)
        parent = None
        for k in range(digits - 1, 1, -1):
            candidate = code[:k] + "0" * (8 - k)
            if candidate in codes:
                parent = candidate
                break
        if digits > 2 and parent is None:
            sys.exit(f"{path}: {code} has no parent in the vocabulary")
        level = min(5, digits - 1)
        lines.append(f"    ({quote(code)}, {quote(parent) if parent else 'NULL'}, {level}, {quote(name)})")
    out = sys.stdout
    out.write(f"""-- Revision 20251125_091000: load the whole CPV 2008 vocabulary ({len(rows):,} codes).
-- Commission Regulation (EC) No 213/2008, English names; written by
-- migrations/tools/cpv_vocabulary_sql.py from ../shared/data/cpv2008_en.csv (do not
-- edit by hand). Codes are the eight digits (20251125_090000); the file has no
-- check digits, so check_digit stays as it is (known for the 50 seeded codes).
-- Level and parent come from the digits: the parent is the longest code of the
-- vocabulary that the code extends. Idempotent and one statement: a re-run
-- changes nothing; a name, parent or level that differs from the vocabulary's
-- is repaired; codes outside the vocabulary are left alone. The foreign key to
-- the parent is checked at the end of the statement, so order does not matter.

INSERT INTO cpv_codes AS c (code, parent_code, level, name_en) VALUES
""")
    out.write(",\n".join(lines))
    out.write("""
ON CONFLICT (code) DO UPDATE
    SET parent_code = EXCLUDED.parent_code,
        level = EXCLUDED.level,
        name_en = EXCLUDED.name_en
    WHERE (c.parent_code, c.level, c.name_en)
          IS DISTINCT FROM (EXCLUDED.parent_code, EXCLUDED.level, EXCLUDED.name_en);
""")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("up", "down"):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
