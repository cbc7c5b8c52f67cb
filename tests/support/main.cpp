// The one main of every test executable: Catch2's session, plus the skip
// convention (exit 77, CTest's SKIP_RETURN_CODE) when a test skipped itself.
#define CATCH_CONFIG_RUNNER
#include "catch.hpp"

int main(int argc, char* argv[]) {
  int rc = Catch::Session().run(argc, argv);
  if (rc == 0 && netxx_test::skipped) return 77;
  return rc;
}
