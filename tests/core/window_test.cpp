// window_1d() against sizes and paddings that TensorFlow gives (tf.nn.conv2d / max_pool2d with
// the same arguments; worked by hand from TensorFlow's documented rule, checked in Keras 3.15).
#include "runtime/core/window.h"

#include <gtest/gtest.h>

using namespace acts;

TEST(Window1d, ValidIsFloor) {
  EXPECT_EQ(window_1d(Padding::Valid, 150, 3, 1).out, 148);
  EXPECT_EQ(window_1d(Padding::Valid, 150, 3, 2).out, 74);
  EXPECT_EQ(window_1d(Padding::Valid, 7, 2, 2).out, 3);
  EXPECT_EQ(window_1d(Padding::Valid, 2, 3, 1).out, 0);  // does not fit
  EXPECT_EQ(window_1d(Padding::Valid, 150, 3, 2).pad_before, 0);
}

TEST(Window1d, SameIsCeilWithTheExtraPadAfter) {
  const Window1d a = window_1d(Padding::Same, 150, 3, 1);  // symmetric
  EXPECT_EQ(a.out, 150);
  EXPECT_EQ(a.pad_before, 1);
  EXPECT_EQ(a.pad_after, 1);
  const Window1d b = window_1d(Padding::Same, 150, 3, 2);  // total 1: all of it after
  EXPECT_EQ(b.out, 75);
  EXPECT_EQ(b.pad_before, 0);
  EXPECT_EQ(b.pad_after, 1);
  const Window1d c = window_1d(Padding::Same, 75, 2, 2);  // pooling an odd size
  EXPECT_EQ(c.out, 38);
  EXPECT_EQ(c.pad_before, 0);
  EXPECT_EQ(c.pad_after, 1);
  const Window1d d = window_1d(Padding::Same, 9, 4, 1);  // even kernel: total 3 = 1 + 2
  EXPECT_EQ(d.out, 9);
  EXPECT_EQ(d.pad_before, 1);
  EXPECT_EQ(d.pad_after, 2);
  const Window1d e = window_1d(Padding::Same, 4, 1, 3);  // stride past the kernel: no padding
  EXPECT_EQ(e.out, 2);
  EXPECT_EQ(e.pad_before + e.pad_after, 0);
}
