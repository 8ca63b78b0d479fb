#include "server/db/listener.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "server/db/connection.h"

namespace schemad::db {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override { received.push_back(payload); }
  std::vector<std::string> received;
};

}  // namespace

struct NotificationListener::Impl {
  Impl(const std::string& dsn, const std::string& channel) : conn(dsn), receiver(conn, channel) {}
  pqxx::connection conn;
  Receiver receiver;
};

NotificationListener::NotificationListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NotificationListener::~NotificationListener() = default;

absl::StatusOr<std::unique_ptr<NotificationListener>> NotificationListener::Open(
    const std::string& dsn, const std::string& channel) {
  try {
    auto impl = std::make_unique<Impl>(dsn, channel);
    // The receiver's LISTEN is sent lazily; make sure it is active before we serve from cache.
    impl->conn.get_notifs();
    return std::unique_ptr<NotificationListener>(new NotificationListener(std::move(impl)));
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

absl::StatusOr<std::vector<std::string>> NotificationListener::Wait(absl::Duration timeout) {
  try {
    impl_->receiver.received.clear();
    const int64_t micros = absl::ToInt64Microseconds(timeout);
    impl_->conn.await_notification(micros / 1000000, micros % 1000000);
    if (!impl_->conn.is_open()) return absl::UnavailableError("listener connection closed");
    return std::move(impl_->receiver.received);
  } catch (const std::exception& e) {
    return StatusFromException(e);
  }
}

}  // namespace schemad::db
