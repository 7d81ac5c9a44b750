#include "runtime/core/stop_request.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

namespace acts {

namespace {

std::atomic<int> g_stop{0};
std::atomic<bool> g_go_on{false};  // SIGUSR1 released a pause_point
// The self-pipe a handler writes one byte to and a pause polls: whichever thread the kernel runs
// the handler on, the pause wakes. Nobody drains it while a request stands, so every waiter sees
// it readable; clear_stop_request() empties it.
int g_wake_read = -1;
std::atomic<int> g_wake_write{-1};

void make_wake_pipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return;  // pauses then poll without it (below)
    g_wake_read = fds[0];
    g_wake_write = fds[1];
  });
}

void wake() {
  const int fd = g_wake_write.load(std::memory_order_relaxed);
  if (fd < 0) return;
  const int saved = errno;  // a handler must leave errno as it found it
  const ssize_t n = write(fd, "x", 1);  // EAGAIN on a full pipe: it is readable anyway
  (void)n;
  errno = saved;
}

void on_go_on(int) {
  g_go_on = true;
  wake();
}

struct PauseSpec {
  std::string phase;
  long n = 0;  // 0: no pause asked for
};

PauseSpec read_pause_spec() {
  PauseSpec s;
  const char* env = std::getenv("ACTS_PAUSE_AT");
  if (!env || !*env) return s;
  const char* colon = std::strrchr(env, ':');
  char* end = nullptr;
  const long n = colon ? std::strtol(colon + 1, &end, 10) : 0;
  if (!colon || colon == env || end == colon + 1 || *end != '\0' || n < 1) {
    std::fprintf(stderr, "warning: ACTS_PAUSE_AT=%s is not PHASE:N (N from 1); no pause\n", env);
    return s;
  }
  s.phase.assign(env, colon);
  s.n = n;
  return s;
}

}  // namespace

void on_stop_signal(int sig) {
  g_stop = sig;
  wake();
}

void install_stop_handlers() {
  make_wake_pipe();
  struct sigaction sa {}, hup {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed terminal or a dropped ssh session (SIGHUP) stops the program like SIGTERM, unless it
  // was started to outlive them (nohup: SIGHUP ignored).
  sigaction(SIGHUP, nullptr, &hup);
  if (hup.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int stop_requested() { return g_stop; }

void clear_stop_request() {
  make_wake_pipe();
  g_stop = 0;
  char buf[64];
  while (g_wake_read >= 0 && read(g_wake_read, buf, sizeof buf) > 0) {
  }
}

void pause_point(const char* phase, const std::function<void()>& ready) {
  static const PauseSpec spec = read_pause_spec();
  if (spec.n == 0 || spec.phase != phase) return;
  static std::atomic<long> reached{0};
  const long k = ++reached;
  if (k < spec.n) return;
  // The N-th arrival announces the pause; every later one (another thread of a pool) waits too.
  if (k == spec.n) {
    if (ready) ready();
    make_wake_pipe();
    struct sigaction sa {};
    sa.sa_handler = on_go_on;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);
    std::fprintf(stderr, "acts: paused at %s #%ld (ACTS_PAUSE_AT); SIGUSR1 goes on, a stop signal stops\n", phase, k);
    std::fflush(stderr);
  }
  while (!g_stop && !g_go_on) {
    if (g_wake_read < 0) {  // no pipe could be made: a slow poll is still a correct one
      usleep(1000);
      continue;
    }
    pollfd p{g_wake_read, POLLIN, 0};
    poll(&p, 1, -1);  // EINTR (the handler ran here) loops back to the check
  }
}

}  // namespace acts
