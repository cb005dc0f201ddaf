// tempdir.h: a fresh directory under $TMPDIR (or /tmp) for one test (mkdtemp: unique, mode
// 0700), removed with its contents when the test ends.
#pragma once
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace cudistill::test {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cudistill_test_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;  // a destructor must not throw: a folder that cannot go stays behind
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::filesystem::path root() const { return path; }
  // Writes `bytes` to `name`, creating parent folders.
  void touch(const std::string& name, const std::string& bytes = "x") const {
    std::filesystem::create_directories(std::filesystem::path(file(name)).parent_path());
    std::ofstream(file(name)) << bytes;
  }
};

}  // namespace cudistill::test
