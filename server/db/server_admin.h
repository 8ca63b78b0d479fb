// Server-level work for shadow databases: creating and dropping databases, the roles and
// extensions a server has, and the locks a session holds.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/db/connection.h"

namespace schemad::db {

// CREATE DATABASE `name` from template0 (`name` must be a plain identifier).
absl::Status CreateDatabase(Connection& conn, const std::string& name);
// DROP DATABASE IF EXISTS; with `force` its sessions are ended first. Without it, a database
// someone is connected to stays (FAILED_PRECONDITION).
absl::Status DropDatabase(Connection& conn, const std::string& name, bool force);
// The databases whose names start with `prefix`.
absl::StatusOr<std::vector<std::string>> DatabasesNamed(Connection& conn,
                                                        const std::string& prefix);

// Login and group roles other than PostgreSQL's own (pg_*).
absl::StatusOr<std::vector<std::string>> RoleNames(Connection& conn);
// Creates each of `roles` that does not exist yet, as NOLOGIN. Returns the ones created.
absl::StatusOr<std::vector<std::string>> CreateMissingRoles(Connection& conn,
                                                            const std::vector<std::string>& roles);

// Installed extensions (pg_extension) and the ones the server could install.
absl::StatusOr<std::vector<std::string>> InstalledExtensions(Connection& conn);
absl::StatusOr<std::vector<std::string>> AvailableExtensions(Connection& conn);

// The relation locks backend `pid` holds (granted), as "schema.table MODE", sorted.
absl::StatusOr<std::vector<std::string>> RelationLocksOf(Connection& conn, int pid);

}  // namespace schemad::db
