#include "server/common/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace schemad {
namespace {

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// In the child after fork: sets up identity, environment and descriptors, then execs. Only
// async-signal-safe calls matter here in a threaded parent; we keep to them where it counts.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv, const CommandOptions& options,
                            int stdin_fd, int stdout_fd, int stderr_fd) {
  if (stdin_fd >= 0) dup2(stdin_fd, STDIN_FILENO);
  if (stdout_fd >= 0) dup2(stdout_fd, STDOUT_FILENO);
  if (stderr_fd >= 0) dup2(stderr_fd, STDERR_FILENO);
  if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) _exit(126);
  if (options.run_as) {
    if (setgroups(0, nullptr) != 0 || setgid(options.run_as->gid) != 0 ||
        setuid(options.run_as->uid) != 0) {
      _exit(126);
    }
  }
  for (const std::string& entry : options.env) putenv(const_cast<char*>(entry.c_str()));
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace

absl::StatusOr<RunAs> LookUpUser(const std::string& user) {
  struct passwd* entry = getpwnam(user.c_str());
  if (entry == nullptr) return absl::NotFoundError(absl::StrCat("no system user \"", user, "\""));
  return RunAs{entry->pw_uid, entry->pw_gid, user};
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const CommandOptions& options) {
  char out_path[] = "/tmp/schemad-out-XXXXXX";
  char err_path[] = "/tmp/schemad-err-XXXXXX";
  char in_path[] = "/tmp/schemad-in-XXXXXX";
  const int out_fd = mkstemp(out_path);
  const int err_fd = mkstemp(err_path);
  const int in_fd = mkstemp(in_path);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create temporary file: ", strerror(errno)));
  }
  if (!options.stdin_data.empty() &&
      write(in_fd, options.stdin_data.data(), options.stdin_data.size()) < 0) {
    return absl::InternalError("cannot write child input");
  }
  lseek(in_fd, 0, SEEK_SET);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) ExecChild(argv, options, in_fd, out_fd, err_fd);
  close(in_fd);
  close(out_fd);
  close(err_fd);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  CommandResult result;
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  result.out = ReadWholeFile(out_path);
  result.err = ReadWholeFile(err_path);
  unlink(out_path);
  unlink(err_path);
  unlink(in_path);
  if (result.exit_code == 127 && result.err.empty()) {
    result.err = absl::StrCat("cannot execute ", argv[0]);
  }
  return result;
}

absl::StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                   const CommandOptions& options, const std::string& log_path) {
  int log_fd = -1;
  if (!log_path.empty()) {
    log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      return absl::InternalError(absl::StrCat("cannot open ", log_path, ": ", strerror(errno)));
    }
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);
    ExecChild(argv, options, null_fd, log_fd, log_fd);
  }
  if (log_fd >= 0) close(log_fd);
  close(null_fd);
  return pid;
}

}  // namespace schemad
