// paths.h: the inputs the apps take beyond single flags: repeated flags (`--image a --image b`),
// list files (one path per line) and the class folders of one split of an image data set.
// cli::Flags keeps one value per flag, so repeated_flag() pulls every occurrence of a flag out of
// argv first and Flags::parse() then sees the rest. Not a general argument library.
// Tested in tests/ops/test_apps.cpp: ./build/tests/test_ops -tc="apps*"
#pragma once
#include <string>
#include <vector>

#include "engine/data/folder.h"

namespace cudistill::cli {

// Every value of `--name VALUE` or `--name=VALUE` in argv, in order. The occurrences are REMOVED
// from argv (argc shrinks, argv[argc] stays nullptr), so that a later Flags::parse() does not see
// them. A `--name` with no value after it is a user error.
std::vector<std::string> repeated_flag(int& argc, char** argv, const std::string& name);

// The paths of a list file: one per line, surrounding whitespace (and a Windows '\r') trimmed,
// blank lines and lines starting with '#' skipped. An unreadable file is a user error.
std::vector<std::string> read_path_list(const std::string& file);

// One split of an image data set: the folder holding the class folders, the sorted class names
// and the image files (class-major, sorted by path: the rules of engine/data/folder.h).
struct ClassFolders {
  std::string dir;
  std::vector<std::string> classes;
  data::FileList files;
};

// The class folders of `split` ("train" or "test") under `root`, tried in this order:
// ROOT/<split>, Intel's ROOT/seg_<split>/seg_<split> and ROOT/seg_<split>, else ROOT itself (a
// plain folder of class folders). data::scan_image_folder() needs both splits present, which an
// evaluation does not, hence this one-split scan. No class folders or no images: a user error.
ClassFolders scan_split(const std::string& root, const std::string& split);

}  // namespace cudistill::cli
