// With odr_b.cpp: the umbrella header in two translation units of one program.
#include <netxx/net.hpp>

#include "catch.hpp"

int odr_b_value();
net::loop* odr_b_loop();

TEST_CASE("two translation units with the umbrella header link into one program and share one loop", "[odr]") {
  CHECK(odr_b_value() == 7);
  // The thread's loop is one object, whichever unit asks for it.
  CHECK(odr_b_loop() == &net::loop::current());
}
