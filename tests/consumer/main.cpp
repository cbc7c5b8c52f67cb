// Uses the runtime and an error code through the installed/fetched package.
#include <netxx/net.hpp>

#include <cstdio>

net::task<int> answer() {
  co_await net::sleep(1);
  co_return 42;
}

int main() {
  int v = net::run(answer());
  std::printf("consumer: %d on %s\n", v, std::string(net::loop::current().backend_name()).c_str());
  return v == 42 && net::code_string(net::errc::abort_err) == "ABORT_ERR" ? 0 : 1;
}
