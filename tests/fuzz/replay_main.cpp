// Replays fuzz inputs without libFuzzer: calls the harness's LLVMFuzzerTestOneInput on every
// file of the folders given, so the committed corpus and the regression cases run as ordinary
// tests built by the usual compiler. A crash or an escaping exception fails the test (the
// exception is named with the input); so does replaying no input at all.
// Usage: fuzz_replay_<parser> FOLDER... (a missing folder counts as empty)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

namespace {

// The input being replayed, named by the signal handler when the harness crashes on it.
char g_current[4096];

void on_crash(int sig) {
  const char* msg = "error: the harness crashed on ";
  (void)!write(2, msg, std::strlen(msg));
  (void)!write(2, g_current, std::strlen(g_current));
  (void)!write(2, "\n", 1);
  raise(sig);  // SA_RESETHAND restored the default action: die of the same signal
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FOLDER...\n", argv[0]);
    return 2;
  }
  // An own stack for the handler, so that a stack overflow is reported too.
  static char alt_stack[1 << 16];
  stack_t ss{};
  ss.ss_sp = alt_stack;
  ss.ss_size = sizeof alt_stack;
  sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_crash;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
  size_t replayed = 0;
  for (int a = 1; a < argc; ++a) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(argv[a], ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "error: %s: cannot be read\n", f.c_str());
        return 1;
      }
      std::snprintf(g_current, sizeof g_current, "%s", f.c_str());
      try {
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s: the harness let an exception escape: %s\n", f.c_str(), e.what());
        return 1;
      } catch (...) {
        std::fprintf(stderr, "error: %s: the harness let a non-std exception escape\n", f.c_str());
        return 1;
      }
    }
    std::printf("%s: %zu inputs\n", argv[a], files.size());
    replayed += files.size();
  }
  if (replayed == 0) {
    std::fprintf(stderr, "error: no inputs replayed; the corpus folders are empty or missing\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
