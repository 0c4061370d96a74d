#include <gtest/gtest.h>
#include <vips/vips.h>

int main(int argc, char **argv) {
  if (VIPS_INIT(argv[0])) return 1;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
