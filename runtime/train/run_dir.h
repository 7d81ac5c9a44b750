// The run folder of train_gpu: runs/<timestamp>/ by default with runs/latest pointing at the
// newest. Holds run.json (how the run was started), history.csv, curves.png, last/best/final
// checkpoints and results.json. Nothing of an earlier run is overwritten unless asked.
#pragma once
#include <string>

namespace acts {

constexpr const char* kRunMarker = "run.json";
constexpr const char* kLockFile = ".train_gpu.lock";  // holds the pid of the run training there

// An exclusive lock on a run folder while it lives: flock on <dir>/.train_gpu.lock, so a second
// train_gpu on the same folder (--out or --resume, by any path or through runs/latest: flock
// locks the file itself) is refused instead of both writing its checkpoints and history.csv. The
// kernel drops the lock when its process dies, so a killed run never leaves a stale one.
class RunLock {
 public:
  RunLock() = default;
  ~RunLock() { release(); }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  // Throws acts::Error naming `dir`, the holder's pid and `fix` when another process holds it,
  // and when the lock file cannot be made (a folder that is not writable).
  void acquire(const std::string& dir, const std::string& fix);
  // Removes the lock file (still holding the lock, so no one else can be holding it) and drops it.
  void release();

 private:
  int fd_ = -1;
  std::string path_;
};

struct NewRunDir {
  std::string path;
  bool created = false;  // this start made the folder (a start stopped before training removes it)
};

// Creates (or, with force, reuses) the output folder and locks it (`lock`). Throws acts::Error
// when another train_gpu trains there, or it exists and is not empty (a run: "use --resume or
// --force"; something else: "choose another --out"), or is not writable. A run folder holding
// only run.json (it stopped before its first checkpoint) counts as empty. With force, the files
// an earlier run made there (kRunFiles) are removed, so that nothing of it is taken for the new
// run's; other files stay.
NewRunDir prepare_run_dir(const std::string& out, bool force, RunLock& lock);
// Undoes a new run that stopped before training: removes its run.json and lock and, when it made
// the folder, the folder (only if nothing else is in it). Returns whether the folder is gone.
bool discard_new_run_dir(const NewRunDir& d, RunLock& lock);
// What a run writes into its folder (besides run.json and the lock).
extern const char* const kRunFiles[6];

// "runs/20261128-193000" under `parent`, unique.
std::string default_run_dir(const std::string& parent);

// <parent>/latest as mark_latest() left it, to put it back (unmark_latest) when the run fails
// before its first checkpoint: a latest that names a run with nothing to resume helps no one.
struct LatestMark {
  std::string link;    // <parent>/latest; empty: mark_latest changed nothing
  std::string target;  // what it names now (the run's folder name)
  std::string before;  // what it named before; empty: there was no latest
};
// Points <parent>/latest at `run` (a relative symlink, replaced atomically; `run` may end in a
// separator or be "."). Only a latest that train_gpu made (a link to a sibling folder by its
// name, a run folder or gone) is replaced: the user's own file, folder or link of that name is
// left as it is, with a warning. Best effort.
LatestMark mark_latest(const std::string& run);
// Puts back what mark_latest replaced, if latest still names that run.
void unmark_latest(const LatestMark& m);
// Resolves --resume's argument: a run folder, or "" for runs/latest. Throws if it is not a run.
std::string resolve_run_dir(const std::string& dir);

bool is_dir(const std::string& path);
bool exists(const std::string& path);

}  // namespace acts
