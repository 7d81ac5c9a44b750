// The stop request of train_gpu: SIGINT, SIGTERM and SIGHUP set a flag that the loops (data
// loading, training, validation, test evaluation) poll, so a run stops at a point where it can
// write its checkpoint and say how to continue, instead of dying half-way through a file.
#pragma once

namespace acts {

// Installs the handlers: SIGINT/SIGTERM, SIGHUP unless it is ignored (nohup), and ignores SIGPIPE.
void install_stop_handlers();
// The signal that asked to stop, or 0.
int stop_requested();

}  // namespace acts
