// Helpers shared by the data-pipeline tests: a scratch folder removed at the end of the test,
// file writing/copying, and the committed Keras goldens (tests/fixtures/data_golden).
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace acts::test {

namespace fs = std::filesystem;

inline std::string golden(const std::string& name) { return std::string(ACTS_TEST_DATA) + "/data_golden/" + name; }

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path << ": missing (scripts/reference/make_data_golden.py writes it)";
  return nlohmann::json::parse(f);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline void write_bytes(const fs::path& path, const std::vector<uint8_t>& b) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

inline void write_text(const fs::path& path, const std::string& s) {
  write_bytes(path, std::vector<uint8_t>(s.begin(), s.end()));
}

inline void copy_into(const fs::path& file, const fs::path& folder, const std::string& as = "") {
  fs::create_directories(folder);
  fs::copy_file(file, folder / (as.empty() ? file.filename().string() : as), fs::copy_options::overwrite_existing);
}

// A fresh folder under the system temp dir, deleted with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("acts_" + std::string(info ? info->name() : "data") + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

}  // namespace acts::test
