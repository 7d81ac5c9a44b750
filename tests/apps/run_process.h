// Runs a command line for the app tests: its exit code and everything it printed.
#pragma once
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace acts::testing {

struct Ran {
  int code = -1;
  std::string out;  // stdout and stderr together
};

inline Ran run(const std::string& cmd) {
  Ran r;
  std::FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

// Starts a command line in the background (through sh, exec'ed so the pid is the command's own).
inline pid_t spawn(const std::string& cmd) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A command line running in the background with its stdout and stderr in a pipe that the test
// reads: the test waits for what the program says (the pause of ACTS_PAUSE_AT, see
// runtime/core/stop_request.h), never for a time. Killed (SIGKILL) and reaped if still running when
// it goes out of scope, so a failed assertion leaves nothing behind.
class Spawned {
 public:
  // `env` is put before the command: "ACTS_PAUSE_AT=validation:3".
  explicit Spawned(const std::string& cmd, const std::string& env = "") {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      const std::string line = (env.empty() ? "" : "export " + env + "; ") + "exec " + cmd;
      execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
  }
  ~Spawned() {
    if (pid_ > 0 && code_ < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& output() const { return out_; }

  // Reads the output until it holds `text`. False when the program closed its output (ended)
  // first, or said nothing for `guard_s` seconds: a guard against a hung program, not a clock the
  // test waits on (a correct program says `text` long before).
  bool wait_for(const std::string& text, int guard_s = 300) {
    while (!contains(out_, text))
      if (!read_some(guard_s)) return false;
    return true;
  }
  // Sends `sig` to the program.
  void signal(int sig) const { kill(pid_, sig); }
  // Reads the rest of the output and reaps the program: its exit code, or 128 + the signal that
  // killed it.
  int finish() {
    if (code_ >= 0) return code_;
    while (read_some(-1)) {
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    signaled_ = WIFSIGNALED(status);
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }
  // Whether a signal ended the program (rather than its own exit, 130 included).
  bool killed_by_signal() {
    finish();
    return signaled_;
  }

 private:
  bool read_some(int guard_s) {
    if (fd_ < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, guard_s < 0 ? -1 : guard_s * 1000);
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buf[4096];
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    out_.append(buf, size_t(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int code_ = -1;
  bool signaled_ = false;
  std::string out_;
};

// The line a program prints when ACTS_PAUSE_AT holds it at `phase` for the n-th time.
inline std::string paused_at(const std::string& phase, int n) {
  return "acts: paused at " + phase + " #" + std::to_string(n) + " ";
}

}  // namespace acts::testing
