// Runs a command line for the app tests: its exit code and everything it printed.
#pragma once
#include <cstdio>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace acts::testing
