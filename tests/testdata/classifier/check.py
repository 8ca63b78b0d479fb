#!/usr/bin/env python3
"""Run every sample of statements.sql inside BEGIN ... ROLLBACK and report.

Usage: check.py [--psql PATH] [--statements FILE] CONNINFO

CONNINFO is a libpq connection string for a database where setup.sql has
already run (as a superuser).  Each entry is executed in its own psql session
(prepared statements survive ROLLBACK, so sessions are not shared) as

    BEGIN; <-- before: statements>; <statement>; ROLLBACK;

and one line is printed per entry:

    <index> <kind> <OK|25001|ERROR:<sqlstate>|SKIP> <first 60 chars of statement>

`-- control` entries (transaction control) are not run and print SKIP.
A trailing `!` marks a result that is neither OK, 25001 nor the entry's
`-- expect-error:` SQLSTATE; the exit status is 1 if there is any.

If libpg_query.so can be loaded (ctypes, optional), the `-- kind:` of every
entry is also checked against the parser's top-level node name.

Entry format (entries are separated by blank lines; blocks without a
`-- kind:` line are comments):

    -- kind: <NodeName>
    -- control                          (optional)
    -- expect-error: <SQLSTATE> <why>   (optional)
    -- before: <statement>;             (optional, repeatable, one line each)
    <statement, one or more lines, ending with ';' at end of line>
"""

import argparse
import ctypes
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_entries(path):
    with open(path, encoding="utf-8") as f:
        blocks = re.split(r"\n[ \t]*\n", f.read())
    entries = []
    for block in blocks:
        lines = [l for l in block.strip("\n").split("\n") if l.strip()]
        if not any(l.startswith("-- kind:") for l in lines):
            continue
        e = {"kind": None, "control": False, "expect": None, "before": [], "sql": []}
        for l in lines:
            if l.startswith("-- kind:"):
                e["kind"] = l.split(":", 1)[1].strip()
            elif l.strip() == "-- control":
                e["control"] = True
            elif l.startswith("-- expect-error:"):
                e["expect"] = l.split(":", 1)[1].split()[0]
            elif l.startswith("-- before:"):
                e["before"].append(l.split(":", 1)[1].strip())
            elif l.startswith("--"):
                pass  # free-form comment
            else:
                e["sql"].append(l)
        e["sql"] = "\n".join(e["sql"])
        if not e["sql"].endswith(";"):
            sys.exit("entry without terminating ';': %r" % e["sql"][:80])
        entries.append(e)
    return entries


class Parser:
    """Optional top-level node name lookup through libpg_query (ctypes)."""

    def __init__(self):
        self.lib = None
        try:
            lib = ctypes.CDLL("libpg_query.so")
        except OSError:
            return

        class Err(ctypes.Structure):
            _fields_ = [("message", ctypes.c_char_p), ("funcname", ctypes.c_char_p),
                        ("filename", ctypes.c_char_p), ("lineno", ctypes.c_int),
                        ("cursorpos", ctypes.c_int), ("context", ctypes.c_char_p)]

        class Res(ctypes.Structure):
            _fields_ = [("parse_tree", ctypes.c_char_p), ("stderr_buffer", ctypes.c_char_p),
                        ("error", ctypes.POINTER(Err))]

        lib.pg_query_parse.restype = Res
        lib.pg_query_parse.argtypes = [ctypes.c_char_p]
        lib.pg_query_free_parse_result.argtypes = [Res]
        self.lib = lib

    def kinds(self, sql):
        if not self.lib:
            return None
        r = self.lib.pg_query_parse(sql.encode())
        try:
            if r.error:
                return ["PARSE-ERROR"]
            tree = json.loads(r.parse_tree.decode())
            return [next(iter(s["stmt"])) for s in tree.get("stmts", [])]
        finally:
            self.lib.pg_query_free_parse_result(r)


def run_entry(psql, conninfo, e):
    script = ["\\set VERBOSITY verbose", "BEGIN;"]
    for b in e["before"]:
        script += [b, "\\if :ERROR", "\\echo CLS_RESULT BEFORE :LAST_ERROR_SQLSTATE", "\\q", "\\endif"]
    script += [e["sql"],
               "\\if :ERROR", "\\echo CLS_RESULT ERROR :LAST_ERROR_SQLSTATE",
               "\\else", "\\echo CLS_RESULT OK", "\\endif",
               "ROLLBACK;", ""]
    p = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", conninfo],
                       input="\n".join(script), capture_output=True, text=True, timeout=120)
    res = [l.split()[1:] for l in p.stdout.splitlines() if l.startswith("CLS_RESULT ")]
    errs = [l for l in p.stderr.splitlines() if "ERROR:" in l]
    if not res:
        return "NORESULT", (p.stderr.strip().splitlines() or [""])[-1]
    r = res[-1]
    if r[0] == "OK":
        return "OK", ""
    if r[0] == "BEFORE":
        return "BEFORE-ERROR:" + r[1], errs[-1] if errs else ""
    if r[1] == "25001":
        return "25001", ""
    return "ERROR:" + r[1], errs[-1] if errs else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("conninfo")
    ap.add_argument("--psql", default="psql")
    ap.add_argument("--statements", default=os.path.join(HERE, "statements.sql"))
    args = ap.parse_args()

    parser = Parser()
    bad = 0
    for i, e in enumerate(parse_entries(args.statements), 1):
        flat = " ".join(e["sql"].split())[:60]
        notes = []
        kinds = parser.kinds(e["sql"])
        if kinds is not None and kinds != [e["kind"]]:
            notes.append("KIND-MISMATCH parsed=%s" % ",".join(kinds))
        if e["control"]:
            status = "SKIP"
        else:
            status, msg = run_entry(args.psql, args.conninfo, e)
            expected = status in ("OK", "25001") and e["expect"] is None
            if e["expect"] is not None:
                expected = status == "ERROR:" + e["expect"]
                if not expected:
                    notes.append("expected %s" % e["expect"])
            if not expected and msg:
                notes.append(msg.strip())
            if not expected:
                status += "!"
        if status.endswith("!") or any(n.startswith("KIND") for n in notes):
            bad += 1
        print(i, e["kind"], status, flat + (("   # " + " | ".join(notes)) if notes else ""))
        sys.stdout.flush()
    if bad:
        print("%d unexpected result(s)" % bad, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
