#include "server/embedded/local_cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/common/status_macros.h"

namespace schemad {
namespace {

namespace fs = std::filesystem;

absl::Status Chown(const std::string& path, const std::optional<RunAs>& owner) {
  if (!owner) return absl::OkStatus();
  if (chown(path.c_str(), owner->uid, owner->gid) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot give ", path, " to ", owner->name));
  }
  return absl::OkStatus();
}

std::string Tail(const std::string& text, size_t max_chars = 2000) {
  return text.size() <= max_chars ? text : "…" + text.substr(text.size() - max_chars);
}

}  // namespace

std::string FindPostgresBinDir() {
  std::string best;
  int best_major = -1;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", error)) {
    const std::string major = entry.path().filename().string();
    if (!fs::exists(entry.path() / "bin" / "initdb")) continue;
    const int value = std::atoi(major.c_str());
    if (value > best_major) {
      best_major = value;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

absl::StatusOr<CommandResult> LocalCluster::Tool(const std::string& name,
                                                 const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {(fs::path(options_.bin_dir) / name).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions command;
  command.run_as = run_as_;
  command.working_dir = options_.state_dir;
  return RunCommand(argv, command);
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(const Options& requested) {
  Options options = requested;
  if (options.bin_dir.empty()) options.bin_dir = FindPostgresBinDir();
  if (options.bin_dir.empty() || !fs::exists(fs::path(options.bin_dir) / "pg_ctl")) {
    return absl::FailedPreconditionError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (install "
        "postgresql-15, e.g. with deploy/install-deps.sh)");
  }
  std::error_code error;
  fs::create_directories(options.state_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create state folder ", options.state_dir, ": ", error.message()));
  }
  options.state_dir = fs::absolute(options.state_dir).lexically_normal().string();
  std::unique_ptr<LocalCluster> cluster(new LocalCluster(options));
  if (geteuid() == 0) {
    SCHEMAD_ASSIGN_OR_RETURN(RunAs postgres, LookUpUser("postgres"));
    cluster->run_as_ = postgres;
    SCHEMAD_RETURN_IF_ERROR(Chown(options.state_dir, cluster->run_as_));
  }
  cluster->data_dir_ = (fs::path(options.state_dir) / "pgdata").string();
  cluster->socket_dir_ = (fs::path(options.state_dir) / "run").string();
  fs::create_directories(cluster->socket_dir_, error);
  chmod(cluster->socket_dir_.c_str(), 0700);
  SCHEMAD_RETURN_IF_ERROR(Chown(cluster->socket_dir_, cluster->run_as_));
  if (cluster->socket_dir_.size() > 90) {
    return absl::FailedPreconditionError(
        absl::StrCat("state folder path too long for a unix socket: ", cluster->socket_dir_));
  }

  if (!fs::exists(fs::path(cluster->data_dir_) / "PG_VERSION")) {
    SCHEMAD_ASSIGN_OR_RETURN(
        CommandResult init,
        cluster->Tool("initdb", {"-D", cluster->data_dir_, "-A", "trust", "-U", "postgres", "-E",
                                 "UTF8", "--locale=C.UTF-8", "-N"}));
    if (init.exit_code != 0) {
      return absl::FailedPreconditionError(absl::StrCat("initdb in ", cluster->data_dir_,
                                                        " failed (is every parent folder "
                                                        "reachable by the postgres user?):\n",
                                                        Tail(init.err + init.out)));
    }
  }
  // A crash can leave postmaster.pid behind; pg_ctl status tells whether a server still owns
  // it (exit 3: none running).
  const fs::path pid_file = fs::path(cluster->data_dir_) / "postmaster.pid";
  if (fs::exists(pid_file)) {
    SCHEMAD_ASSIGN_OR_RETURN(CommandResult status,
                             cluster->Tool("pg_ctl", {"status", "-D", cluster->data_dir_}));
    if (status.exit_code == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("a PostgreSQL server is already running in ", cluster->data_dir_,
                       " (another schemad on the same --state-dir?)"));
    }
    fs::remove(pid_file, error);
  }
  std::vector<std::string> server_options = {
      "-k", cluster->socket_dir_, "-p", std::to_string(options.port), "-c", "listen_addresses="};
  for (const std::string& setting : options.settings) {
    server_options.push_back("-c");
    server_options.push_back(setting);
  }
  const std::string log_file = (fs::path(options.state_dir) / "postgres.log").string();
  SCHEMAD_ASSIGN_OR_RETURN(
      CommandResult start,
      cluster->Tool("pg_ctl", {"start", "-w", "-t", "60", "-D", cluster->data_dir_, "-l", log_file,
                               "-o", absl::StrJoin(server_options, " ")}));
  if (start.exit_code != 0) {
    std::ifstream log(log_file);
    std::string log_text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    return absl::FailedPreconditionError(
        absl::StrCat("pg_ctl start failed:\n", Tail(start.err + start.out), "\n", Tail(log_text)));
  }
  cluster->running_ = true;
  return cluster;
}

LocalCluster::~LocalCluster() { Stop().IgnoreError(); }

absl::Status LocalCluster::Stop() {
  if (!running_) return absl::OkStatus();
  running_ = false;
  SCHEMAD_ASSIGN_OR_RETURN(CommandResult stop,
                           Tool("pg_ctl", {"stop", "-w", "-m", "fast", "-D", data_dir_}));
  if (stop.exit_code != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl stop failed: ", Tail(stop.err + stop.out)));
  }
  return absl::OkStatus();
}

std::string LocalCluster::Dsn(const std::string& database) const {
  return absl::StrCat("host=", socket_dir_, " port=", options_.port,
                      " user=postgres dbname=", database);
}

absl::Status LocalCluster::EnsureDatabase(const std::string& database) const {
  std::vector<std::string> argv = {
      (fs::path(options_.bin_dir) / "psql").string(),
      "-X",
      "-q",
      "-At",
      "-d",
      Dsn("postgres"),
      "-c",
      absl::StrCat("SELECT 1 FROM pg_database WHERE datname = '", database, "'")};
  SCHEMAD_ASSIGN_OR_RETURN(CommandResult exists, RunCommand(argv));
  if (exists.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("psql failed: ", Tail(exists.err)));
  }
  if (exists.out.find('1') != std::string::npos) return absl::OkStatus();
  argv.back() = absl::StrCat("CREATE DATABASE \"", database, "\"");
  SCHEMAD_ASSIGN_OR_RETURN(CommandResult create, RunCommand(argv));
  if (create.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("cannot create database ", database, ": ", Tail(create.err)));
  }
  return absl::OkStatus();
}

}  // namespace schemad
