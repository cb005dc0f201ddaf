// paths.cpp: repeated flags, list files and one-split folder scans (see paths.h).
// Tested in tests/ops/test_apps.cpp: ./build/tests/test_ops -tc="apps*"
#include "apps/common/paths.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "engine/data/folder.h"
#include "engine/error.h"

namespace cudistill::cli {

namespace fs = std::filesystem;

std::vector<std::string> repeated_flag(int& argc, char** argv, const std::string& name) {
  const std::string bare = "--" + name, with_eq = bare + "=";
  std::vector<std::string> values;
  int kept = 1;  // argv[0], the program, always stays
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == bare) {
      USER_CHECK(i + 1 < argc, bare, " needs a value (see --help)");
      values.push_back(argv[++i]);
    } else if (a.rfind(with_eq, 0) == 0) {
      values.push_back(a.substr(with_eq.size()));
    } else {
      argv[kept++] = argv[i];
    }
  }
  for (int i = kept; i < argc; ++i) argv[i] = nullptr;
  argc = kept;
  return values;
}

std::vector<std::string> read_path_list(const std::string& file) {
  std::ifstream in(file);
  USER_CHECK(in.good(), "cannot read the list file ", file);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!line.empty() && space(line.back())) line.pop_back();  // also a CRLF file's '\r'
    size_t b = 0;
    while (b < line.size() && space(line[b])) ++b;
    line = line.substr(b);
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line);
  }
  return out;
}

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

}  // namespace

ClassFolders scan_split(const std::string& root, const std::string& split) {
  const fs::path r(root);
  USER_CHECK(is_dir(r), "data folder ", root, " does not exist or is not a folder");
  fs::path dir = r;
  for (const fs::path& candidate : {r / split, r / ("seg_" + split) / ("seg_" + split), r / ("seg_" + split)})
    if (is_dir(candidate)) {
      dir = candidate;
      break;
    }
  ClassFolders out;
  out.dir = dir.string();
  out.classes = data::class_folders(out.dir);  // the same file rules as a full data-set scan
  USER_CHECK(!out.classes.empty(), "no class folders in ", out.dir, " (expected ", root, "/", split,
             "/<class>/ or ", root, "/<class>/)");
  out.files = data::scan_classes(out.dir, out.classes);
  USER_CHECK(out.files.size() > 0, "no images (.jpg .jpeg .png .bmp) in the class folders of ", out.dir);
  return out;
}

}  // namespace cudistill::cli
