// data/folder.h: an image-folder data set on disk -> class names and (path, label) lists, plus a
// seeded, stratified validation split of the training files.
// Two layouts are recognised, checked in this order:
//   ROOT/train/<class>/*  and  ROOT/test/<class>/*                            ("folders")
//   ROOT/seg_train/seg_train/<class>/*  and  ROOT/seg_test/seg_test/<class>/*  ("intel": the Kaggle
//   Intel Image Classification archive as it unpacks; seg_train/<class> without the doubled
//   folder is accepted too). seg_pred (unlabelled) is ignored.
// Classes are the sorted sub-folder names (byte order), label = index in that list; train and test
// must name the same classes. Files: extensions .jpg .jpeg .png .bmp (any case), hidden files and
// folders (".name") skipped, no recursion into sub-folders of a class, sorted by path so that the
// order (and so every seeded draw) is the same on every machine.
// Not here: decoding (data/image.h, data/dataset.h). Tested in tests/ops/test_data.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cudistill::data {

// Parallel lists: file i has path paths[i] and label labels[i] (an index into the class list).
struct FileList {
  std::vector<std::string> paths;
  std::vector<int32_t> labels;
  size_t size() const { return paths.size(); }
};

enum class FolderLayout { Folders, Intel };
const char* layout_name(FolderLayout layout);  // "folders" or "intel"

struct FolderDataset {
  std::string root;
  FolderLayout layout = FolderLayout::Folders;
  std::string train_dir, test_dir;   // the folders holding the class folders
  std::vector<std::string> classes;  // sorted; label k is classes[k]
  FileList train, test;              // class-major, sorted by path
};

// Scans ROOT. Throws a user error (exit code 2 in the apps) when ROOT has neither layout, when a
// side has no class folders or no images, or when train and test name different classes (the
// message lists the classes missing on each side).
FolderDataset scan_image_folder(const std::string& root);

// The two halves of a scan, for callers that read one split folder alone (apps/eval): the sorted
// class folders under `dir`, and the images in them, labelled by index into `classes`. Hidden
// entries are skipped, only .jpg/.jpeg/.png/.bmp count, sub-folders of a class are not entered.
std::vector<std::string> class_folders(const std::string& dir);
FileList scan_classes(const std::string& dir, const std::vector<std::string>& classes);

struct Split {
  FileList train, val;
};

// Stratified split: for each class with n files, shuffle its files with an Rng seeded from
// (seed, class), then put the first round(val_fraction * n) in val and the rest in train. Both
// outputs keep the input order (class-major, by path). val_fraction in [0, 1).
Split split_train_val(const FileList& train, int num_classes, double val_fraction = 0.1,
                      uint64_t seed = 0);

}  // namespace cudistill::data
