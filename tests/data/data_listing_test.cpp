// Keras' listing rules (keras_preprocessing's DirectoryIterator): which files are images, class
// and file order, labels; and the folder mistakes that must stop a run with a one-line error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/data/listing.h"
#include "tests/data/data_test_util.h"
#include "runtime/core/errors.h"

namespace acts {
namespace {

using test::TempDir;
using test::write_text;

// Expects acts::Error whose single-line message contains every piece of `parts`.
template <typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no acts::Error thrown; expected one mentioning " << parts.front();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "'" << p << "' not in: " << m;
  }
}

TEST(DataListing, ImageExtensionsAsKerasWhiteList) {
  for (const char* yes : {"a.png", "a.jpg", "a.jpeg", "a.bmp", "a.ppm", "a.tif", "a.tiff", "A.JPG", "b.Jpeg", "c.TiFf",
                          "xjpg"})  // Keras tests the bare suffix: "xjpg" passes
    EXPECT_TRUE(has_image_extension(yes)) << yes;
  for (const char* no : {"a.gif", "a.txt", "a.jpg.bak", "png.txt", "a.webp", "a", ""})
    EXPECT_FALSE(has_image_extension(no)) << no;
}

TEST(DataListing, MatchesKerasOnThePhotoGolden) {
  const auto g = test::read_json(test::golden("photos.json"));
  const Listing l = list_class_folders(std::string(ACTS_TEST_DATA) + "/photos");
  EXPECT_EQ(l.files, g["filenames"].get<std::vector<std::string>>());
  ASSERT_EQ(l.labels.size(), g["labels"].size());
  for (size_t i = 0; i < l.labels.size(); ++i) EXPECT_EQ(float(l.labels[i]), g["labels"][i].get<float>()) << i;
  for (const auto& [name, index] : g["class_indices"].items()) EXPECT_EQ(l.classes.at(index.get<int>()), name);
}

// Order worked out by hand from Keras' rules: os.walk roots sorted as strings, then sorted names;
// byte order puts ' ' < '-' < '.' < '/' < digits < upper case < lower case.
TEST(DataListing, OrdersFoldersThenNamesLikePython) {
  TempDir t;
  for (const char* f :
       {"dogs/b.jpg", "dogs/a.JPG", "cats/b.png", "cats/a.png", "cats/a b.png", "cats/C.PNG", "cats/sub/z.png",
        "cats/sub/a.png", "cats/sub-a/y.png", "cats/sub/deeper/x.png", "cats/notes.txt", "cats/sub/readme.md"})
    write_text(t / f, "x");
  const Listing l = list_class_folders(t.str());
  EXPECT_EQ(l.classes, (std::vector<std::string>{"cats", "dogs"}));
  EXPECT_EQ(l.files, (std::vector<std::string>{"cats/C.PNG", "cats/a b.png", "cats/a.png", "cats/b.png",
                                               "cats/sub/a.png", "cats/sub/z.png", "cats/sub-a/y.png",
                                               "cats/sub/deeper/x.png", "dogs/a.JPG", "dogs/b.jpg"}));
  EXPECT_EQ(l.labels, (std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}));
}

TEST(DataListing, ClassesAreSortedSubFoldersNotFiles) {
  TempDir t;
  write_text(t / "zebras/1.png", "x");
  write_text(t / "Ants/1.png", "x");
  write_text(t / "stray.jpg", "x");  // a file next to the class folders is no class
  const Listing l = list_class_folders(t.str());
  EXPECT_EQ(l.classes, (std::vector<std::string>{"Ants", "zebras"}));
  EXPECT_EQ(l.files, (std::vector<std::string>{"Ants/1.png", "zebras/1.png"}));
}

TEST(DataListing, MissingFolderIsAnError) {
  TempDir t;
  expect_error([&] { list_class_folders((t / "nope").string()); }, {(t / "nope").string(), "no such folder"});
}

TEST(DataListing, AFileInsteadOfAFolderIsAnError) {
  TempDir t;
  write_text(t / "train", "x");
  expect_error([&] { list_class_folders((t / "train").string()); }, {(t / "train").string(), "not a folder"});
}

TEST(DataListing, ImagesWithoutClassFoldersAreAnError) {
  TempDir t;
  write_text(t / "cat.0.jpg", "x");
  expect_error([&] { list_class_folders(t.str()); }, {t.str(), "no class sub-folders", "cats"});
}

TEST(DataListing, ASingleClassIsAnError) {
  TempDir t;
  write_text(t / "cats/cat.0.jpg", "x");
  expect_error([&] { list_class_folders(t.str()); }, {t.str(), "1 class folder (cats)", "exactly 2"});
}

TEST(DataListing, ThreeClassesAreAnError) {
  TempDir t;
  for (const char* f : {"cats/1.jpg", "dogs/1.jpg", ".ipynb_checkpoints/1.jpg"}) write_text(t / f, "x");
  expect_error([&] { list_class_folders(t.str()); }, {"3 class folders (.ipynb_checkpoints, cats, dogs)"});
}

TEST(DataListing, AClassWithoutImagesIsAnError) {
  TempDir t;
  write_text(t / "cats/notes.txt", "no pictures here");
  write_text(t / "dogs/dog.0.jpg", "x");
  expect_error([&] { list_class_folders(t.str()); }, {(t / "cats").string(), "no images"});
}

// Root reads every folder whatever its permissions, so as root (CI) the check runs in a child
// process that has dropped to the unprivileged user 65534 ("nobody").
TEST(DataListing, AnUnreadableFolderIsAnError) {
  TempDir t;
  write_text(t / "cats/cat.0.jpg", "x");
  write_text(t / "dogs/dog.0.jpg", "x");
  test::fs::permissions(t / "cats", test::fs::perms::none);
  auto check = [&] { expect_error([&] { list_class_folders(t.str()); }, {(t / "cats").string(), "cannot read"}); };
  if (::geteuid() != 0) {
    check();
  } else {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {  // child: no gtest reporting here, only the exit code
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      try {
        list_class_folders(t.str());
        ::_exit(1);  // no error: the unreadable folder was not noticed
      } catch (const Error& e) {
        const std::string m = e.what();
        ::_exit(m.find((t / "cats").string()) != std::string::npos && m.find("cannot read") != std::string::npos ? 0
                                                                                                                 : 2);
      } catch (...) {
        ::_exit(4);
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "cannot drop root privileges to user 65534 here";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: message without the path or reason, 4: other exception";
  }
  test::fs::permissions(t / "cats", test::fs::perms::owner_all);
}

}  // namespace
}  // namespace acts
