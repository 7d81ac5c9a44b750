// The run folder of train_gpu: runs/<timestamp>/ by default with runs/latest pointing at the
// newest. Holds run.json (how the run was started), history.csv, curves.png, last/best/final
// checkpoints and results.json. Nothing of an earlier run is overwritten unless asked.
#pragma once
#include <string>

namespace acts {

constexpr const char* kRunMarker = "run.json";

// Creates (or, with force, reuses) the output folder. Throws acts::Error when it exists and is
// not empty (a run: "use --resume or --force"; something else: "choose another --out") or is not
// writable. A run folder holding only run.json (it stopped before its first checkpoint) counts as
// empty. Returns the folder's path.
std::string prepare_run_dir(const std::string& out, bool force);
// "runs/20261128-193000" under `parent`, unique.
std::string default_run_dir(const std::string& parent);
// Points <parent>/latest at `run` (a relative symlink, replaced atomically). Best effort.
void mark_latest(const std::string& run);
// Resolves --resume's argument: a run folder, or "" for runs/latest. Throws if it is not a run.
std::string resolve_run_dir(const std::string& dir);

bool is_dir(const std::string& path);
bool exists(const std::string& path);

}  // namespace acts
