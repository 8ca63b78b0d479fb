#include "server/db/connection.h"

#include <libpq-fe.h>

#include <cstring>
#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "server/common/refusal.h"

namespace schemad::db {

absl::Status StatusFromException(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat("database connection lost: ", e.what()));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnknownError(absl::StrCat("commit outcome unknown: ", e.what()));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    std::string message = sql->what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    message = absl::StrCat(message, " (SQLSTATE ", sql->sqlstate(), ")");
    if (sql->sqlstate() == "40001" || sql->sqlstate() == "40P01") {
      return Aborted(RefusalReason::kConflict, message, {{"sqlstate", sql->sqlstate()}});
    }
    return absl::InternalError(message);
  }
  return absl::InternalError(e.what());
}

namespace {

// Collects server NOTICEs instead of printing them to stderr.
class NoticeCollector : public pqxx::errorhandler {
 public:
  explicit NoticeCollector(pqxx::connection_base& conn) : pqxx::errorhandler(conn) {}
  bool operator()(const char msg[]) noexcept override {
    std::string text(msg);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    for (const char* prefix : {"NOTICE:  ", "WARNING:  ", "INFO:  "}) {
      if (text.rfind(prefix, 0) == 0) text = text.substr(std::strlen(prefix));
    }
    notices_.push_back(std::move(text));
    return false;
  }
  std::vector<std::string> Take() { return std::exchange(notices_, {}); }

 private:
  std::vector<std::string> notices_;
};

// libpq's connection errors name host and port, but a DSN it cannot parse is quoted back,
// password included: never pass such text on.
std::string RedactedError(const std::string& dsn, std::string message) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &parse_error);
  if (options == nullptr) {
    PQfreemem(parse_error);
    return "the connection string is not valid (its text is not shown: it may hold a password)";
  }
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::string(option->keyword) != "password" || option->val == nullptr || !*option->val)
      continue;
    const std::string secret = option->val;
    for (size_t at = message.find(secret); at != std::string::npos; at = message.find(secret)) {
      message.replace(at, secret.size(), "***");
    }
  }
  PQconninfoFree(options);
  return message;
}

}  // namespace

std::string DatabaseIdentity(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return "";
  }
  std::string host, port, dbname, user;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const std::string key = o->keyword;
    const std::string value = o->val != nullptr ? o->val : "";
    if (key == "host" || (key == "hostaddr" && host.empty())) host = value;
    if (key == "port") port = value;
    if (key == "dbname") dbname = value;
    if (key == "user") user = value;
  }
  PQconninfoFree(options);
  if (port.empty()) port = "5432";
  if (dbname.empty()) dbname = user;
  return absl::StrCat(host, ":", port, "/", dbname);
}

namespace {

// The DSN's keywords with values (libpq's parse of either form); empty when it does not parse.
std::vector<std::pair<std::string, std::string>> DsnOptions(const std::string& dsn,
                                                            std::vector<std::string>* envvars) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return {};
  }
  std::map<std::string, std::string> envvar_of;
  if (envvars != nullptr) {
    PQconninfoOption* defaults = PQconndefaults();
    for (PQconninfoOption* o = defaults; o != nullptr && o->keyword != nullptr; ++o) {
      if (o->envvar != nullptr) envvar_of[o->keyword] = o->envvar;
    }
    PQconninfoFree(defaults);
  }
  std::vector<std::pair<std::string, std::string>> values;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    values.emplace_back(o->keyword, o->val);
    if (envvars != nullptr && envvar_of.count(o->keyword) != 0) {
      envvars->push_back(absl::StrCat(envvar_of[o->keyword], "=", o->val));
    }
  }
  PQconninfoFree(options);
  return values;
}

}  // namespace

std::string WithDatabase(const std::string& dsn, const std::string& database) {
  std::string out;
  for (auto& [key, value] : DsnOptions(dsn, nullptr)) {
    if (key == "dbname") continue;
    absl::StrAppend(&out, key, "='", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}),
                    "' ");
  }
  return absl::StrCat(out, "dbname='", database, "'");
}

std::string WithSearchPath(const std::string& dsn, const std::string& schema) {
  std::string out, options;
  for (auto& [key, value] : DsnOptions(dsn, nullptr)) {
    if (key == "options") {
      options = value;
      continue;
    }
    absl::StrAppend(&out, key, "='", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}),
                    "' ");
  }
  // A startup option is what RESET ALL goes back to: every file of a run starts there.
  const std::string value =
      absl::StrCat(options, options.empty() ? "" : " ", "-c search_path=", schema);
  return absl::StrCat(out, "options='", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}),
                      "'");
}

std::vector<std::string> DsnEnvironment(const std::string& dsn) {
  std::vector<std::string> env;
  DsnOptions(dsn, &env);
  return env;
}

struct Connection::Impl {
  explicit Impl(const std::string& dsn) : conn(dsn), notices(conn) {}
  pqxx::connection conn;
  NoticeCollector notices;
  // Cancel() comes from another thread: it must not meet a disconnect.
  absl::Mutex cancel_mu;
  void Disconnect() {
    absl::MutexLock lock(&cancel_mu);
    conn.disconnect();
  }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& dsn) {
  try {
    auto impl = std::make_unique<Impl>(dsn);
    // libpqxx 6.4 would silently reconnect a broken connection on the next statement: that
    // loses session state, advisory locks included. A broken connection stays broken.
    // (Deprecated in libpqxx 6.4 together with reactivation itself, which is still on by
    // default there.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    impl->conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
    return std::unique_ptr<Connection>(new Connection(std::move(impl)));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the target database: ", RedactedError(dsn, e.what())));
  }
}

pqxx::connection_base& Connection::raw() { return impl_->conn; }
int Connection::backend_pid() const { return impl_->conn.backendpid(); }
int Connection::server_version() { return impl_->conn.server_version(); }
bool Connection::is_open() const { return impl_->conn.is_open(); }
bool Connection::IsAlive() {
  try {
    pqxx::nontransaction txn(impl_->conn);
    txn.exec("SELECT 1");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}
void Connection::Cancel() {
  if (!cancel_armed_) return;
  absl::MutexLock lock(&impl_->cancel_mu);
  if (!impl_->conn.is_open()) return;
  try {
    impl_->conn.cancel_query();
  } catch (const std::exception&) {
    // Best effort: the statement ends anyway when the connection closes.
  }
}
std::vector<std::string> Connection::TakeNotices() { return impl_->notices.Take(); }

void Connection::SetIfExists(const std::string& name, const std::string& value) {
  try {
    pqxx::nontransaction txn(impl_->conn);
    txn.exec_params("SELECT set_config(name, $2, false) FROM pg_settings WHERE name = $1", name,
                    value);
    dirty_ = true;
  } catch (const std::exception&) {
    // A server without the setting, or a broken connection that the next statement reports.
  }
}

bool Connection::InTransactionBlock() {
  // libpqxx 6.4 does not show libpq's transaction status; a savepoint tells: it works only
  // inside a block (25P01 outside, 25P02 in an aborted block).
  try {
    pqxx::nontransaction txn(impl_->conn);
    txn.exec("SAVEPOINT schemad_probe");
    txn.exec("RELEASE SAVEPOINT schemad_probe");
    return true;
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate() == "25P02";
  } catch (const std::exception&) {
    return false;
  }
}

void Connection::RollbackOpenTransaction() {
  try {
    pqxx::nontransaction txn(impl_->conn);
    txn.exec("ROLLBACK");  // outside a block only a warning
  } catch (const std::exception&) {
    impl_->Disconnect();
  }
  TakeNotices();
}

void Connection::ResetSession() {
  if (!impl_->conn.is_open()) return;
  RollbackOpenTransaction();
  if (!impl_->conn.is_open()) return;
  try {
    pqxx::nontransaction txn(impl_->conn);
    txn.exec("DISCARD ALL");
    dirty_ = false;
  } catch (const std::exception&) {
    impl_->Disconnect();
  }
  TakeNotices();
}

ConnectionPool::Lease::~Lease() {
  if (conn_ != nullptr && pool_ != nullptr) pool_->Release(std::move(conn_));
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  while (true) {
    std::unique_ptr<Connection> conn;
    {
      absl::MutexLock lock(&mu_);
      if (idle_.empty()) break;
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    // The round trip happens outside the lock: a half-open connection stalls only its caller.
    if (conn->IsAlive()) return Lease(this, std::move(conn));
  }
  absl::StatusOr<std::unique_ptr<Connection>> conn = OpenConnection();
  if (!conn.ok()) return conn.status();
  return Lease(this, *std::move(conn));
}

absl::StatusOr<std::unique_ptr<Connection>> ConnectionPool::OpenConnection() {
  const absl::Time started = absl::Now();
  if (absl::Status allowed = breaker_.Allow(started); !allowed.ok()) return allowed;
  absl::StatusOr<std::unique_ptr<Connection>> conn = Connection::Open(dsn_);
  if (conn.ok()) {
    breaker_.Succeeded();
  } else {
    breaker_.Failed(conn.status(), started, absl::Now());
  }
  return conn;
}

void ConnectionPool::Release(std::unique_ptr<Connection> conn) {
  if (!conn->is_open()) return;
  if (conn->dirty()) conn->ResetSession();
  if (!conn->is_open()) return;
  conn->TakeNotices();
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace schemad::db
