#!/usr/bin/python3
"""schemad benchmarks: every figure is measured side by side with its reference in this run.

Started by tests/bench/run.sh (which installs and builds first). Sets up a throwaway
PostgreSQL with default settings (fsync on), runs B1-B4 of issue 6 with warm-up and
interleaved repetitions, prints a table of medians and ratios, and writes RESULTS.md.
"""
import datetime
import json
import concurrent.futures
import os
import platform
import pwd
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
SCHEMAD = os.path.join(BUILD, "server", "schemad")
SCHEMACTL = os.path.join(BUILD, "client", "schemactl")
BENCH_CLIENT = os.path.join(BUILD, "tests", "bench", "bench_client")
BARE_SERVER = os.path.join(BUILD, "tests", "bench", "bench_bare_server")
PG_BIN = "/usr/lib/postgresql/15/bin"
PSQL = os.path.join(PG_BIN, "psql")  # not Debian's Perl wrapper /usr/bin/psql (+20 ms a call)
CATALOG = os.path.join(REPO, "migrations", "nabavkidata")
QUICK = os.environ.get("SCHEMAD_BENCH_QUICK") == "1"
# A build folder of an earlier schemad (server/schemad, client/schemactl) to time beside this one
# in the same run, e.g. the commit before a change: SCHEMAD_BENCH_BASELINE=/tmp/old/build.
BASELINE = os.environ.get("SCHEMAD_BENCH_BASELINE", "")
BASELINE_BINARIES = ((os.path.join(BASELINE, "server", "schemad"),
                      os.path.join(BASELINE, "client", "schemactl")) if BASELINE else None)
FAULT_TRIALS = int(os.environ.get("SCHEMAD_BENCH_FAULT_TRIALS", "10" if QUICK else "50"))
REPS = 3 if QUICK else 5

rows = []  # (benchmark, measured, reference, ratio/added, target, met)


def log(message):
    print(message, flush=True)


def ms(seconds):
    return seconds * 1000.0


def timed(cmd, **kwargs):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def median(values):
    return statistics.median(values)


def record(name, measured, reference, target, met, note=""):
    rows.append((name, measured, reference, target, "yes" if met else "NO", note))
    log(f"  {name}: {measured} vs {reference} -> target {target}: {'met' if met else 'MISSED'} {note}")


class Postgres:
    """A throwaway cluster (default settings, fsync on) on a unix socket."""

    def __init__(self, root):
        self.dir = os.path.join(root, "pg")
        self.socket = os.path.join(root, "sock")
        os.makedirs(self.dir)
        os.makedirs(self.socket)
        self.runas = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for path in (root, self.dir, self.socket):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.runas + [f"{PG_BIN}/initdb", "-D", self.dir, "-A", "trust", "-U",
                                     "postgres", "-E", "UTF8", "--locale=C"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(self.runas + [f"{PG_BIN}/pg_ctl", "-D", self.dir, "-w", "-l",
                                     os.path.join(root, "pg.log"), "-o",
                                     f"-k {self.socket} -c listen_addresses='' -c max_connections=300",
                                     "start"], check=True, stdout=subprocess.DEVNULL)

    def dsn(self, db):
        return f"host={self.socket} port=5432 user=postgres dbname={db}"

    def url(self, db):
        return f"postgresql+psycopg2://postgres@/{db}?host={self.socket}&port=5432"

    def psql(self, db, *args, quiet=True):
        cmd = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn(db)] + list(args)
        return subprocess.run(cmd, check=True, capture_output=quiet, text=True).stdout

    def query(self, db, sql):
        return self.psql(db, "-At", "-c", sql).strip()

    def fresh(self, db):
        self.psql("postgres", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.psql("postgres", "-c", f"CREATE DATABASE {db}")

    def stop(self):
        subprocess.run(self.runas + [f"{PG_BIN}/pg_ctl", "-D", self.dir, "-m", "fast", "stop"],
                       stdout=subprocess.DEVNULL)


class Server:
    """A schemad on a free port with a config file; DSNs through environment variables."""

    def __init__(self, root, name, targets, binaries=None, extra_yaml=""):
        self.schemad, self.schemactl = binaries or (SCHEMAD, SCHEMACTL)
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        env = dict(os.environ)
        yaml = "listen: 127.0.0.1:0\nlint_policy: {prod: none}\ntargets:\n"
        for i, (target, catalog, dsn, *environment) in enumerate(targets):
            env[f"BENCH_DSN_{i}"] = dsn
            yaml += (f"  - name: {target}\n    environment: {(environment or ['dev'])[0]}\n"
                     f"    catalog: {catalog}\n    dsn_env: BENCH_DSN_{i}\n    lock_timeout: 60s\n")
        yaml += extra_yaml
        self.config = os.path.join(self.dir, "schemad.yaml")
        with open(self.config, "w") as f:
            f.write(yaml)
        ready = os.path.join(self.dir, "ready")
        self.env = env
        self.proc = subprocess.Popen([self.schemad, "--config", self.config, "--ready-file", ready,
                                      "--log-level", "warn"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        for _ in range(3000):
            # Present and written (an older build may write it in two steps).
            if os.path.exists(ready) and open(ready).read().strip():
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"schemad exited: {open(os.path.join(self.dir, 'log')).read()}")
            time.sleep(0.01)
        self.address = open(ready).read().strip()

    def cli(self, *args):
        return [self.schemactl, "--server", self.address, "--timeout", "3600"] + list(args)

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def stop_pid(pid):
    """Stops a process that is not our child (bench_client started it) and waits for it."""
    os.kill(pid, signal.SIGTERM)
    for _ in range(3000):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)


def generate_tiny_catalog(path, count):
    os.makedirs(path)
    for i in range(1, count + 1):
        version = f"{i:06d}"
        with open(os.path.join(path, f"{version}_t{i}.up.sql"), "w") as f:
            f.write(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, v text);\n"
                    f"CREATE INDEX t{i}_v ON t{i} (v);\n")
        with open(os.path.join(path, f"{version}_t{i}.down.sql"), "w") as f:
            f.write(f"DROP TABLE t{i};\n")
    return path


def revisions(catalog):
    ups = sorted((f for f in os.listdir(catalog) if f.endswith(".up.sql")),
                 key=lambda f: int(re.match(r"[\d_]+", f).group(0).replace("_", "")))
    return [(os.path.join(catalog, f), os.path.join(catalog, f.replace(".up.sql", ".down.sql")))
            for f in ups]


def psql_scripts(root, name, catalog):
    """(a) every file concatenated, for psql -1; (b) one session, one transaction per file."""
    revs = revisions(catalog)
    paths = {}
    for direction, files in (("up", [u for u, _ in revs]), ("down", [d for _, d in reversed(revs)])):
        concat = os.path.join(root, f"{name}_{direction}_all.sql")
        per_file = os.path.join(root, f"{name}_{direction}_per_file.sql")
        with open(concat, "w") as a, open(per_file, "w") as b:
            for file in files:
                a.write(open(file).read() + "\n;\n")
                b.write(f"BEGIN;\n\\i {file}\nCOMMIT;\n")
        paths[direction] = (concat, per_file)
    return paths


def alembic_project(root, catalog, url):
    """An Alembic project whose revisions op.execute the same .up.sql/.down.sql files."""
    project = os.path.join(root, "alembic")
    versions = os.path.join(project, "versions")
    os.makedirs(versions)
    with open(os.path.join(root, "alembic.ini"), "w") as f:
        f.write(f"[alembic]\nscript_location = {project}\nsqlalchemy.url = {url}\n"
                "[loggers]\nkeys = root\n[handlers]\nkeys = null\n[formatters]\nkeys =\n"
                "[logger_root]\nlevel = WARN\nhandlers = null\n"
                "[handler_null]\nclass = NullHandler\nargs = ()\n")
    with open(os.path.join(project, "env.py"), "w") as f:
        f.write("from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n"
                "config = context.config\n"
                "engine = engine_from_config(config.get_section(config.config_ini_section), "
                "prefix='sqlalchemy.', poolclass=pool.NullPool)\n"
                "with engine.connect() as connection:\n"
                "    context.configure(connection=connection, target_metadata=None, "
                "transaction_per_migration=True)\n"
                "    with context.begin_transaction():\n        context.run_migrations()\n")
    with open(os.path.join(project, "script.py.mako"), "w") as f:
        f.write("")
    previous = None
    for i, (up, down) in enumerate(revisions(catalog)):
        rev = f"r{i:05d}"
        with open(os.path.join(versions, f"{rev}.py"), "w") as f:
            f.write(f"from alembic import op\nrevision = {rev!r}\ndown_revision = {previous!r}\n"
                    "branch_labels = None\ndepends_on = None\n"
                    # The DBAPI cursor takes the file as written (no bind-parameter parsing).
                    f"def upgrade():\n    op.get_bind().connection.cursor().execute(open({up!r}).read())\n"
                    f"def downgrade():\n    op.get_bind().connection.cursor().execute(open({down!r}).read())\n")
        previous = rev
    return os.path.join(root, "alembic.ini")


def alembic(ini, *args):
    return ["/usr/bin/python3", "-m", "alembic", "-c", ini] + list(args)


def b1(pg, root):
    log("B1: apply and roll back the nabavkidata catalog")
    for db in ("b1_schemad", "b1_psql_a", "b1_psql_b", "b1_alembic", "b1_baseline", "b1_verify"):
        pg.fresh(db)
    # The same SQL for every tool: the catalog without its verify script (which psql, Alembic
    # and older builds do not run); what the verify script costs is measured on its own below.
    plain = os.path.join(root, "nabavkidata_plain")
    shutil.copytree(CATALOG, plain, ignore=shutil.ignore_patterns("*.verify.sql"))
    server = Server(root, "b1", [("nabavkidata", plain, pg.dsn("b1_schemad"))])
    baseline = (Server(root, "b1_baseline", [("nabavkidata", plain, pg.dsn("b1_baseline"))],
                       BASELINE_BINARIES) if BASELINE else None)
    scripts = psql_scripts(root, "b1", plain)
    ini = alembic_project(os.path.join(root, "b1_alembic_project"), plain, pg.url("b1_alembic"))
    times = {k: [] for k in ("schemad_up", "schemad_down", "a_up", "a_down", "b_up", "b_down",
                             "alembic_up", "alembic_down", "base_up", "base_down")}
    for rep in range(REPS + 1):  # the first is warm-up
        sample = {}
        sample["schemad_up"] = timed(server.cli("apply", "--target", "nabavkidata"))
        sample["schemad_down"] = timed(server.cli("rollback", "--target", "nabavkidata", "--to", "0"))
        sample["a_up"] = timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", scripts["up"][0],
                                "-d", pg.dsn("b1_psql_a")], stderr=subprocess.DEVNULL)
        sample["a_down"] = timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", scripts["down"][0],
                                  "-d", pg.dsn("b1_psql_a")], stderr=subprocess.DEVNULL)
        sample["b_up"] = timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", scripts["up"][1],
                                "-d", pg.dsn("b1_psql_b")], stderr=subprocess.DEVNULL)
        sample["b_down"] = timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", scripts["down"][1],
                                  "-d", pg.dsn("b1_psql_b")], stderr=subprocess.DEVNULL)
        sample["alembic_up"] = timed(alembic(ini, "upgrade", "head"), stderr=subprocess.DEVNULL)
        sample["alembic_down"] = timed(alembic(ini, "downgrade", "base"), stderr=subprocess.DEVNULL)
        if baseline:
            sample["base_up"] = timed(baseline.cli("apply", "--target", "nabavkidata"))
            sample["base_down"] = timed(baseline.cli("rollback", "--target", "nabavkidata", "--to", "0"))
        if rep > 0:
            for key, value in sample.items():
                times[key].append(value)
    m = {k: ms(median(v)) for k, v in times.items() if v}
    for direction in ("up", "down"):
        s, a, b, al = m[f"schemad_{direction}"], m[f"a_{direction}"], m[f"b_{direction}"], m[f"alembic_{direction}"]
        what = "apply" if direction == "up" else "full rollback"
        record(f"B1 {what}: schemactl (cold CLI, warm server) vs psql per-file transactions",
               f"{s:.1f} ms", f"{b:.1f} ms", "<= 1.10x and <= +20 ms",
               s <= 1.10 * b and s - b <= 20, f"ratio {s / b:.2f}x, added {s - b:+.1f} ms")
        record(f"B1 {what}: psql -1 of all files (for reference)", f"{a:.1f} ms", f"{b:.1f} ms", "-", True,
               f"ratio {a / b:.2f}x")
        record(f"B1 {what}: Alembic vs schemactl", f"{al:.1f} ms", f"{s:.1f} ms", ">= 3x faster", al >= 3 * s,
               f"schemad {al / s:.1f}x faster, Alembic adds {al - b:+.1f} ms over psql")
        if baseline:
            base = m[f"base_{direction}"]
            record(f"B1 {what}: this build vs the baseline build", f"{s:.1f} ms", f"{base:.1f} ms",
                   "report", True, f"{s - base:+.1f} ms; baseline {base / b:.2f}x of psql per file")
    if baseline:
        baseline.stop()
    checked = Server(root, "b1_verify", [("nabavkidata", CATALOG, pg.dsn("b1_verify"))])
    with_verify = []
    for rep in range(REPS + 1):
        took = timed(checked.cli("apply", "--target", "nabavkidata"))
        subprocess.run(checked.cli("rollback", "--target", "nabavkidata", "--to", "0"), check=True,
                       stdout=subprocess.DEVNULL)
        if rep > 0:
            with_verify.append(took)
    checked.stop()
    v = ms(median(with_verify))
    record("B1 apply with the bundled verify script (the seed checklist's checks, in the up's "
           "transaction) vs without", f"{v:.1f} ms", f"{m['schemad_up']:.1f} ms", "report", True,
           f"{v - m['schemad_up']:+.1f} ms")
    subprocess.run(server.cli("apply", "--target", "nabavkidata"), check=True, stdout=subprocess.DEVNULL)
    subprocess.run(alembic(ini, "upgrade", "head"), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return server, ini


def b2(pg, root):
    log("B2: scale (generated catalogs of tiny revisions)")
    catalogs = {n: generate_tiny_catalog(os.path.join(root, f"tiny_{n}"), n) for n in (100, 1000, 10000)}
    for n in (100, 1000, 10000):
        pg.fresh(f"b2_{n}")
    pg.fresh("b2_apply"); pg.fresh("b2_psql"); pg.fresh("b2_baseline")
    server = Server(root, "b2", [(f"tiny{n}", catalogs[n], pg.dsn(f"b2_{n}")) for n in (100, 1000, 10000)]
                    + [("apply1000", catalogs[1000], pg.dsn("b2_apply"))])
    per_file = psql_scripts(root, "b2", catalogs[1000])["up"][1]
    baseline = (Server(root, "b2_baseline", [("apply1000", catalogs[1000], pg.dsn("b2_baseline"))],
                       BASELINE_BINARIES) if BASELINE else None)
    apply_times, rollback_times, psql_times, base_times = [], [], [], []
    reps = 2 if QUICK else 3
    for rep in range(reps):
        apply_times.append(timed(server.cli("apply", "--target", "apply1000")))
        rollback_times.append(timed(server.cli("rollback", "--target", "apply1000", "--to", "0")))
        if baseline:
            base_times.append(timed(baseline.cli("apply", "--target", "apply1000")))
            subprocess.run(baseline.cli("rollback", "--target", "apply1000", "--to", "0"), check=True,
                           stdout=subprocess.DEVNULL)
        pg.fresh("b2_psql")
        psql_times.append(timed([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", per_file,
                                 "-d", pg.dsn("b2_psql")], stderr=subprocess.DEVNULL))
    s, p = ms(median(apply_times)), ms(median(psql_times))
    record("B2 apply 1,000 revisions: schemactl vs psql per-file transactions", f"{s:.0f} ms", f"{p:.0f} ms",
           "<= 1.05x (<= 0.3 ms/revision)", s <= 1.05 * p,
           f"ratio {s / p:.3f}x, schemad's own cost {(s - p) / 1000:.3f} ms/revision; "
           f"rollback of 1,000: {ms(median(rollback_times)):.0f} ms")
    if baseline:
        base = ms(median(base_times))
        record("B2 apply 1,000 revisions: this build vs the baseline build", f"{s:.0f} ms",
               f"{base:.0f} ms", "report", True,
               f"{(s - base) / 1000:+.3f} ms/revision; baseline {base / p:.3f}x of psql per file")
        baseline.stop()
    for what in ("plan", "status"):
        for n in (100, 1000, 10000):
            out = subprocess.run([BENCH_CLIENT, "latency", server.address, f"tiny{n}", what,
                                  "5" if n == 10000 else "20"], check=True, capture_output=True, text=True)
            e2e, server_ms = (float(x) for x in out.stdout.split()[:2])
            target = "<= 50 ms at 10,000" if n == 10000 else "-"
            record(f"B2 {'Plan' if what == 'plan' else 'GetStatus'} latency, {n:,} pending revisions",
                   f"{e2e:.2f} ms end to end", f"{server_ms:.2f} ms in the server", target,
                   n != 10000 or e2e <= 50)
    server.stop()
    # Start-up with 10,000 revisions against start-up with the bundled catalog, alternating in
    # this run; then the RSS while applying all of them.
    config_dir = os.path.join(root, "b2_big")
    os.makedirs(config_dir)
    configs = {}
    for label, catalog in (("big", catalogs[10000]), ("bundled", CATALOG)):
        configs[label] = os.path.join(config_dir, f"{label}.yaml")
        with open(configs[label], "w") as f:
            f.write(f"listen: 127.0.0.1:50097\ntargets:\n  - name: t\n    environment: dev\n"
                    f"    catalog: {catalog}\n    dsn_env: BENCH_DSN\n")
    env = dict(os.environ, BENCH_DSN=pg.dsn("b2_10000"))
    starts = {"big": [], "bundled": []}
    for rep in range(6 if not QUICK else 3):
        for label in ("big", "bundled"):
            out = subprocess.run([BENCH_CLIENT, "startup", "127.0.0.1:50097", "--", SCHEMAD, "--config",
                                  configs[label]], env=env, check=True, capture_output=True, text=True)
            elapsed, pid = out.stdout.split()
            if rep > 0:
                starts[label].append(float(elapsed))
            stop_pid(int(pid))
    big_ms, bundled_ms = median(starts["big"]), median(starts["bundled"])
    record("B2 start-up, 10,000-revision catalog vs the 6-revision bundled one (exec to first RPC)",
           f"{big_ms:.0f} ms", f"{bundled_ms:.0f} ms", "<= 4x", big_ms <= 4 * bundled_ms,
           f"{big_ms / bundled_ms:.1f}x")
    large_file_rss(pg, root)
    big = Server(root, "b2_apply10000", [("tiny10000", catalogs[10000], pg.dsn("b2_10000"))])
    proc = subprocess.Popen(big.cli("apply", "--target", "tiny10000"), stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    peak = 0
    while proc.poll() is None:
        peak = max(peak, big.rss_kib())
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    peak = max(peak, big.rss_kib("VmHWM"))
    record("B4 RSS while applying 10,000 revisions (peak)", f"{peak / 1024:.1f} MiB", "-", "report", proc.returncode == 0,
           f"apply took {elapsed:.1f} s")
    big.stop()


def large_file_rss(pg, root):
    """Peak RSS of schemad with a catalog holding one 50 MB data file: once it serves (the catalog
    read) and once it has parsed the file in the background, against the file's size."""
    catalog = os.path.join(root, "b2_50mb")
    os.makedirs(catalog)
    path = os.path.join(catalog, "001_seed.up.sql")
    with open(path, "w") as f:
        f.write("CREATE TABLE seed (id bigint PRIMARY KEY, code text, title text);\n")
        i = 0
        while f.tell() < 50 * 1024 * 1024:
            f.write(f"INSERT INTO seed VALUES ({i}, 'CPV-{i:08d}', 'Набавка на канцелариски материјали {i}');\n")
            i += 1
    with open(os.path.join(catalog, "001_seed.down.sql"), "w") as f:
        f.write("DROP TABLE seed;\n")
    size = os.path.getsize(path)
    config = os.path.join(root, "b2_50mb.yaml")
    with open(config, "w") as f:
        f.write(f"listen: 127.0.0.1:50096\ntargets:\n  - name: big\n    environment: dev\n"
                f"    catalog: {catalog}\n    dsn_env: BENCH_DSN\n")
    ready, log_path = os.path.join(root, "b2_50mb.ready"), os.path.join(root, "b2_50mb.log")
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([SCHEMAD, "--config", config, "--ready-file", ready], stdout=log_file,
                                stderr=subprocess.STDOUT, env=dict(os.environ, BENCH_DSN=pg.dsn("b2_10000")))
    hwm = lambda: int(next(l for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmHWM:")).split()[1])
    while not os.path.exists(ready):
        time.sleep(0.01)
    loaded = hwm()
    while "parsed 2 files" not in open(log_path).read():
        time.sleep(0.05)
    parsed = hwm()
    proc.terminate()
    proc.wait()
    mib = size / (1 << 20)
    record("B2 peak RSS reading a catalog with a 50 MB file (until it serves)", f"{loaded / 1024:.0f} MiB",
           f"{mib:.0f} MiB file", "< 4x", loaded * 1024 < 4 * size, f"{loaded * 1024 / size:.1f}x")
    record("B2 peak RSS once that file is parsed too (background, right after start-up)",
           f"{parsed / 1024:.0f} MiB", f"{mib:.0f} MiB file", "< 4x", parsed * 1024 < 4 * size,
           f"{parsed * 1024 / size:.1f}x")


def b3(pg, root, server, ini):
    log("B3: the version check other services make")
    samples = {"schemactl": [], "alembic": [], "psql": []}
    for rep in range(21 if not QUICK else 8):
        s = timed(server.cli("version", "--target", "nabavkidata"))
        a = timed(alembic(ini, "current"), stderr=subprocess.DEVNULL)
        p = timed([PSQL, "-X", "-At", "-d", pg.dsn("b1_schemad"), "-c",
                   "SELECT version FROM schemad.migrations ORDER BY version_key DESC LIMIT 1"])
        if rep > 0:
            samples["schemactl"].append(s); samples["alembic"].append(a); samples["psql"].append(p)
    s, a, p = (ms(median(samples[k])) for k in ("schemactl", "alembic", "psql"))
    record("B3 `schemactl version` (cold process) vs `alembic current`", f"{s:.1f} ms", f"{a:.1f} ms",
           "<= 15 ms and >= 15x faster", s <= 15 and a >= 15 * s, f"{a / s:.0f}x faster; psql -c: {p:.1f} ms")
    record("B3 `schemactl version` (cold process) vs `psql -c` (issue 11)", f"{s:.1f} ms", f"{p:.1f} ms",
           "<= 1.3x", s <= 1.3 * p, f"{s / p:.2f}x")

    body = os.path.join(root, "getversion.bin")
    subprocess.run([BENCH_CLIENT, "grpc-body", "nabavkidata", body], check=True)
    bare = {}
    for mode in ("sync", "callback"):
        ready = os.path.join(root, f"bare_{mode}.port")
        bare[mode] = subprocess.Popen([BARE_SERVER, mode, "127.0.0.1:0", ready], stdout=subprocess.DEVNULL)
        while not os.path.exists(ready) or not open(ready).read().strip():
            time.sleep(0.01)
        bare[mode].address = f"127.0.0.1:{open(ready).read().strip()}"
    results = {}
    xact = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'b1_schemad'"
    for streams in (1, 8, 64):
        requests = {1: 20000, 8: 60000, 64: 150000}[streams] // (3 if QUICK else 1)
        for name, address in (("schemad", server.address), ("bare sync", bare["sync"].address),
                              ("bare callback", bare["callback"].address)):
            before = int(pg.query("postgres", xact)) if name == "schemad" else 0
            logfile = os.path.join(root, "h2load.log")
            out = subprocess.run(["h2load", "-n", str(requests), "-c", "1", "-m", str(streams),
                                  "-H", "content-type: application/grpc", "-H", "te: trailers",
                                  "-d", body, "--log-file", logfile,
                                  f"http://{address}/schemad.v1.SchemaService/GetVersion"],
                                 check=True, capture_output=True, text=True).stdout
            rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
            ok = int(re.search(r"(\d+) succeeded", out).group(1))
            latencies = sorted(int(line.split("\t")[2]) for line in open(logfile) if line.strip())
            p50 = latencies[len(latencies) // 2] / 1000.0
            p99 = latencies[int(len(latencies) * 0.99)] / 1000.0
            extra = ""
            if name == "schemad":
                time.sleep(1.2)  # PostgreSQL flushes per-backend statistics about once a second
                extra = int(pg.query("postgres", xact)) - before
            results[(streams, name)] = (rps, p50, p99, ok, requests, extra)
            log(f"  GetVersion {name}, {streams} stream(s): {rps:.0f} req/s, p50 {p50:.3f} ms, "
                f"p99 {p99:.3f} ms, {ok}/{requests} ok" + (f", {extra} database transactions" if name == "schemad" else ""))
    for streams in (1, 8, 64):
        s = results[(streams, "schemad")]
        best = max(results[(streams, "bare sync")][0], results[(streams, "bare callback")][0])
        record(f"B3 GetVersion, {streams} stream(s) on one connection: schemad vs faster bare server",
               f"{s[0]:.0f} req/s (p50 {s[1]:.3f} / p99 {s[2]:.3f} ms)",
               f"{best:.0f} req/s (sync {results[(streams, 'bare sync')][0]:.0f}, callback "
               f"{results[(streams, 'bare callback')][0]:.0f})",
               ">= 70% at 64 streams" if streams == 64 else "-",
               streams != 64 or s[0] >= 0.7 * best,
               f"{100 * s[0] / best:.0f}%; {s[5]} database transactions for {s[4]} calls")
    for process in bare.values():
        process.terminate()

    # A version applied through another replica reaches this one's WatchVersion by NOTIFY.
    catalog = os.path.join(root, "tiny_100")
    pg.fresh("b3_watch")
    a = Server(root, "b3_a", [("w", catalog, pg.dsn("b3_watch"))])
    b = Server(root, "b3_b", [("w", catalog, pg.dsn("b3_watch"))])
    subprocess.run(a.cli("apply", "--target", "w", "--to", "000050"), check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([BENCH_CLIENT, "watch-delay", a.address, b.address, "w", "000050", "000051",
                          "10" if not QUICK else "4"], check=True, capture_output=True, text=True).stdout
    delays = [float(x) for x in out.split()]
    record("B3 another replica's apply seen by WatchVersion (LISTEN/NOTIFY)",
           f"{median(delays):.2f} ms median", f"{max(delays):.2f} ms max", "prompt", max(delays) < 1000)
    a.stop(); b.stop()


def b4(pg, root):
    log("B4: footprint")
    pg.fresh("b4")
    config_dir = os.path.join(root, "b4")
    os.makedirs(config_dir)
    config = os.path.join(config_dir, "schemad.yaml")
    with open(config, "w") as f:
        f.write(f"listen: 127.0.0.1:50098\ntargets:\n  - name: bench\n    environment: dev\n"
                f"    catalog: {CATALOG}\n    dsn_env: BENCH_DSN\n")
    env = dict(os.environ, BENCH_DSN=pg.dsn("b4"))
    starts, bare_starts, rss, bare_rss = [], [], [], []
    for rep in range(8 if not QUICK else 4):
        out = subprocess.run([BENCH_CLIENT, "startup", "127.0.0.1:50098", "--", SCHEMAD, "--config", config],
                             env=env, check=True, capture_output=True, text=True).stdout
        elapsed, pid = out.split()
        time.sleep(0.5)
        with open(f"/proc/{pid}/status") as f:
            rss.append(int(next(l for l in f if l.startswith("VmRSS:")).split()[1]))
        stop_pid(int(pid))
        out = subprocess.run([BENCH_CLIENT, "startup", "127.0.0.1:50099", "--", BARE_SERVER, "callback",
                              "127.0.0.1:50099"], check=True, capture_output=True, text=True).stdout
        bare_elapsed, bare_pid = out.split()
        time.sleep(0.5)
        with open(f"/proc/{bare_pid}/status") as f:
            bare_rss.append(int(next(l for l in f if l.startswith("VmRSS:")).split()[1]))
        stop_pid(int(bare_pid))
        if rep > 0:
            starts.append(float(elapsed)); bare_starts.append(float(bare_elapsed))
    s, b = median(starts), median(bare_starts)
    record("B4 exec to first RPC answered: schemad vs bare gRPC server", f"{s:.1f} ms", f"{b:.1f} ms",
           "<= 50 ms", s <= 50)
    r, br = median(rss) / 1024, median(bare_rss) / 1024
    record("B4 idle RSS (external database, one target) vs bare gRPC server", f"{r:.1f} MiB", f"{br:.1f} MiB",
           "<= 30 MiB", r <= 30)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def b6_isolation(pg, root):
    """Issue 11: 10,000 watchers, a hung database next to a healthy one, 1,000 targets."""
    log("B6: one server for every service")
    catalog = generate_tiny_catalog(os.path.join(root, "b6_catalog"), 60)
    watchers_n = 2000 if QUICK else 10000
    steps = 10

    # 1. Watchers hold no thread: GetStatus, Plan and a 1-step Apply on another target, without
    # and with the watchers, in this run.
    pg.fresh("b6_w"); pg.fresh("b6_o")
    server = Server(root, "b6", [("watched", catalog, pg.dsn("b6_w")), ("other", catalog, pg.dsn("b6_o"))],
                    extra_yaml=f"limits:\n  watches_per_caller: {watchers_n * 2}\n")
    next_version = [0]

    def loads():
        out = {}
        for what in ("status", "plan"):
            line = subprocess.run([BENCH_CLIENT, "latency", server.address, "other", what, "200"],
                                  check=True, capture_output=True, text=True).stdout.split()
            out[what] = float(line[2])
        applies = []
        for _ in range(steps):
            next_version[0] += 1
            applies.append(ms(timed(server.cli("apply", "--target", "other", "--to", f"{next_version[0]:06d}"))))
        out["apply"] = percentile(applies, 0.99)
        return out

    loads()  # warm-up
    alone = loads()
    time.sleep(1)
    rss_before = server.rss_kib()
    holder = subprocess.Popen([BENCH_CLIENT, "watchers", server.address, "watched", str(watchers_n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    held, first_ms = holder.stdout.readline().split()[1:3]
    time.sleep(1)
    rss_after = server.rss_kib()
    loaded = loads()
    start = time.perf_counter()
    subprocess.run(server.cli("apply", "--target", "watched", "--to", "000001"), check=True,
                   stdout=subprocess.DEVNULL)
    holder.stdin.write("2\n"); holder.stdin.flush()
    reached = holder.stdout.readline().split()
    fanout = ms(time.perf_counter() - start)
    holder.stdin.close(); holder.wait(timeout=120)
    server.stop()
    per_watcher = (rss_after - rss_before) / max(1, int(held))
    record(f"B6 WatchVersion streams held, default max_threads (64)", f"{held} of {watchers_n}",
           f"first message to all in {float(first_ms):.0f} ms", f"all {watchers_n:,}", int(held) == watchers_n,
           f"RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB, {per_watcher:.1f} KiB per watcher; "
           f"an apply reached {reached[1]} of them in {fanout:.0f} ms (apply included)")
    for what, label in (("status", "GetStatus"), ("plan", "Plan"), ("apply", f"1-step Apply (schemactl, {steps} runs)")):
        record(f"B6 {label} p99 on another target while {watchers_n:,} watchers wait",
               f"{loaded[what]:.1f} ms", f"{alone[what]:.1f} ms without them", "< 100 ms",
               loaded[what] < 100, f"{loaded[what] / alone[what]:.2f}x")

    # 2. A database that never answers (a socket that never accepts) next to a healthy one.
    import socket
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(1)
    hole_dsn = f"host=127.0.0.1 port={hole.getsockname()[1]} dbname=x user=x connect_timeout=30"
    server = Server(root, "b6_hole", [("healthy", catalog, pg.dsn("b6_o")), ("hole", catalog, hole_dsn)],
                    extra_yaml="limits:\n  calls_per_caller: 1000\n")

    def getversion():  # [p50, p99] of 2,000 calls
        return [float(x) for x in subprocess.run(
            [BENCH_CLIENT, "getversion", server.address, "healthy", "2000"], check=True,
            capture_output=True, text=True).stdout.split()]

    def batches():  # the medians of 5 batches' p50 and p99 (one batch's p99 is 20 calls)
        runs = [getversion() for _ in range(5)]
        return [median([r[0] for r in runs]), median([r[1] for r in runs])]

    getversion()
    base = batches()
    flood_started = time.perf_counter()
    flood = subprocess.Popen([BENCH_CLIENT, "flood", server.address, "hole", "100", "40"],
                             stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    waiting = batches()  # the 100 calls wait on the first connect (30 s timeout)
    time.sleep(max(0.0, 31.5 - (time.perf_counter() - flood_started)))
    refused = batches()  # the breaker is open: the 100 callers are refused and call again
    flood_out = flood.communicate(timeout=60)[0].split()
    server.stop()
    hole.close()
    record("B6 GetVersion p99 (median of 5 batches of 2,000) on a healthy target, 100 calls in flight on a hung database",
           f"{waiting[1]:.3f} ms", f"{base[1]:.3f} ms without them", "<= 2x", waiting[1] <= 2 * base[1],
           f"{waiting[1] / base[1]:.2f}x; p50 {waiting[0]:.3f} vs {base[0]:.3f} ms")
    record("B6 the same once the breaker is open (100 callers re-calling at once, each refused at once)",
           f"{refused[1]:.3f} ms", f"{base[1]:.3f} ms", "report", True,
           f"{refused[1] / base[1]:.2f}x; {flood_out[1]} hung-target calls, {flood_out[3]} UNAVAILABLE; "
           "CPU shared on 2 cores")

    # 3. One view of 1,000 targets (10 databases), from the caches.
    targets = []
    for d in range(10):
        pg.fresh(f"b6_many{d}")
    for i in range(1000):
        targets.append((f"t{i:04d}", CATALOG, pg.dsn(f"b6_many{i % 10}")))
    start = time.perf_counter()
    server = Server(root, "b6_many", targets)
    started_ms = ms(time.perf_counter() - start)
    for _ in range(600):
        if subprocess.run([BENCH_CLIENT, "versions", server.address, "0"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    warm_ms = ms(time.perf_counter() - start)
    rpc_median, rpc_p99, shown = subprocess.run([BENCH_CLIENT, "versions", server.address, "50"], check=True,
                                                capture_output=True, text=True).stdout.split()
    cli = []
    for rep in range(11):
        t = ms(timed(server.cli("versions")))
        if rep > 0:
            cli.append(t)
    server.stop()
    record("B6 `schemactl versions`, 1,000 targets on 10 databases, end to end (process)",
           f"{median(cli):.1f} ms", f"RPC {float(rpc_median):.1f} ms median, {float(rpc_p99):.1f} ms p99",
           "< 50 ms", median(cli) < 50,
           f"{shown} targets; serving {started_ms:.0f} ms after exec, every cache warm after {warm_ms:.0f} ms")


def b7_releases(pg, root):
    """Issue 12: Plan with promotion evidence; a release published on one replica, seen on another."""
    log("B7: releases and promotion")
    catalog = generate_tiny_catalog(os.path.join(root, "b7_catalog"), 60)
    for db in ("b7_stage", "b7_plain", "b7_gated", "b7_control"):
        pg.fresh(db)
    control = os.path.join(root, "b7_control.dsn")
    with open(control, "w") as f:
        f.write(pg.dsn("b7_control") + "\n")
    # The same catalog on three databases: "plain" (dev, no gate) and "gated" (prod, promoted
    # from staging), staging having applied everything (so every step has its evidence).
    extra = (f"control:\n  dsn_file: {control}\n"
             "environments:\n  dev: {}\n  staging: {require_plan_hash: false}\n"
             "  prod: {promote_from: staging, lint_policy: none}\n")
    targets = [("stage", catalog, pg.dsn("b7_stage"), "staging"),
               ("plain", catalog, pg.dsn("b7_plain"), "dev"),
               ("gated", catalog, pg.dsn("b7_gated"), "prod")]
    a = Server(root, "b7a", targets, extra_yaml=extra)
    b = Server(root, "b7b", targets, extra_yaml=extra)
    addr_a = a.address
    cli_a, cli_b = a.cli(), b.cli()
    subprocess.run(cli_a + ["apply", "--target", "stage", "--yes"], check=True, capture_output=True)
    # Plan latency, gated vs plain (same catalog, same pending steps), interleaved.
    plain, gated = [], []
    for _ in range(REPS):
        for target, out in (("plain", plain), ("gated", gated)):
            line = subprocess.run([BENCH_CLIENT, "latency", addr_a, target, "plan", "200"],
                                  check=True, capture_output=True, text=True).stdout.split()
            out.append(float(line[0]))
    p_plain, p_gated = median(plain), median(gated)
    record("B7 Plan of 60 steps with promotion evidence (median e2e of 200 calls) vs without",
           f"{p_gated:.2f} ms", f"{p_plain:.2f} ms", "added <= 5 ms", p_gated - p_plain <= 5,
           f"+{p_gated - p_plain:.2f} ms ({p_gated / p_plain:.2f}x)")
    # A release published on A, seen on B: time from publish's return to B listing it.
    folder = os.path.join(root, "b7_release")
    shutil.copytree(catalog, folder)
    with open(os.path.join(folder, "999999_extra.up.sql"), "w") as f:
        f.write("SELECT 1;\n")
    seen = []
    for i in range(REPS):
        label = f"r{i}"
        with open(os.path.join(folder, "999999_extra.up.sql"), "w") as f:
            f.write(f"SELECT {i};\n")
        name = os.path.basename(catalog)
        out = subprocess.run(cli_a + ["publish", "--catalog", name, folder, "--label", label,
                                      "--allow-edit", "bench"],
                             check=True, capture_output=True, text=True).stdout
        digest = out.split()[0]
        published = time.perf_counter()
        while True:
            listed = subprocess.run(cli_b + ["releases", "--catalog", name],
                                    capture_output=True, text=True).stdout
            if digest in listed:
                break
        seen.append(time.perf_counter() - published)
    s = median(seen)
    record("B7 a release published on replica A, listed by replica B (schemactl releases, process)",
           f"{ms(s):.1f} ms", "-", "< 1,000 ms", s < 1.0, f"max {ms(max(seen)):.1f} ms")
    a.stop()
    b.stop()


def b5_mattermost(pg, root):
    """Issue 3's figure: the mattermost corpus through schemad vs psql -1 -f per file."""
    corpus = os.path.join(os.path.dirname(REPO), "shared", "corpora", "mattermost", "server",
                          "channels", "db", "migrations", "postgres")
    if not os.path.isdir(corpus):
        log("B5: ../shared/corpora/mattermost is absent, skipped")
        return
    log("B5: apply the mattermost corpus (158 revisions)")
    # Its comment-only downs mean "nothing to undo": say so in a catalog.yaml of a copy.
    copy = os.path.join(root, "mattermost")
    shutil.copytree(corpus, copy)
    with open(os.path.join(copy, "catalog.yaml"), "w") as f:
        f.write("name: postgres\nempty_down_is_noop: true\n")
    pg.fresh("b5_schemad")
    pg.fresh("b5_baseline")
    server = Server(root, "b5", [("mm", copy, pg.dsn("b5_schemad"))])
    baseline = (Server(root, "b5_baseline", [("mm", corpus, pg.dsn("b5_baseline"))],
                       BASELINE_BINARIES) if BASELINE else None)
    files = [u for u, _ in revisions(corpus)]
    schemad_times, psql_times, base_times = [], [], []
    for rep in range(REPS + 1):
        s = timed(server.cli("apply", "--target", "mm"))
        if baseline:
            base_times.append(timed(baseline.cli("apply", "--target", "mm")))
            pg.fresh("b5_baseline")
        subprocess.run(server.cli("rollback", "--target", "mm", "--to", "0"), check=True,
                       stdout=subprocess.DEVNULL)
        # The down pass leaves four objects behind (REPORT.md); start the next up from empty.
        pg.fresh("b5_schemad")
        pg.fresh("b5_psql")
        start = time.perf_counter()
        for file in files:
            # psql -1 cannot run CREATE/DROP INDEX CONCURRENTLY; those files run without it.
            single = [] if "CONCURRENTLY" in open(file).read().upper() else ["-1"]
            subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + single +
                           ["-f", file, "-d", pg.dsn("b5_psql")], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p = time.perf_counter() - start
        if rep > 0:
            schemad_times.append(s)
            psql_times.append(p)
    s, p = ms(median(schemad_times)), ms(median(psql_times))
    record("B5 apply mattermost (158 revisions): schemactl vs psql -1 -f per file", f"{s:.0f} ms",
           f"{p:.0f} ms", "<= 0.5x", s <= 0.5 * p, f"ratio {s / p:.2f}x")
    server.stop()
    if baseline:
        base = ms(median(base_times[1:]))
        record("B5 apply mattermost: this build vs the baseline build", f"{s:.0f} ms", f"{base:.0f} ms",
               "report", True, f"{s - base:+.0f} ms")
        baseline.stop()


def b8_shadow(pg, root):
    """Issue 15: exact drift (the catalog replayed in a shadow database) cold and warm against the
    catalog's own apply; a rehearsal on an empty target against an apply; introspection of the
    mattermost schema."""
    log("B8: shadow database: drift and rehearsal")
    shadow = os.path.join(root, "b8_shadow.dsn")
    with open(shadow, "w") as f:
        f.write(pg.dsn("postgres") + "\n")
    extra = f"shadow:\n  dsn_file: {shadow}\n"
    applies, colds, warms, rehearsals = [], [], [], []
    for rep in range(REPS):
        pg.fresh("b8_t")
        pg.fresh("b8_r")
        server = Server(root, f"b8_{rep}", [("t", CATALOG, pg.dsn("b8_t")),
                                            ("r", CATALOG, pg.dsn("b8_r"))], extra_yaml=extra)
        applies.append(timed(server.cli("apply", "--target", "t")))
        colds.append(timed(server.cli("drift", "--target", "t")))
        line = subprocess.run([BENCH_CLIENT, "latency", server.address, "t", "drift", "20"],
                              check=True, capture_output=True, text=True).stdout.split()
        warms.append(float(line[0]) / 1000.0)
        rehearsals.append(timed(server.cli("rehearse", "--target", "r")))
        server.stop()
    a, c, w, r = (ms(median(v)) for v in (applies, colds, warms, rehearsals))
    record("B8 drift of the bundled catalog, cold (replay in a shadow + two introspections, "
           "schemactl) vs its apply (schemactl)", f"{c:.0f} ms", f"{a:.0f} ms", "<= 2x", c <= 2 * a,
           f"ratio {c / a:.2f}x")
    record("B8 drift of the bundled catalog, warm (cached shadow: one introspection; median e2e of "
           "20 GetStatus) vs its apply", f"{w:.1f} ms", f"{a:.0f} ms", "< 5%", w < 0.05 * a,
           f"{100 * w / a:.1f}%")
    record("B8 rehearsal of the bundled catalog on an empty target (schemactl rehearse) vs an "
           "apply", f"{r:.0f} ms", f"{a:.0f} ms", "<= 1.5x", r <= 1.5 * a, f"ratio {r / a:.2f}x")
    corpus = os.path.join(os.path.dirname(REPO), "shared", "corpora", "mattermost", "server",
                          "channels", "db", "migrations", "postgres")
    if not os.path.isdir(corpus):
        log("B8: ../shared/corpora/mattermost is absent, skipped")
        return
    copy = os.path.join(root, "b8_mattermost")
    shutil.copytree(corpus, copy)
    with open(os.path.join(copy, "catalog.yaml"), "w") as f:
        f.write("name: postgres\nempty_down_is_noop: true\n")
    pg.fresh("b8_mm")
    server = Server(root, "b8_mm", [("mm", copy, pg.dsn("b8_mm"))], extra_yaml=extra)
    subprocess.run(server.cli("apply", "--target", "mm"), check=True, stdout=subprocess.DEVNULL)
    cold = timed(server.cli("drift", "--target", "mm"))
    out = subprocess.run(server.cli("drift", "--target", "mm", "--json"), check=True,
                         capture_output=True, text=True).stdout
    objects = json.loads(out).get("drift_objects", 0)
    line = subprocess.run([BENCH_CLIENT, "latency", server.address, "mm", "drift", "20"],
                          check=True, capture_output=True, text=True).stdout.split()
    record("B8 introspection of the mattermost schema (158 revisions applied): warm drift, median "
           "e2e of 20", f"{float(line[0]):.1f} ms", "-", "report", True,
           f"{objects} objects; cold drift (replay of 158) {ms(cold):.0f} ms")
    server.stop()


def fault_trials(root):
    """Issue 9's fault harness with more trials than CI runs."""
    log(f"Faults: {FAULT_TRIALS} trials of tests/fault/fault_harness.py")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, os.path.join(REPO, "tests", "fault", "fault_harness.py"),
                          "--schemad", SCHEMAD, "--schemactl", SCHEMACTL, "--trials", str(FAULT_TRIALS)],
                         capture_output=True, text=True)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", out.stdout, re.M)
    passed, failed = (int(summary.group(1)), int(summary.group(2))) if summary else (0, FAULT_TRIALS)
    kinds = {}
    for kind in re.findall(r"^trial \d+ (\S+) at", out.stdout, re.M):
        kinds[kind] = kinds.get(kind, 0) + 1
    record(f"Fault harness: {FAULT_TRIALS} trials (kill -9 schemad, pg restart fast/immediate, "
           "lock holder terminated, client killed)", f"{failed} bad", f"{passed} ok", "0 bad",
           failed == 0 and summary is not None,
           f"{time.perf_counter() - start:.0f} s; " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def machine():
    cpu = "unknown"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    pg_version = subprocess.run([f"{PG_BIN}/postgres", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores ({cpu}); "
            f"{pg_version}, default settings (fsync on); {platform.platform()}")


def b9_fleets(pg, root):
    """Issue 13: the bundled catalog to 100 databases on one PostgreSQL, ApplyGroup at --parallel
    1, 2, 4 and 8 against (a) a sequential shell loop of `schemactl apply` per member and (b) a
    sequential loop of `psql -1 -f` per file per database (each on its own 100 databases); then
    1,000 tenant schemas in one database, a 3-revision catalog: one fleet apply's time and
    schemad's peak RSS, and `versions --group` cold and warm."""
    log("B9: fleets")
    n = 20 if QUICK else 100
    catalog = os.path.join(REPO, "migrations", "nabavkidata")
    sets = ["p1", "p2", "p4", "p8", "loop_cli", "loop_psql", "psql_x4"]
    tenants = [f"t{i:03d}" for i in range(n)]
    for name in sets:
        for tenant in tenants:
            pg.psql("postgres", "-c", f"CREATE DATABASE b9_{name}_{tenant}")
    pg.fresh("b9_control")
    pg.fresh("b9_plain")
    work = os.path.join(root, "b9_files")
    os.makedirs(work)
    with open(os.path.join(work, "control.dsn"), "w") as f:
        f.write(pg.dsn("b9_control") + "\n")
    groups = "groups:\n"
    for name in sets:
        path = os.path.join(work, f"{name}.dsn")
        with open(path, "w") as f:
            f.write(f"host={pg.socket} port=5432 user=postgres dbname=b9_{name}_{{tenant}}\n")
        groups += (f"  - name: {name}\n    environment: dev\n    catalog: {catalog}\n"
                   f"    dsn_file: {path}\n    tenants: [{', '.join(tenants)}]\n")
    server = Server(root, "b9", [("plain", catalog, pg.dsn("b9_plain"))],
                    extra_yaml=f"control:\n  dsn_file: {work}/control.dsn\n" + groups)
    try:
        fleet = {}
        for p in (1, 2, 4, 8):
            fleet[p] = timed(server.cli("apply", "--group", f"p{p}", "--parallel", str(p)))
        start = time.perf_counter()
        for tenant in tenants:
            subprocess.run(server.cli("apply", "--target", f"loop_cli/{tenant}"), check=True,
                           stdout=subprocess.DEVNULL)
        loop_cli = time.perf_counter() - start
        ups = [up for up, _ in revisions(catalog)]
        start = time.perf_counter()
        for tenant in tenants:
            for up in ups:
                pg.psql(f"b9_loop_psql_{tenant}", "-1", "-f", up)
        loop_psql = time.perf_counter() - start
        # The same psql work on four databases at once: what this machine's PostgreSQL can do
        # at all (the ceiling any parallel apply meets).
        def psql_all(tenant):
            for up in ups:
                pg.psql(f"b9_psql_x4_{tenant}", "-1", "-f", up)
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(psql_all, tenants))
        psql_x4 = time.perf_counter() - start
    finally:
        server.stop()
    for p in (1, 2, 4, 8):
        record(f"B9 bundled catalog to {n} databases: apply --group --parallel {p} vs a loop of "
               f"psql -1 -f per file", f"{fleet[p]:.1f} s", f"{loop_psql:.1f} s",
               ">= 2.5x faster at --parallel 4" if p == 4 else "report",
               loop_psql / fleet[p] >= 2.5 if p == 4 else True,
               f"{loop_psql / fleet[p]:.2f}x faster; {fleet[p] / n * 1000:.0f} ms per member")
    record(f"B9 bundled catalog to {n} databases: psql -1 -f per file, 4 databases at once (the "
           "machine's ceiling) vs the sequential loop", f"{psql_x4:.1f} s", f"{loop_psql:.1f} s",
           "report", True,
           f"{loop_psql / psql_x4:.2f}x: the 2 cores bound any parallel apply; apply --group "
           f"--parallel 4 reaches {psql_x4 / fleet[4] * 100:.0f}% of it")
    record(f"B9 bundled catalog to {n} databases: a loop of schemactl apply vs a loop of psql -1 -f",
           f"{loop_cli:.1f} s", f"{loop_psql:.1f} s", "report", True,
           f"{loop_psql / loop_cli:.2f}x; apply --group --parallel 4 is {loop_cli / fleet[4]:.2f}x "
           "faster than this loop")

    # 1,000 tenant schemas in one database.
    schemas = [f"s{i:04d}" for i in range(200 if QUICK else 1000)]
    tiny = generate_tiny_catalog(os.path.join(work, "tiny"), 3)
    pg.fresh("b9_schemas")
    pg.fresh("b9_control2")
    pg.fresh("b9_plain2")
    with open(os.path.join(work, "schemas.dsn"), "w") as f:
        f.write(pg.dsn("b9_schemas") + "\n")
    with open(os.path.join(work, "control2.dsn"), "w") as f:
        f.write(pg.dsn("b9_control2") + "\n")
    server = Server(root, "b9s", [("plain", tiny, pg.dsn("b9_plain2"))],
                    extra_yaml=(f"control:\n  dsn_file: {work}/control2.dsn\ngroups:\n"
                                f"  - name: shops\n    environment: dev\n    catalog: {tiny}\n"
                                f"    dsn_file: {work}/schemas.dsn\n"
                                f"    schemas: [{', '.join(schemas)}]\n"))
    try:
        idle = server.rss_kib()
        took = timed(server.cli("apply", "--group", "shops", "--parallel", "4"))
        peak = server.rss_kib("VmHWM")
        cold = timed(server.cli("versions", "--group", "shops"))
        warm = median([timed(server.cli("versions", "--group", "shops")) for _ in range(REPS)])
        applied = pg.query("b9_schemas", "SELECT count(*) FROM schemad.migrations")
    finally:
        server.stop()
    record(f"B9 {len(schemas)} tenant schemas in one database, a 3-revision catalog: one apply "
           "--group --parallel 4", f"{took:.1f} s", "-", "report", applied == str(3 * len(schemas)),
           f"{took / len(schemas) * 1000:.1f} ms per member; {applied} history rows; peak RSS "
           f"{peak / 1024:.1f} MiB (idle {idle / 1024:.1f} MiB)")
    record(f"B9 versions --group over {len(schemas)} members: cold (first read of each) and warm",
           f"{warm * 1000:.0f} ms warm", f"{cold * 1000:.0f} ms cold", "report", True, "")


def main():
    started = time.perf_counter()
    root = tempfile.mkdtemp(prefix="schemad-bench-")
    os.chmod(root, 0o755)
    pg = Postgres(root)
    servers = []
    only = os.environ.get("SCHEMAD_BENCH_ONLY", "")  # e.g. "b1,b5", for quick looks
    try:
        server, ini = b1(pg, root)
        servers.append(server)
        if not only or "b2" in only:
            b2(pg, root)
        if not only or "b3" in only:
            b3(pg, root, server, ini)
        if not only or "b4" in only:
            b4(pg, root)
        if not only or "b5" in only:
            b5_mattermost(pg, root)
        if not only or "b6" in only:
            b6_isolation(pg, root)
        if not only or "b7" in only:
            b7_releases(pg, root)
        if not only or "b8" in only:
            b8_shadow(pg, root)
        if not only or "b9" in only:
            b9_fleets(pg, root)
        if not only or "fault" in only:
            fault_trials(root)
    finally:
        for s in servers:
            s.stop()
        pg.stop()
    total = time.perf_counter() - started
    header = ("| benchmark | schemad | reference | target | met | ratio / note |\n"
              "|---|---|---|---|---|---|\n")
    table = header + "".join(f"| {n} | {m} | {r} | {t} | {ok} | {note} |\n" for n, m, r, t, ok, note in rows)
    print("\n" + table)
    text = (f"# schemad benchmark results\n\nOne full run of `tests/bench/run.sh`"
            f"{' (SCHEMAD_BENCH_QUICK=1)' if QUICK else ''}: {machine()}. "
            f"Medians of {REPS} interleaved repetitions after a warm-up unless a row says otherwise; "
            f"every reference was measured in the same run. Total time {total / 60:.1f} min.\n\n" + table)
    if os.environ.get("SCHEMAD_BENCH_NO_RESULTS") != "1" and not only:
        with open(os.path.join(REPO, "tests", "bench", "RESULTS.md"), "w") as f:
            f.write(text)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
