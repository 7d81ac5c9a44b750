// Stop requests by signal, shared by train_gpu, dump_acts and the photo loader: SIGINT, SIGTERM
// and SIGHUP set a flag that the loops poll, so a program stops at a point where it can write
// its checkpoint (or remove its unfinished files) and say how to go on, instead of dying half-way
// through a file.
//
// Also the test hook that lets the signal tests land a real signal inside the phase they test,
// whatever the machine's speed: with ACTS_PAUSE_AT=PHASE:N in the environment, the N-th call of
// pause_point(PHASE) prints "acts: paused at PHASE #N ..." to stderr and waits for a signal. A
// stop signal ends the wait with the stop requested; SIGUSR1 ends it without (for signals the
// program must ignore, such as SIGHUP under nohup). Without the variable pause_point is one
// relaxed load.
#pragma once
#include <functional>

namespace acts {

// The handler itself, for a caller that installs and restores handlers on its own (dump_acts'
// library entry point): records the signal and wakes a pause_point.
void on_stop_signal(int sig);

// Installs on_stop_signal for SIGINT, SIGTERM and SIGHUP (unless SIGHUP is ignored: nohup) and
// ignores SIGPIPE: a reader of our output that went away with the terminal (train_gpu | tee log)
// must make writes fail, not kill the program half-way through a file.
void install_stop_handlers();

// The signal that asked to stop, or 0.
int stop_requested();
// Forgets an earlier request (a library call that starts afresh).
void clear_stop_request();

// The test hook above. Threads that reach the same phase while it is paused wait too, so a pause
// inside a pool of decoding threads holds the whole pool. `ready`, when given, runs once before
// the pause is announced: the trainer flushes its checkpoint writer there, so that a test that
// kills the program at the pause knows what is on disk.
void pause_point(const char* phase, const std::function<void()>& ready = nullptr);

}  // namespace acts
