// LISTEN on a channel over a dedicated connection: how replicas learn that another replica
// changed a target's version, without polling the database.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace schemad::db {

// The channel schemad NOTIFYs (payload: the catalog name) whenever a target's recorded state
// changes: a revision applied or rolled back, a run started or finished.
inline constexpr char kVersionChannel[] = "schemad_version";

// Owns one connection that LISTENs on a channel. Used by one thread at a time.
class NotificationListener {
 public:
  // Connects and LISTENs. Returns UNAVAILABLE when the database cannot be reached.
  static absl::StatusOr<std::unique_ptr<NotificationListener>> Open(const std::string& dsn,
                                                                    const std::string& channel);
  ~NotificationListener();

  // Waits up to `timeout`; returns the payloads of the notifications received (none on
  // timeout). Returns UNAVAILABLE when the connection broke: open a new listener.
  absl::StatusOr<std::vector<std::string>> Wait(absl::Duration timeout);

 private:
  struct Impl;
  explicit NotificationListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace schemad::db
