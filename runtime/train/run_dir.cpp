#include "run_dir.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/core/errors.h"

namespace acts {
namespace fs = std::filesystem;

const char* const kRunFiles[6] = {"last.safetensors", "best.safetensors", "final.safetensors",
                                  "history.csv",      "curves.png",       "results.json"};

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}
bool exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string default_run_dir(const std::string& parent) {
  char stamp[32];
  const std::time_t t = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&t));
  std::string dir = parent + "/" + stamp;
  for (int i = 2; exists(dir); ++i) dir = parent + "/" + stamp + "-" + std::to_string(i);
  return dir;
}

namespace {

// True when `dir` holds nothing but run.json and the lock file: an empty folder, or a run that
// stopped before its first checkpoint (bad data, a model that does not fit the image size, a loss
// that diverged at once). It has nothing to continue or to lose, so starting a run there again
// needs no --force. (A lock file that a killed run left holds no lock: the kernel dropped it.)
bool nothing_to_lose(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename() != kRunMarker && it->path().filename() != kLockFile) return false;
  return !ec;
}

}  // namespace

void RunLock::acquire(const std::string& dir, const std::string& fix) {
  release();
  const std::string path = dir + "/" + kLockFile;
  // A holder removes the file when it lets go, so the file opened may be gone by the time it is
  // locked: then lock the one under the name now.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      fail(dir, ": cannot create its lock file ", kLockFile, " (", std::strerror(errno),
           "); the run folder must be writable");
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char pid[32] = {};
      const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      close(fd);
      if (err != EWOULDBLOCK) fail(dir, ": cannot lock ", kLockFile, " (", std::strerror(err), ")");
      const long holder = n > 0 ? std::strtol(pid, nullptr, 10) : 0;
      const std::string who =
          holder > 0 ? "another train_gpu (pid " + std::to_string(holder) + ")" : "another train_gpu";
      fail(dir, ": ", who, " is training in this run folder; ", fix);
    }
    struct stat held {}, named {};
    if (fstat(fd, &held) == 0 && stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      fd_ = fd;
      path_ = path;
      const std::string me = std::to_string(getpid()) + "\n";
      const bool said = ftruncate(fd, 0) == 0 && pwrite(fd, me.data(), me.size(), 0) == ssize_t(me.size());
      (void)said;  // best effort: the pid only serves a refused second run's message
      return;
    }
    close(fd);
  }
  fail(dir, ": cannot lock ", kLockFile, " (it keeps being replaced)");
}

void RunLock::release() {
  if (fd_ < 0) return;
  unlink(path_.c_str());
  close(fd_);
  fd_ = -1;
}

NewRunDir prepare_run_dir(const std::string& out, bool force, RunLock& lock) {
  NewRunDir d{out, false};
  const char* fix = "wait for it to end, or pass another --out";
  if (exists(out)) {
    if (!is_dir(out)) fail(out, ": exists and is not a folder; choose another --out");
    if (access(out.c_str(), W_OK) != 0)
      fail(out, ": output folder is not writable (", std::strerror(errno), "); choose another --out");
    lock.acquire(out, fix);  // a run training there is named before its files are looked at
    if (!nothing_to_lose(out) && !force) {
      if (exists(out + "/" + kRunMarker))
        fail(out, ": holds an earlier run; continue it with --resume ", out, ", or overwrite it with --force");
      fail(out, ": exists, is not empty and is not a run folder; choose another --out");
    }
    if (force) {  // the earlier run's files go now: none of them may pass for the new run's
      size_t removed = 0;
      for (const char* f : kRunFiles) {
        std::error_code ec;
        removed += fs::remove(out + "/" + f, ec);
        if (ec) fail(out, "/", f, ": cannot remove the earlier run's file (", ec.message(), ")");
      }
      if (removed) std::printf("--force: removed the earlier run's checkpoints and history from %s\n", out.c_str());
    }
    return d;
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) fail(out, ": cannot create the output folder (", ec.message(), "); choose another --out");
  d.created = true;
  if (access(out.c_str(), W_OK) != 0)
    fail(out, ": output folder is not writable (", std::strerror(errno), "); choose another --out");
  lock.acquire(out, fix);
  return d;
}

bool discard_new_run_dir(const NewRunDir& d, RunLock& lock) {
  if (!d.created) return false;  // a folder that was there before keeps run.json: it counts as empty
  std::error_code ec;
  fs::remove(d.path + "/" + kRunMarker, ec);
  lock.release();
  return fs::remove(d.path, ec);  // rmdir: only when nothing else was put there
}

namespace {

// The folder a run lives in, absolute and without a trailing separator ("runs/a/" and "." name
// their folder too): symlinks resolved, so --out runs/latest names the run folder it points at.
fs::path run_folder(const std::string& run) {
  std::error_code ec;
  fs::path p = fs::canonical(run, ec);
  if (ec) p = fs::absolute(run).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p;
}

// Whether `link` is a latest that train_gpu made: a link to a sibling by name alone, which is a
// run folder or is gone (a run since removed). Its target goes to *target.
bool made_by_train_gpu(const fs::path& link, std::string* target) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(link, ec))) return false;
  const fs::path t = fs::read_symlink(link, ec);
  if (ec || t.empty() || t.has_parent_path() || t == "." || t == "..") return false;
  const fs::path dir = link.parent_path() / t;
  if (fs::exists(dir, ec) && !fs::exists(dir / kRunMarker, ec)) return false;
  *target = t.string();
  return true;
}

std::string what_it_is(const fs::path& p) {
  std::error_code ec;
  const fs::file_status s = fs::symlink_status(p, ec);
  if (fs::is_symlink(s)) return "a link to " + fs::read_symlink(p, ec).string();
  if (fs::is_directory(s)) return "a folder";
  if (fs::is_regular_file(s)) return "a file";
  return "not a link";
}

// Points `link` at `target` through a temporary link renamed over it: readers never see it missing.
bool point(const fs::path& link, const std::string& target) {
  const fs::path tmp = link.parent_path() / (".latest.tmp." + std::to_string(getpid()));
  std::error_code ec, ignored;
  fs::remove(tmp, ignored);
  fs::create_directory_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  if (ec) fs::remove(tmp, ignored);
  return !ec;
}

}  // namespace

LatestMark mark_latest(const std::string& run) {
  const fs::path p = run_folder(run), link = p.parent_path() / "latest";
  LatestMark m;
  std::error_code ec;
  const bool there = fs::exists(fs::symlink_status(link, ec));
  if (there && !made_by_train_gpu(link, &m.before)) {
    std::fprintf(stderr, "warning: %s is not a link train_gpu made (%s): left as it is, so it does not name this "
                 "run; remove or rename it to let train_gpu keep it\n", link.c_str(), what_it_is(link).c_str());
    return LatestMark{};
  }
  if (p.filename() == "latest" || !point(link, p.filename().string())) return LatestMark{};
  m.link = link.string();
  m.target = p.filename().string();
  return m;
}

void unmark_latest(const LatestMark& m) {
  if (m.link.empty()) return;
  std::string now;
  if (!made_by_train_gpu(m.link, &now) || now != m.target) return;  // another run has moved it since
  std::error_code ec;
  if (m.before.empty())
    fs::remove(m.link, ec);
  else
    point(m.link, m.before);
}

std::string resolve_run_dir(const std::string& dir) {
  const std::string d = dir.empty() ? "runs/latest" : dir;
  if (!is_dir(d)) fail(d, ": no such run folder; give the folder of the run to continue (--resume DIR)");
  if (!exists(d + "/" + kRunMarker)) fail(d, ": is not a run folder of train_gpu (no ", kRunMarker, ")");
  std::error_code ec;
  const fs::path real = fs::canonical(d, ec);
  return ec ? d : real.string();
}

}  // namespace acts
