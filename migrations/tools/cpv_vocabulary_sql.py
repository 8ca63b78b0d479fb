#!/usr/bin/env python3
"""Writes the nabavkidata data revision that loads the CPV 2008 vocabulary.

Usage: cpv_vocabulary_sql.py CPV_CSV > 20251125_091000_load_cpv_2008_vocabulary.up.sql

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


def main(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["code8"], r["description_en"].strip()) for r in csv.DictReader(f)]
    codes = {code for code, _ in rows}
    if len(codes) != len(rows):
        sys.exit(f"{path}: duplicate codes")
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
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
