#include "stop.h"

#include <atomic>
#include <csignal>

namespace acts {

namespace {

std::atomic<int> g_stop{0};
void on_signal(int sig) { g_stop = sig; }

}  // namespace

int stop_requested() { return g_stop; }

void install_stop_handlers() {
  struct sigaction sa {}, hup {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed terminal or a dropped ssh session (SIGHUP) stops the run like SIGTERM, unless it was
  // started to outlive them (nohup: SIGHUP ignored).
  sigaction(SIGHUP, nullptr, &hup);
  if (hup.sa_handler != SIG_IGN) sigaction(SIGHUP, &sa, nullptr);
  // After a hangup the reader of our output may be gone too (train_gpu ... | tee log): writing to
  // it must fail, not kill the run before its checkpoint is on disk.
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace acts
