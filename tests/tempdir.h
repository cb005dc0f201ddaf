// tempdir.h: a fresh directory under /tmp for one test (mkdtemp: unique, mode 0700), removed
// with its contents when the test ends.
#pragma once
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace cudistill::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/cudistill_test_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  // Writes `bytes` to `name`, creating parent folders.
  void touch(const std::string& name, const std::string& bytes = "x") const {
    std::filesystem::create_directories(std::filesystem::path(file(name)).parent_path());
    std::ofstream(file(name)) << bytes;
  }
};

}  // namespace cudistill::test
