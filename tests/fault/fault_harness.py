#!/usr/bin/env python3
"""Fault-injection harness for schemad: drives the real schemad and schemactl binaries against a
throwaway PostgreSQL 15 cluster, injects one fault per trial in the middle of an apply, recovers
with the CLI only, and checks invariants directly in the database with psql.

    fault_harness.py --schemad PATH --schemactl PATH --trials N [--seed S] [--keep]
                     [--without-chained]   (diagnostic only)

One line per trial (`trial 3 kill-schemad at 0.84s: ok` or `... BAD: <invariant>`), then
`N passed, M failed`; exit 0 iff M == 0. Python 3 standard library only.

Faults (round-robin over a seeded shuffle):
  kill-schemad           kill -9 the schemad running the apply, then start a fresh one
  pg-restart-fast        pg_ctl restart -m fast
  pg-restart-immediate   pg_ctl restart -m immediate
  terminate-lock-holder  pg_terminate_backend() of the advisory-lock holder while a second
                         schemad immediately also applies
  kill-schemactl         kill -9 the schemactl client streaming the apply

Invariants:
  a  after the fault, before recovery (one REPEATABLE READ snapshot): a recorded revision has all
     its effects; a transactional revision (or a COMMIT AND CHAIN segment) that is not recorded
     has none or all; a non-transactional revision's partial effects are a prefix; revisions are
     recorded in catalog order; no mark twice.
  b  after recovery: every revision recorded exactly once, every mark exactly once, all indexes
     valid, all tables there.
  c  after recovery: no run left in state `running`.
  d  the journal tells the truth: no `succeeded` run with its revisions missing (before and after
     recovery), no client told APPLIED with revisions missing, the last apply run is succeeded
     or resolved, every recorded revision names a run that exists.

CLI/JSON assumptions (schemactl --json = protobuf JSON, proto field names): `status` prints one
GetStatusResponse object with `pending_count` and, only when blocked, `blocking_run` {`run_id`,
`state`: "RUN_STATE_*"}; `apply` prints one RunEvent object per line (`step_started`.`version`,
`run_finished`.`outcome` "OUTCOME_*", `error`); `resolve --run ID --retry`; exit code 7 =
unreachable. Bookkeeping: schemad.migrations(catalog, version, version_key, run_id),
schemad.runs(run_id, catalog, operation, state, started_at, target_version, current_version, ...).
"""

import argparse
import atexit
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"
PSQL = next(p for p in (os.path.join(PG_BIN, "psql"), "/usr/bin/psql") if os.path.exists(p))
CATALOG_NAME = "faultcat"
FAULTS = ["kill-schemad", "pg-restart-fast", "pg-restart-immediate", "terminate-lock-holder",
          "kill-schemactl"]
TRIAL_DEADLINE = 55.0       # seconds per trial, recovery included
RECOVERY_STEPS = 6          # status -> resolve/apply rounds
CLIENT_DRAIN = 25.0         # how long in-flight apply clients may take to end after the fault


# --------------------------------------------------------------------------------------------
# The fault catalog: each revision is a list of statements, each with the effects it leaves.
# Units are what must appear atomically: the whole file (transactional), one statement
# (no-transaction), one segment between COMMIT AND CHAINs (chained).

def S(sql, *effects):
    return (sql, list(effects))


SLEEP = lambda s: S("SELECT pg_sleep(%s)" % s)  # noqa: E731
MARK = lambda tag: S("INSERT INTO marks VALUES ('%s')" % tag, ("mark", tag))  # noqa: E731
CHAIN = ("COMMIT AND CHAIN", ["<chain>"])
NOTX = "-- schemad:no-transaction"

BIG_ROWS = 200000

REVISIONS = [
    # version, name, kind, statements, down
    ("0001", "marks", "tx", [
        S("CREATE TABLE marks (tag text)", ("table", "marks")),  # no unique: doubles show
        MARK("0001"), SLEEP(0.2)],
     "DROP TABLE marks"),
    ("0002", "t_0002", "tx", [
        S("CREATE TABLE t_0002 (id int)", ("table", "t_0002")),
        MARK("0002"), SLEEP(0.3), MARK("0002b")],
     "DROP TABLE t_0002; DELETE FROM marks WHERE tag IN ('0002', '0002b')"),
    ("0003", "notx_marks", "notx", [
        MARK("0003a"), SLEEP(0.3), MARK("0003b"), SLEEP(0.3), MARK("0003c")],
     NOTX + "\nDELETE FROM marks WHERE tag LIKE '0003%'"),
    ("0004", "big", "tx", [
        S("CREATE TABLE big (id int, v int)", ("table", "big")),
        S("INSERT INTO big SELECT g, g %% 1000 FROM generate_series(1, %d) g" % BIG_ROWS),
        MARK("0004"), SLEEP(0.2)],
     "DROP TABLE big; DELETE FROM marks WHERE tag = '0004'"),
    ("0005", "chained", "chain", [
        MARK("0005a"), SLEEP(0.3), CHAIN, MARK("0005b"), SLEEP(0.3)],
     "DELETE FROM marks WHERE tag LIKE '0005%'"),
    ("0006", "big_v_idx", "notx", [
        S("CREATE INDEX CONCURRENTLY big_v_idx ON big (v)", ("index", "big_v_idx"))],
     "DROP INDEX CONCURRENTLY big_v_idx"),
    ("0007", "t_0007", "tx", [
        S("CREATE TABLE t_0007 (id int)", ("table", "t_0007")),
        S("ALTER TABLE big ADD COLUMN w int", ("column", "big.w")),
        MARK("0007"), SLEEP(0.3), MARK("0007b")],
     "DROP TABLE t_0007; ALTER TABLE big DROP COLUMN w; "
     "DELETE FROM marks WHERE tag IN ('0007', '0007b')"),
    ("0008", "notx_index", "notx", [
        MARK("0008a"), SLEEP(0.2),
        S("CREATE INDEX CONCURRENTLY big_id_idx ON big (id)", ("index", "big_id_idx")),
        MARK("0008b")],
     NOTX + "\nDROP INDEX CONCURRENTLY big_id_idx;\nDELETE FROM marks WHERE tag LIKE '0008%'"),
    ("0009", "chained3", "chain", [
        S("CREATE TABLE t_0009 (id int)", ("table", "t_0009")), MARK("0009a"), SLEEP(0.2),
        CHAIN, MARK("0009b"), SLEEP(0.2), CHAIN, MARK("0009c")],
     "DROP TABLE t_0009; DELETE FROM marks WHERE tag LIKE '0009%'"),
    ("0010", "t_0010", "tx", [
        S("CREATE TABLE t_0010 (id int)", ("table", "t_0010")),
        MARK("0010"), SLEEP(0.3), MARK("0010b")],
     "DROP TABLE t_0010; DELETE FROM marks WHERE tag IN ('0010', '0010b')"),
]


def units_of(kind, statements):
    """The atomic groups of effects of a revision, in execution order."""
    if kind == "tx":
        return [[e for _, effects in statements for e in effects]]
    if kind == "notx":
        return [effects for _, effects in statements if effects]
    units, current = [], []
    for _, effects in statements:
        if effects == ["<chain>"]:
            units.append(current)
            current = []
        else:
            current.extend(effects)
    units.append(current)
    return [u for u in units if u]


class Rev:
    def __init__(self, version, name, kind, statements, down):
        self.version, self.name, self.kind, self.down = version, name, kind, down
        self.statements = statements
        self.units = units_of(kind, statements)
        self.effects = [e for u in self.units for e in u]

    def up_sql(self):
        body = ";\n".join(sql for sql, _ in self.statements) + ";\n"
        # A lone CREATE INDEX CONCURRENTLY is left to the parser to classify; other
        # no-transaction files say so with the directive.
        if self.kind == "notx" and len(self.statements) > 1:
            body = NOTX + "\n" + body
        return body


CATALOG, ALL_MARKS, LATEST = [], [], None


def use_catalog(without_chained):
    global LATEST
    CATALOG[:] = [Rev(*r) for r in REVISIONS if not (without_chained and r[2] == "chain")]
    ALL_MARKS[:] = [e[1] for r in CATALOG for e in r.effects if e[0] == "mark"]
    LATEST = CATALOG[-1].version


def write_catalog(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "catalog.yaml"), "w") as f:
        f.write("name: %s\ndescription: fault-injection catalog of tests/fault/fault_harness.py\n"
                % CATALOG_NAME)
    for rev in CATALOG:
        base = os.path.join(folder, "%s_%s" % (rev.version, rev.name))
        with open(base + ".up.sql", "w") as f:
            f.write(rev.up_sql())
        with open(base + ".down.sql", "w") as f:
            f.write(rev.down.rstrip(";\n") + ";\n")


# --------------------------------------------------------------------------------------------
# Process bookkeeping: everything we start is tracked and stopped at the end, by pid.

LIVE = []          # Popen objects we started that may still run
CLEANUPS = []      # callables run once at exit (reverse order)
_cleaned = False


def track(proc):
    LIVE.append(proc)
    return proc


def stop_proc(proc, grace=5.0):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            proc.kill()
            proc.wait(timeout=5)
        except Exception:
            pass
    except Exception:
        pass


def cleanup_all():
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    for proc in list(LIVE):
        stop_proc(proc)
    for fn in reversed(CLEANUPS):
        try:
            fn()
        except Exception as e:  # keep cleaning
            print("cleanup: %s" % e, file=sys.stderr)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def short(text, n=300):
    text = (text or "").strip().replace("\n", " | ")
    return text if len(text) <= n else text[:n] + "..."


def free_tcp_port(lo, hi, rng):
    for _ in range(200):
        port = rng.randint(lo, hi)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


# --------------------------------------------------------------------------------------------
# The throwaway cluster.

class Cluster:
    def __init__(self, root, rng):
        self.root = root
        self.pgroot = os.path.join(root, "pg")
        self.data = os.path.join(self.pgroot, "data")
        self.sock = os.path.join(self.pgroot, "sock")
        self.log = os.path.join(self.pgroot, "postgres.log")
        self.port = None
        self.rng = rng
        self.as_root = os.geteuid() == 0
        self.started = False

    def _pg(self, args, timeout):
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        out_path = os.path.join(self.root, "pg_ctl.out")
        # pg_ctl's postmaster must not inherit our pipes: output goes to files only.
        with open(out_path, "a") as out:
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                timeout=timeout, cwd="/").returncode
        if rc != 0:
            with open(out_path) as f:
                tail = f.read()[-800:]
            raise RuntimeError("%s failed (%d): %s" % (" ".join(args[:2]), rc, short(tail, 600)))

    def opts(self):
        # -F (fsync off) is fine here: kill -9 of schemad does not touch PostgreSQL, and a
        # `pg_ctl restart -m immediate` is a PostgreSQL crash, not an OS crash, so committed
        # data is still in the OS page cache and crash recovery replays it. Only a real OS
        # crash could lose committed data with fsync off, and no trial does that.
        return "-F -k %s -p %d -c listen_addresses='' -c max_connections=200" % (self.sock,
                                                                                self.port)

    def start(self):
        os.makedirs(self.sock, exist_ok=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            for d in (self.pgroot, self.sock):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        for d in (self.root, self.pgroot, self.sock):
            os.chmod(d, 0o755)
        self.port = free_tcp_port(55600, 55999, self.rng)
        while os.path.exists(os.path.join(self.sock, ".s.PGSQL.%d" % self.port)):
            self.port = free_tcp_port(55600, 55999, self.rng)
        self._pg([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust", "-N",
                  "--locale=C.UTF-8", "-E", "UTF8", "-U", "postgres"], timeout=120)
        CLEANUPS.append(self.stop)
        self._pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                  "-t", "60", "-o", self.opts(), "start"], timeout=90)
        self.started = True

    def restart(self, mode):
        self._pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                  "-t", "60", "-m", mode, "-o", self.opts(), "restart"], timeout=90)

    def ensure_up(self):
        if subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-h", self.sock, "-p",
                           str(self.port), "-t", "5"], capture_output=True,
                          timeout=15).returncode == 0:
            return
        self._pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                  "-t", "60", "-o", self.opts(), "start"], timeout=90)

    def stop(self):
        if not self.started:
            return
        self.started = False
        try:
            self._pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "30", "-m",
                      "fast", "stop"], timeout=45)
        except Exception:
            self._pg([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-w", "-t", "30", "-m",
                      "immediate", "stop"], timeout=45)

    def dsn(self, db):
        return "host=%s port=%d dbname=%s user=postgres" % (self.sock, self.port, db)

    def psql(self, db, sql, timeout=30):
        """Runs a script; returns stdout (unaligned, tuples only). Raises on error."""
        r = subprocess.run([PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                            "-p", str(self.port), "-U", "postgres", "-d", db],
                           input=sql, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
        if r.returncode != 0:
            raise RuntimeError("psql on %s: %s" % (db, short(r.stderr, 400)))
        return r.stdout


SNAPSHOT_SQL = r"""
BEGIN ISOLATION LEVEL REPEATABLE READ;
CREATE FUNCTION pg_temp.fault_snapshot() RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  r jsonb := '{}'::jsonb;
  v jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(relname::text ORDER BY relname), '[]') INTO v FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p');
  r := r || jsonb_build_object('tables', v);
  SELECT coalesce(jsonb_object_agg(c.relname::text, i.indisvalid), '{}') INTO v
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relnamespace = 'public'::regnamespace;
  r := r || jsonb_build_object('indexes', v);
  SELECT coalesce(jsonb_agg(t.relname::text || '.' || a.attname::text), '[]') INTO v
    FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
    WHERE t.relnamespace = 'public'::regnamespace AND t.relkind = 'r' AND a.attnum > 0
      AND NOT a.attisdropped;
  r := r || jsonb_build_object('columns', v);
  IF EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = 'public'::regnamespace
             AND relname = 'marks') THEN
    EXECUTE 'SELECT coalesce(jsonb_object_agg(tag, n), ''{}'') FROM '
            '(SELECT coalesce(tag, ''<null>'') AS tag, count(*) AS n FROM public.marks '
            'GROUP BY 1) s' INTO v;
    r := r || jsonb_build_object('marks', v);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = 'public'::regnamespace
             AND relname = 'big') THEN
    EXECUTE 'SELECT to_jsonb(count(*)) FROM public.big' INTO v;
    r := r || jsonb_build_object('big_rows', v);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_class
             WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'schemad')
             AND relname = 'migrations') THEN
    EXECUTE 'SELECT coalesce(jsonb_agg(jsonb_build_object(''version'', version, '
            '''run_id'', run_id) ORDER BY version_key), ''[]'') '
            'FROM schemad.migrations WHERE catalog = ''@CATALOG@''' INTO v;
    r := r || jsonb_build_object('migrations', v);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_class
             WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'schemad')
             AND relname = 'runs') THEN
    EXECUTE 'SELECT coalesce(jsonb_agg(jsonb_build_object(''run_id'', run_id, '
            '''operation'', operation, ''state'', state, ''target_version'', target_version, '
            '''current_version'', current_version, ''statement_index'', statement_index, '
            '''transactional'', current_transactional, ''outcome'', outcome, '
            '''error'', error, ''server'', server_instance, ''started_at'', started_at) '
            'ORDER BY started_at, run_id), ''[]'') FROM schemad.runs '
            'WHERE catalog = ''@CATALOG@''' INTO v;
    r := r || jsonb_build_object('runs', v);
  END IF;
  RETURN r::text;
END $f$;
SELECT pg_temp.fault_snapshot();
COMMIT;
""".replace("@CATALOG@", CATALOG_NAME)


def snapshot(cluster, db):
    out = cluster.psql(db, SNAPSHOT_SQL)
    for line in out.splitlines():
        if line.startswith("{"):
            snap = json.loads(line)
            snap.setdefault("marks", {})
            snap.setdefault("migrations", [])
            snap.setdefault("runs", [])
            return snap
    raise RuntimeError("snapshot: no output: %s" % short(out))


# --------------------------------------------------------------------------------------------
# Invariants.

def effect_present(snap, effect):
    kind, name = effect
    if kind == "table":
        return name in snap["tables"]
    if kind == "mark":
        return snap["marks"].get(name, 0) >= 1
    if kind == "index":
        return name in snap["indexes"]
    if kind == "column":
        return name in snap["columns"]
    raise ValueError(effect)


def fmt(effect):
    return "%s %s" % effect


def check_consistency(snap, stage):
    """Invariant a (and the consistency half of b): effects agree with what is recorded."""
    bad = []
    versions = [m["version"] for m in snap["migrations"]]
    for v in sorted(set(versions)):
        if versions.count(v) > 1:
            bad.append("%s recorded %d times" % (v, versions.count(v)))
    recorded = set(versions)
    for tag, n in sorted(snap["marks"].items()):
        if n > 1:
            bad.append("mark %s exists %d times (ran twice)" % (tag, n))
        if tag not in ALL_MARKS:
            bad.append("unexpected mark %s" % tag)
    if "big_rows" in snap and snap["big_rows"] != BIG_ROWS:
        bad.append("big has %s rows, not %d" % (snap["big_rows"], BIG_ROWS))
    first_missing = None
    for i, rev in enumerate(CATALOG):
        present = [[effect_present(snap, e) for e in unit] for unit in rev.units]
        if rev.version in recorded:
            missing = [fmt(e) for unit, ok in zip(rev.units, present)
                       for e, p in zip(unit, ok) if not p]
            if missing:
                bad.append("%s recorded but missing: %s" % (rev.version, ", ".join(missing)))
            for e in rev.effects:
                if e[0] == "index" and e[1] in snap["indexes"] and not snap["indexes"][e[1]]:
                    bad.append("%s recorded but index %s is INVALID" % (rev.version, e[1]))
            if first_missing is not None:
                bad.append("%s recorded while %s is not (out of order)" % (rev.version,
                                                                          first_missing))
            continue
        if first_missing is None:
            first_missing = rev.version
            in_flight = True
        else:
            in_flight = False
        have = [fmt(e) for unit, ok in zip(rev.units, present) for e, p in zip(unit, ok) if p]
        if not have:
            continue
        if not in_flight:
            bad.append("%s not recorded, and earlier %s neither, yet has effects: %s"
                       % (rev.version, first_missing, ", ".join(have)))
            continue
        if rev.kind == "tx":
            bad.append("%s (transactional) not recorded but has effects: %s"
                       % (rev.version, ", ".join(have)))
            continue
        # Per unit: all or nothing (an invalid index of a failed CONCURRENTLY counts as there);
        # across units: a prefix.
        whole = []
        for unit, ok in zip(rev.units, present):
            if any(ok) and not all(ok):
                bad.append("%s: a %s unit is half done: has %s, lacks %s" % (
                    rev.version, "segment" if rev.kind == "chain" else "statement",
                    ", ".join(fmt(e) for e, p in zip(unit, ok) if p),
                    ", ".join(fmt(e) for e, p in zip(unit, ok) if not p)))
            whole.append(all(ok))
        if any(whole[j] and not whole[j - 1] for j in range(1, len(whole))):
            bad.append("%s not recorded, partial effects not a prefix: %s"
                       % (rev.version, ", ".join(have)))
    return ["%s: %s" % (stage, b) for b in bad]


def check_journal(snap, stage):
    """Invariant d: no run claims succeeded while its revisions are missing."""
    bad = []
    recorded = {m["version"] for m in snap["migrations"]}
    run_ids = {r["run_id"] for r in snap["runs"]}
    for run in snap["runs"]:
        if run["state"] != "succeeded" or run["operation"] != "apply":
            continue
        target = run["target_version"] or LATEST
        missing = [r.version for r in CATALOG if int(r.version) <= int(target)
                   and r.version not in recorded]
        if missing:
            bad.append("run %s is succeeded but %s not recorded" % (run["run_id"][:8],
                                                                     ",".join(missing)))
    for m in snap["migrations"]:
        if m.get("run_id") and m["run_id"] not in run_ids:
            bad.append("%s recorded by run %s, which is not in the journal" % (m["version"],
                                                                                m["run_id"][:8]))
    return ["%s: %s" % (stage, b) for b in bad]


def check_final(snap):
    bad = check_consistency(snap, "b")
    recorded = [m["version"] for m in snap["migrations"]]
    missing = [r.version for r in CATALOG if r.version not in recorded]
    if missing:
        bad.append("b: not recorded after recovery: %s" % ",".join(missing))
    lost = [t for t in ALL_MARKS if snap["marks"].get(t, 0) == 0]
    if lost:
        bad.append("b: marks missing after recovery: %s" % ",".join(lost))
    invalid = sorted(n for n, ok in snap["indexes"].items() if not ok)
    if invalid:
        bad.append("b: INVALID indexes after recovery: %s" % ",".join(invalid))
    for rev in CATALOG:
        for e in rev.effects:
            if e[0] == "table" and e[1] not in snap["tables"]:
                bad.append("b: table %s missing after recovery" % e[1])
    running = [r["run_id"][:8] for r in snap["runs"] if r["state"] == "running"]
    if running:
        bad.append("c: run(s) still 'running' after recovery: %s" % ",".join(running))
    bad += check_journal(snap, "d")
    applies = [r for r in snap["runs"] if r["operation"] == "apply"]
    if applies and applies[-1]["state"] not in ("succeeded", "resolved"):
        last = applies[-1]
        bad.append("d: last apply run %s is %s (%s)" % (last["run_id"][:8], last["state"],
                                                         short(last["error"], 120)))
    return bad


def journal_rows(snap, limit=8):
    rows = []
    for r in snap.get("runs", [])[-limit:]:
        rows.append("    run %s %-7s %-11s at %s stmt %s tx=%s %s%s" % (
            r["run_id"][:8], r["operation"], r["state"], r["current_version"] or "-",
            r["statement_index"], "t" if r["transactional"] else "f", r["outcome"],
            (" err: " + short(r["error"], 140)) if r["error"] else ""))
    recorded = ",".join(m["version"] for m in snap.get("migrations", []))
    rows.append("    recorded: %s" % (recorded or "-"))
    dup = {t: n for t, n in snap.get("marks", {}).items() if n > 1}
    rows.append("    marks: %d distinct%s; indexes: %s" % (
        len(snap.get("marks", {})), (", doubled " + ",".join(sorted(dup))) if dup else "",
        ",".join("%s%s" % (k, "" if v else "(INVALID)")
                 for k, v in sorted(snap.get("indexes", {}).items())) or "-"))
    return rows


# --------------------------------------------------------------------------------------------
# schemad and schemactl.

class Server:
    def __init__(self, harness, trial_dir, slot, db):
        self.h, self.dir, self.slot, self.db = harness, trial_dir, slot, db
        self.proc = None
        self.address = None
        self.starts = 0

    def start(self):
        self.starts += 1
        port = free_tcp_port(20000, 39999, self.h.rng)
        config = os.path.join(self.dir, "schemad-%s.yaml" % self.slot)
        with open(config, "w") as f:
            f.write("listen: 127.0.0.1:%d\n"
                    "targets:\n"
                    "  - name: fault\n"
                    "    environment: dev\n"
                    "    catalog: %s\n"
                    "    dsn_env: FAULT_DSN\n"
                    "    lock_timeout: 2s\n"
                    "    lock_retries: 3\n"
                    "    lock_wait: 5s\n" % (port, self.h.catalog_dir))
        ready = os.path.join(self.dir, "ready-%s" % self.slot)
        if os.path.exists(ready):
            os.unlink(ready)
        log = open(os.path.join(self.dir, "schemad-%s-%d.log" % (self.slot, self.starts)), "w")
        env = dict(os.environ, FAULT_DSN=self.h.cluster.dsn(self.db))
        env.pop("SCHEMAD_TOKEN", None)
        self.proc = track(subprocess.Popen([self.h.schemad, "--config", config, "--ready-file",
                                            ready], stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, env=env, cwd=self.dir))
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(ready):
                with open(ready) as f:
                    self.address = f.read().strip()
                if self.address:
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("schemad %s exited with %s at start: %s" % (
                    self.slot, self.proc.returncode, short(self.log_tail(), 400)))
            time.sleep(0.05)
        raise RuntimeError("schemad %s not ready in 20s" % self.slot)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        stop_proc(self.proc, grace=10)

    def log_tail(self):
        path = os.path.join(self.dir, "schemad-%s-%d.log" % (self.slot, self.starts))
        try:
            with open(path) as f:
                return f.read()[-1500:]
        except OSError:
            return ""


class CliResult:
    def __init__(self, label, rc, out, err):
        self.label, self.rc, self.out, self.err = label, rc, out, err

    def summary(self):
        """The gist of the output: status, run or apply outcome, else the raw text."""
        parts = []
        objs = parse_events(self.out)
        for obj in objs:
            if "pending_count" in obj:  # status
                b = obj.get("blocking_run")
                parts.append("at %s, %s pending%s" % (
                    obj.get("current_version") or "-", obj.get("pending_count"),
                    (", blocked by %s" % describe_run(b)) if b else ""))
            elif "run" in obj and "outcome" in obj:  # resolve
                parts.append("%s: %s" % (obj.get("outcome"), describe_run(obj["run"])))
            elif "run_finished" in obj:
                f = obj["run_finished"]
                parts.append("%s%s" % (f.get("outcome"),
                                       (": " + f["error"]) if f.get("error") else ""))
        if not parts and not objs:
            parts.append(self.out.strip())
        if self.err.strip():
            parts.append("stderr: " + self.err.strip())
        return short("; ".join(p for p in parts if p), 320)

    def __str__(self):
        return "%s -> rc=%s: %s" % (self.label, self.rc, self.summary())


def describe_run(run):
    state = str(run.get("state", "")).replace("RUN_STATE_", "").lower()
    text = "run %s %s at %s" % (run.get("run_id", "")[:8], state, run.get("current_version") or "-")
    if run.get("error"):
        text += ": " + run["error"]
    return text


def cli_env():
    env = dict(os.environ)
    env.pop("SCHEMAD_TOKEN", None)
    env.pop("SCHEMAD_SERVER", None)
    return env


def parse_events(text):
    events = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events


class BackgroundApply:
    """`schemactl apply` streaming into files, so we can read its events while it runs."""

    def __init__(self, harness, trial_dir, server, label):
        self.label = label
        self.out_path = os.path.join(trial_dir, "%s.out" % label)
        self.err_path = os.path.join(trial_dir, "%s.err" % label)
        out, err = open(self.out_path, "w"), open(self.err_path, "w")
        self.started = time.monotonic()
        self.proc = track(subprocess.Popen(
            [harness.schemactl, "--server", server.address, "--json", "--timeout", "60",
             "apply", "--target", "fault", "--yes"], stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, env=cli_env()))
        out.close()
        err.close()

    def text(self):
        with open(self.out_path) as f:
            out = f.read()
        with open(self.err_path) as f:
            err = f.read()
        return out, err

    def in_step(self):
        """The revision being run according to the events seen so far."""
        current = None
        for ev in parse_events(self.text()[0]):
            if "step_started" in ev:
                current = ev["step_started"].get("version")
            elif "step_finished" in ev or "run_finished" in ev:
                current = None
        return current

    def outcome(self):
        for ev in parse_events(self.text()[0]):
            if "run_finished" in ev:
                return ev["run_finished"].get("outcome"), ev["run_finished"].get("error", "")
        return None, ""

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=max(0.1, timeout))
            return True
        except subprocess.TimeoutExpired:
            return False

    def result(self):
        out, err = self.text()
        return CliResult(self.label, self.proc.returncode, out, err)


# --------------------------------------------------------------------------------------------

class Harness:
    def __init__(self, args):
        self.schemad = os.path.abspath(args.schemad)
        self.schemactl = os.path.abspath(args.schemactl)
        self.trials = args.trials
        self.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.keep = args.keep
        self.root = tempfile.mkdtemp(prefix="schemad-fault-")
        os.chmod(self.root, 0o755)
        self.catalog_dir = os.path.join(self.root, "catalog")
        self.cluster = Cluster(self.root, self.rng)
        self.window = 3.0
        if not self.keep:
            CLEANUPS.insert(0, lambda: shutil.rmtree(self.root, ignore_errors=True))

    def cli(self, trial, server, args, timeout=30.0, label=None):
        timeout = max(2.0, min(timeout, trial.remaining() if trial else timeout))
        cmd = [self.schemactl, "--server", server.address, "--json", "--timeout",
               str(int(timeout))] + args
        label = label or args[0]
        try:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=timeout + 5, env=cli_env())
            res = CliResult("%s@%s" % (label, server.slot), r.returncode, r.stdout, r.stderr)
        except subprocess.TimeoutExpired as e:
            res = CliResult("%s@%s" % (label, server.slot), "timeout",
                            (e.stdout or b"").decode() if isinstance(e.stdout, bytes)
                            else (e.stdout or ""), "no answer in %ds" % int(timeout + 5))
        if trial:
            trial.cli_log.append(res)
        return res

    def setup(self):
        write_catalog(self.catalog_dir)
        self.cluster.start()
        # Calibrate: one undisturbed apply sets the window the faults are drawn from.
        self.cluster.psql("postgres", "CREATE DATABASE calibration")
        trial = Trial(self, 0, None)
        trial.db = "calibration"
        os.makedirs(trial.dir, exist_ok=True)
        server = Server(self, trial.dir, "A", "calibration")
        trial.servers["A"] = server
        try:
            server.start()
            apply = BackgroundApply(self, trial.dir, server, "calibration-apply")
            apply.wait(60)
            took = time.monotonic() - apply.started
            outcome, error = apply.outcome()
            self.window = max(1.0, took)
            snap = snapshot(self.cluster, "calibration")
            problems = check_final(snap) if outcome == "OUTCOME_APPLIED" else []
            print("calibration: undisturbed apply took %.2fs: %s%s%s" % (
                took, outcome or "no outcome (rc %s)" % apply.proc.returncode,
                (" (" + short(error, 200) + ")") if error else "",
                ("; invariants: " + "; ".join(problems)) if problems else ""), flush=True)
        finally:
            server.stop()

    def run(self):
        print("fault harness: seed %d, %d trial(s), work dir %s" % (self.seed, self.trials,
                                                                     self.root), flush=True)
        passed = failed = 0
        try:
            self.setup()
        except Exception as e:
            print("setup failed: %s" % e, flush=True)
            print("0 passed, %d failed" % self.trials, flush=True)
            return 1
        order = FAULTS[:]
        self.rng.shuffle(order)
        for i in range(1, self.trials + 1):
            trial = Trial(self, i, order[(i - 1) % len(order)])
            try:
                ok = trial.run()
            except Exception as e:  # a harness problem in one trial: report it, go on
                trial.bad.append("harness error: %s" % short(str(e), 300))
                ok = False
            finally:
                trial.teardown()
            trial.report()
            passed += ok
            failed += not ok
        if self.keep:
            print("kept %s (cluster stopped; data in pg/data)" % self.root, flush=True)
        print("%d passed, %d failed" % (passed, failed), flush=True)
        return 0 if failed == 0 else 1


class Trial:
    def __init__(self, harness, index, fault):
        self.h, self.index, self.fault = harness, index, fault
        self.dir = os.path.join(harness.root, "trial_%d" % index)
        self.db = "trial_%d" % index
        self.servers = {}
        self.cli_log = []
        self.bad = []
        self.notes = []
        self.snaps = {}
        self.fault_at = 0.0
        self.deadline = time.monotonic() + TRIAL_DEADLINE
        self.applies = []

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def server(self, slot):
        return self.servers[slot]

    def run(self):
        h, rng = self.h, self.h.rng
        os.makedirs(self.dir, exist_ok=True)
        h.cluster.ensure_up()
        h.cluster.psql("postgres", "CREATE DATABASE %s" % self.db)
        two = self.fault == "terminate-lock-holder" or rng.random() < 0.5
        self.fault_at = rng.uniform(0.15, 0.95 * h.window)
        self.recover_via = "B" if two and rng.random() < 0.5 else "A"
        self.notes.append("%s replica(s), recovery via %s" % (2 if two else 1, self.recover_via))
        for slot in (["A", "B"] if two else ["A"]):
            self.servers[slot] = Server(h, self.dir, slot, self.db)
            self.servers[slot].start()
        a = self.server("A")

        apply = BackgroundApply(h, self.dir, a, "apply")
        self.applies.append(apply)
        while time.monotonic() < apply.started + self.fault_at:
            time.sleep(0.01)
        during = apply.in_step()
        if apply.proc.poll() is not None:
            self.notes.append("the apply had already ended (rc %s) when the fault came"
                              % apply.proc.returncode)
        self.notes.append("fault during %s" % (during or "no step"))

        self.inject(apply)
        self.drain()
        self.quiesce()

        snap = snapshot(h.cluster, self.db)
        self.snaps["after fault"] = snap
        self.bad += check_consistency(snap, "a")
        self.bad += check_journal(snap, "d(after fault)")
        for ap in self.applies:
            outcome, _ = ap.outcome()
            if outcome == "OUTCOME_APPLIED":
                recorded = {m["version"] for m in snap["migrations"]}
                missing = [r.version for r in CATALOG if r.version not in recorded]
                if missing:
                    self.bad.append("d: %s was told APPLIED but %s not recorded"
                                    % (ap.label, ",".join(missing)))

        done, reason = self.recover()
        snap = snapshot(h.cluster, self.db)
        self.snaps["after recovery"] = snap
        if not done:
            self.bad.append("recovery: %s" % reason)
            # What must hold whether or not the end was reached: nothing twice, nothing
            # recorded without its effects, no lying journal.
            self.bad += [b for b in check_consistency(snap, "b") + check_journal(snap, "d")
                         if b not in self.bad]
        else:
            self.bad += check_final(snap)
        return not self.bad

    # -- faults -------------------------------------------------------------------------------
    def inject(self, apply):
        h = self.h
        if self.fault == "kill-schemad":
            self.server("A").kill9()
            self.server("A").start()
        elif self.fault == "pg-restart-fast":
            h.cluster.restart("fast")
        elif self.fault == "pg-restart-immediate":
            h.cluster.restart("immediate")
        elif self.fault == "terminate-lock-holder":
            out = h.cluster.psql(
                "postgres",
                "SELECT pid, pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = '%s')"
                % self.db, timeout=10)
            second = BackgroundApply(h, self.dir, self.server("B"), "apply-B")
            self.applies.append(second)
            pids = [line.split("|")[0] for line in out.split() if "|" in line]
            self.notes.append("terminated backend(s) %s" % (",".join(pids) or "none: no holder"))
        elif self.fault == "kill-schemactl":
            if apply.proc.poll() is None:
                apply.proc.kill()
        else:
            raise ValueError(self.fault)

    def drain(self):
        for ap in self.applies:
            if not ap.wait(min(CLIENT_DRAIN, self.remaining())):
                self.bad.append("hang: %s still running %ds after the fault" % (ap.label,
                                                                               CLIENT_DRAIN))
                ap.proc.kill()
                ap.proc.wait(timeout=5)
            self.cli_log.append(ap.result())

    def quiesce(self):
        """Waits (bounded) until no backend is busy on the trial database."""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                busy = self.h.cluster.psql(
                    "postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                    "AND state <> 'idle' AND pid <> pg_backend_pid()" % self.db, timeout=10)
                if busy.strip() == "0":
                    return
            except RuntimeError:
                self.h.cluster.ensure_up()
            time.sleep(0.2)
        self.notes.append("trial database still busy 8s after the fault")

    # -- recovery -----------------------------------------------------------------------------
    def ensure_servers(self):
        for slot, server in self.servers.items():
            if not server.alive():
                self.notes.append("schemad %s had exited (rc %s): restarted" % (
                    slot, server.proc.returncode))
                server.start()
        server = self.server(self.recover_via)
        deadline = time.monotonic() + min(20, self.remaining())
        while True:
            r = self.cli(server, ["targets"], timeout=5, quiet=True)
            if r.rc == 0:
                return server
            if time.monotonic() > deadline:
                raise RuntimeError("schemad %s unreachable: %s" % (server.slot, r))
            time.sleep(0.3)

    def cli(self, server, args, timeout=30.0, quiet=False):
        words = [a for a in args if a not in ("--target", "fault", "--yes")]
        if "--run" in words:  # "resolve --run ID --retry" -> "resolve 1234abcd --retry"
            i = words.index("--run")
            words[i:i + 2] = [words[i + 1][:8]] if i + 1 < len(words) else []
        res = self.h.cli(None if quiet else self, server, args, timeout=timeout,
                         label=" ".join(words))
        return res

    def recover(self):
        server = self.ensure_servers()
        last = None
        steps = 0
        while steps < RECOVERY_STEPS:
            if self.remaining() <= 1:
                return False, "trial deadline reached; last: %s" % (
                    short(str(last), 200) if last else "-")
            r = self.cli(server, ["status", "--target", "fault"], timeout=15)
            if r.rc != 0:
                last = r
                steps += 1
                time.sleep(0.5)
                continue
            try:
                status = json.loads(r.out)
            except ValueError:
                return False, "status printed no JSON: %s" % r
            blocking = status.get("blocking_run")
            pending = int(status.get("pending_count", 0))
            if blocking and blocking.get("state") == "RUN_STATE_RUNNING":
                # A live run (e.g. the other replica's): let it end; bounded by the deadline.
                last = r
                time.sleep(0.5)
                continue
            if not blocking and pending == 0:
                return True, ""
            steps += 1
            if blocking:
                last = self.cli(server, ["resolve", "--target", "fault", "--run",
                                         blocking.get("run_id", ""), "--retry"],
                                timeout=min(40, self.remaining()))
            else:
                last = self.cli(server, ["apply", "--target", "fault", "--yes"],
                                timeout=min(40, self.remaining()))
            if last.rc == 7 or last.rc == "timeout":
                server = self.ensure_servers()
        return False, "not done after %d steps; last: %s" % (
            RECOVERY_STEPS, short(str(last), 200) if last else "-")

    # -- the end ------------------------------------------------------------------------------
    def teardown(self):
        for ap in self.applies:
            stop_proc(ap.proc, grace=2)
        for server in self.servers.values():
            server.stop()

    def report(self):
        line = "trial %d %s at %.2fs: " % (self.index, self.fault, self.fault_at)
        if not self.bad:
            print(line + "ok", flush=True)
            return
        reasons = []
        for b in sorted(self.bad, key=lambda b: b.startswith("recovery")):  # invariants first
            if b not in reasons:
                reasons.append(b)
        print(line + "BAD: " + short("; ".join(reasons), 400), flush=True)
        print("    " + "; ".join(self.notes), flush=True)
        shown = []
        for res in reversed(self.cli_log):
            if str(res) not in shown:
                shown.insert(0, str(res))
            if len(shown) == 4:
                break
        for text in shown:
            print("    $ " + text, flush=True)
        snap = self.snaps.get("after recovery") or self.snaps.get("after fault")
        if snap:
            for row in journal_rows(snap):
                print(row, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemad", required=True)
    parser.add_argument("--schemactl", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (catalog, logs, stopped cluster)")
    parser.add_argument("--without-chained", action="store_true",
                        help="diagnostic only: leave out the COMMIT AND CHAIN revisions (to see "
                             "past a failure on them); a real check runs without this flag")
    args = parser.parse_args()
    use_catalog(args.without_chained)
    for path in (args.schemad, args.schemactl):
        if not os.access(path, os.X_OK):
            parser.error("%s is not an executable" % path)
    atexit.register(cleanup_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        return Harness(args).run()
    finally:
        cleanup_all()


if __name__ == "__main__":
    sys.exit(main())
