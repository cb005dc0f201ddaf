// paths.cpp: repeated flags, list files and one-split folder scans (see paths.h).
// Tested in tests/ops/test_apps.cpp: ./build/tests/test_ops -tc="apps*"
#include "apps/common/paths.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <system_error>

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

// The same file rules as engine/data/folder.cpp (kept in step by tests/ops/test_apps.cpp):
// hidden entries skipped, image extensions only, no recursion, sorted names.
bool image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

void list_dir(const fs::path& dir, std::vector<std::string>& dirs, std::vector<std::string>& files) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  USER_CHECK(!ec, "cannot read the folder ", dir.string(), ": ", ec.message());
  for (; it != end; it.increment(ec)) {
    USER_CHECK(!ec, "cannot read the folder ", dir.string(), ": ", ec.message());
    const std::string n = it->path().filename().string();
    if (n.empty() || n[0] == '.') continue;
    (is_dir(it->path()) ? dirs : files).push_back(n);
  }
  std::sort(dirs.begin(), dirs.end());
  std::sort(files.begin(), files.end());
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
  std::vector<std::string> files;
  list_dir(dir, out.classes, files);
  USER_CHECK(!out.classes.empty(), "no class folders in ", out.dir, " (expected ", root, "/", split,
             "/<class>/ or ", root, "/<class>/)");
  for (size_t k = 0; k < out.classes.size(); ++k) {
    std::vector<std::string> sub, names;
    list_dir(dir / out.classes[k], sub, names);
    for (const std::string& n : names) {
      const fs::path p = dir / out.classes[k] / n;
      if (!image_extension(p)) continue;
      out.files.paths.push_back(p.string());
      out.files.labels.push_back(int32_t(k));
    }
  }
  USER_CHECK(out.files.size() > 0, "no images (.jpg .jpeg .png .bmp) in the class folders of ", out.dir);
  return out;
}

}  // namespace cudistill::cli
