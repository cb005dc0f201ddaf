// data/folder.cpp: layout detection, directory scanning and the stratified split (see folder.h).
// std::filesystem with error codes throughout: an unreadable folder is a user error with its
// path, never an uncaught filesystem_error. Tested in tests/ops/test_data.cpp (-tc="data*").
#include "engine/data/folder.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "engine/error.h"
#include "engine/random.h"

namespace cudistill::data {

namespace fs = std::filesystem;

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);  // follows symlinks, false on any error
}

bool hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

bool image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

// Entries of `dir` (names only, hidden ones skipped), split into folders and everything else.
void list_dir(const fs::path& dir, std::vector<std::string>& dirs, std::vector<std::string>& others) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  USER_CHECK(!ec, "cannot read the folder ", dir.string(), ": ", ec.message());
  for (; it != end; it.increment(ec)) {
    USER_CHECK(!ec, "cannot read the folder ", dir.string(), ": ", ec.message());
    const std::string name = it->path().filename().string();
    if (hidden(name)) continue;  // .DS_Store, ._resource forks, .ipynb_checkpoints, ...
    // Anything that is not a folder counts as a file, broken symlinks included: the decoder then
    // reports it as skipped with a reason instead of the scan dropping it silently.
    (is_dir(it->path()) ? dirs : others).push_back(name);
  }
  std::sort(dirs.begin(), dirs.end());
  std::sort(others.begin(), others.end());
}

std::string join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

}  // namespace

std::vector<std::string> class_folders(const std::string& dir) {
  std::vector<std::string> dirs, others;
  list_dir(dir, dirs, others);
  return dirs;
}

// Class-major, each class sorted by name (= sorted by path, since they share the folder prefix).
FileList scan_classes(const std::string& dir_name, const std::vector<std::string>& classes) {
  const fs::path dir(dir_name);
  FileList out;
  for (size_t k = 0; k < classes.size(); ++k) {
    std::vector<std::string> sub, files;
    list_dir(dir / classes[k], sub, files);  // sub-folders of a class are ignored: no recursion
    for (const std::string& f : files) {
      const fs::path p = dir / classes[k] / f;
      if (!image_extension(p)) continue;
      out.paths.push_back(p.string());
      out.labels.push_back(int32_t(k));
    }
  }
  return out;
}

const char* layout_name(FolderLayout layout) {
  return layout == FolderLayout::Intel ? "intel" : "folders";
}

FolderDataset scan_image_folder(const std::string& root) {
  FolderDataset ds;
  ds.root = root;
  const fs::path r(root);
  USER_CHECK(is_dir(r), "data set folder ", root, " does not exist or is not a folder");

  // Layout: ROOT/train + ROOT/test first; else Intel's seg_train/seg_train (or seg_train).
  auto intel_side = [&](const std::string& side) {
    const fs::path doubled = r / ("seg_" + side) / ("seg_" + side);
    return is_dir(doubled) ? doubled : r / ("seg_" + side);
  };
  fs::path train_dir, test_dir;
  if (is_dir(r / "train") || is_dir(r / "test")) {
    ds.layout = FolderLayout::Folders;
    train_dir = r / "train";
    test_dir = r / "test";
  } else if (is_dir(intel_side("train")) || is_dir(intel_side("test"))) {
    ds.layout = FolderLayout::Intel;
    train_dir = intel_side("train");
    test_dir = intel_side("test");
  } else {
    USER_CHECK(false, "no image-folder data set under ", root, ": expected ", root, "/train/<class>/ and ",
               root, "/test/<class>/, or Intel's layout ", root, "/seg_train/seg_train/<class>/ and ", root,
               "/seg_test/seg_test/<class>/");
  }
  USER_CHECK(is_dir(train_dir), "found ", test_dir.string(), " but no ", train_dir.string());
  USER_CHECK(is_dir(test_dir), "found ", train_dir.string(), " but no ", test_dir.string());
  ds.train_dir = train_dir.string();
  ds.test_dir = test_dir.string();

  const std::vector<std::string> train_classes = class_folders(train_dir.string());
  const std::vector<std::string> test_classes = class_folders(test_dir.string());
  USER_CHECK(!train_classes.empty(), "no class folders in ", ds.train_dir, " (expected one folder per class)");
  if (train_classes != test_classes) {
    // Both lists are sorted, so set_difference names what each side lacks.
    std::vector<std::string> missing_test, missing_train;
    std::set_difference(train_classes.begin(), train_classes.end(), test_classes.begin(), test_classes.end(),
                        std::back_inserter(missing_test));
    std::set_difference(test_classes.begin(), test_classes.end(), train_classes.begin(), train_classes.end(),
                        std::back_inserter(missing_train));
    USER_CHECK(false, "train and test class folders differ under ", root, ": missing from test: ",
               join(missing_test), "; missing from train: ", join(missing_train));
  }
  ds.classes = train_classes;
  ds.train = scan_classes(train_dir.string(), ds.classes);
  ds.test = scan_classes(test_dir.string(), ds.classes);
  USER_CHECK(ds.train.size() > 0, "no images (.jpg .jpeg .png .bmp) in the class folders of ", ds.train_dir);
  USER_CHECK(ds.test.size() > 0, "no images (.jpg .jpeg .png .bmp) in the class folders of ", ds.test_dir);
  return ds;
}

Split split_train_val(const FileList& train, int num_classes, double val_fraction, uint64_t seed) {
  USER_CHECK(val_fraction >= 0.0 && val_fraction < 1.0, "validation fraction must be in [0, 1), got ",
             val_fraction);
  ENGINE_CHECK(train.paths.size() == train.labels.size(), "FileList with ", train.paths.size(), " paths and ",
               train.labels.size(), " labels");
  std::vector<std::vector<size_t>> by_class(size_t(std::max(num_classes, 0)));
  for (size_t i = 0; i < train.size(); ++i) {
    const int32_t y = train.labels[i];
    ENGINE_CHECK(y >= 0 && y < num_classes, "label ", y, " of ", train.paths[i], " outside [0, ", num_classes, ")");
    by_class[size_t(y)].push_back(i);
  }
  std::vector<char> is_val(train.size(), 0);
  for (size_t k = 0; k < by_class.size(); ++k) {
    std::vector<size_t>& idx = by_class[k];
    // One generator per class, so that a class's split does not depend on the sizes of the
    // classes before it (the odd multiplier spreads nearby seeds apart).
    Rng rng(seed + 0x9E3779B97F4A7C15ULL * uint64_t(k + 1));
    for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng.below(uint32_t(i))]);  // Fisher-Yates
    const size_t n_val = size_t(std::llround(val_fraction * double(idx.size())));
    for (size_t j = 0; j < n_val; ++j) is_val[idx[j]] = 1;
  }
  Split s;
  for (size_t i = 0; i < train.size(); ++i) {
    FileList& dst = is_val[i] ? s.val : s.train;
    dst.paths.push_back(train.paths[i]);
    dst.labels.push_back(train.labels[i]);
  }
  return s;
}

}  // namespace cudistill::data
