#include "tests/support/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "server/common/sha256.h"
#include "tests/support/test_postgres.h"

namespace schemad::testing {
namespace {

namespace fs = std::filesystem;

int WaitExit(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

std::string TokenHash(const std::string& token) { return Sha256Hex(token); }

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const ServerConfig& config) {
  const std::string dir = MakeTempDir("schemad-server");
  std::string yaml = "listen: 127.0.0.1:0\ntargets:\n";
  std::vector<std::string> env;
  int index = 0;
  for (const TargetSpec& target : config.targets) {
    const std::string var = absl::StrCat("SCHEMAD_TEST_DSN_", index++);
    env.push_back(absl::StrCat(var, "=", target.dsn));
    absl::StrAppend(&yaml, "  - name: ", target.name, "\n    environment: ", target.environment,
                    "\n    catalog: ", target.catalog, "\n    dsn_env: ", var, "\n",
                    target.extra_yaml);
  }
  if (!config.tokens.empty()) {
    yaml += "tokens:\n";
    for (const TokenSpec& token : config.tokens) {
      absl::StrAppend(&yaml, "  - principal: ", token.principal,
                      "\n    sha256: ", TokenHash(token.token), "\n    roles:\n");
      for (const auto& [environment, role] : token.roles) {
        absl::StrAppend(&yaml, "      \"", environment, "\": ", role, "\n");
      }
    }
  }
  yaml += config.extra_yaml;
  if (config.shadow_on_test_cluster) {
    yaml += "shadow:\n  dsn_env: SCHEMAD_TEST_SHADOW_DSN\n";
    env.push_back(absl::StrCat("SCHEMAD_TEST_SHADOW_DSN=", TestPostgres::Get().admin_dsn()));
  }
  WriteFiles(dir, {{"schemad.yaml", yaml}});
  std::vector<std::string> args = {"--config", dir + "/schemad.yaml"};
  args.insert(args.end(), config.args.begin(), config.args.end());
  return StartWithArgs(args, env);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::StartWithArgs(
    std::vector<std::string> args, const std::vector<std::string>& env) {
  const std::string dir = MakeTempDir("schemad-run");
  std::unique_ptr<ServerProcess> process(new ServerProcess());
  process->log_path_ = dir + "/schemad.log";
  const std::string ready = dir + "/ready";
  std::vector<std::string> argv = {SCHEMAD_BIN, "--ready-file", ready};
  bool has_listen = false;
  for (const std::string& arg : args) has_listen |= arg == "--listen";
  if (!has_listen) {
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:0");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions options;
  options.env = env;
  absl::StatusOr<pid_t> pid = SpawnProcess(argv, options, process->log_path_);
  if (!pid.ok()) return pid.status();
  process->pid_ = *pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(ready)) {
      process->address_ = std::string(absl::StripTrailingAsciiWhitespace(ReadTextFile(ready)));
      return process;
    }
    int status = 0;
    if (waitpid(process->pid_, &status, WNOHANG) == process->pid_) {
      process->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("schemad exited with ", WIFEXITED(status) ? WEXITSTATUS(status) : -1, ":\n",
                       process->Log()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("schemad did not serve in time:\n", process->Log()));
}

ServerProcess::~ServerProcess() { Stop(); }

std::string ServerProcess::Log() const { return ReadTextFile(log_path_); }

int ServerProcess::Stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const int code = WaitExit(pid_, std::chrono::seconds(30));
  pid_ = -1;
  return code;
}

CommandResult ServerProcess::Cli(const std::vector<std::string>& args,
                                 const std::vector<std::string>& env) const {
  std::vector<std::string> full = {"--server", address_, "--timeout", "120"};
  full.insert(full.end(), args.begin(), args.end());
  return RunCli(full, env);
}

std::unique_ptr<ServerProcess> StartServerFor(const std::string& catalog, const std::string& dsn,
                                              const std::string& name,
                                              const std::string& environment,
                                              const std::string& extra_yaml) {
  ServerConfig config;
  config.targets.push_back({name, environment, catalog, dsn, extra_yaml});
  auto server = ServerProcess::Start(config);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

CommandResult RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::string& stdin_data) {
  std::vector<std::string> argv = {SCHEMACTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions options;
  options.env = {"SCHEMAD_TOKEN="};
  options.env.insert(options.env.end(), env.begin(), env.end());
  options.stdin_data = stdin_data;
  absl::StatusOr<CommandResult> result = RunCommand(argv, options);
  if (!result.ok()) return CommandResult{-1, "", std::string(result.status().message())};
  return *result;
}

}  // namespace schemad::testing
