// Keras' rules for which files of a split folder are images and in which order (OpenCV-free):
// keras_preprocessing's DirectoryIterator and utils._iter_valid_files, plus the checks that
// turn a folder Keras would silently accept into a clear error before training.
#pragma once
#include <string>
#include <vector>

namespace acts {

struct Listing {
  std::vector<std::string> classes;  // sorted sub-folder names
  std::vector<std::string> files;    // relative to the split folder: "cats/cat.0.jpg"
  std::vector<int> labels;           // class index per file
};

// True for names Keras' white list accepts: the lower-cased name ends in png, jpg, jpeg, bmp,
// ppm, tif or tiff (Keras tests the bare suffix, so "xjpg" counts too).
bool has_image_extension(const std::string& name);

// Lists DIR like flow_from_directory: classes = sub-folders sorted by name; in each, the files
// of the folder and its sub-folders (symlinked sub-folders not followed), sorted by folder path
// then by name. Throws acts::Error for a missing or unreadable folder, no class sub-folders, a
// number of classes other than `want_classes` (0: any number; the caller checks them against its
// model's head), or a class with no image files.
Listing list_class_folders(const std::string& dir, int want_classes = 2);

}  // namespace acts
