// schemactl's exit codes: stable, documented in --help and the README.
#pragma once

namespace schemad::cli {

enum ExitCode : int {
  kExitOk = 0,                  // done, or nothing to do (NO_CHANGE)
  kExitError = 1,               // the operation failed (FAILED outcome, bad request, not found)
  kExitUsage = 2,               // bad flags, or a confirmation needed and not given
  kExitPending = 3,             // status --exit-code: revisions are pending; wait timed out
  kExitCoverage = 4,            // validate/lint/drift/rehearse: a table missing, an error, drift,
                                // a failed rehearsal
  kExitLockHeld = 5,            // another run holds the target's lock (ABORTED)
  kExitFailedPrecondition = 6,  // failed run to resolve, drift, stale plan hash, irreversible
  kExitUnreachable = 7,         // schemad (or the target database) cannot be reached
  kExitAuth = 8,                // missing/invalid token, or role not allowed
  kExitTimedOut = 9,            // a statement exceeded its statement_timeout (TIMED_OUT)
  kExitInterrupted = 10,        // the run was interrupted (INTERRUPTED, or the stream broke)
};

inline constexpr char kExitCodesHelp[] =
    "Exit codes:\n"
    "  0  ok (applied, or no change)\n"
    "  1  error (failed migration, bad request, unknown target or version)\n"
    "  2  usage (bad flags; confirmation needed: use --yes)\n"
    "  3  pending revisions (status --exit-code), a target behind (versions --exit-code),\n"
    "     or wait timed out\n"
    "  4  findings: a required table missing or an error-level check (validate),\n"
    "     an error-level lint finding (lint), a difference from the catalog (drift),\n"
    "     a rehearsal that failed or a revision that does not round-trip (rehearse)\n"
    "  5  lock held by another run\n"
    "  6  failed precondition (failed run to resolve, checksum drift, stale plan hash,\n"
    "     out-of-order revision, irreversible step; wait: a failed run blocks the target)\n"
    "  7  unreachable (schemad or the target database)\n"
    "  8  not authenticated or not allowed\n"
    "  9  timed out: a statement exceeded its statement_timeout; nothing of that file was\n"
    "     committed unless the file runs outside a transaction (see status)\n"
    "  10 interrupted: the run stopped (cancelled, server stopping, database session lost),\n"
    "     or the stream broke while it ran; see status for what committed\n";

}  // namespace schemad::cli
