// The compile benchmark's reference: the same coroutine echo server in
// standalone Asio (Debian's libasio-dev) with C++20 coroutines.
#include <asio.hpp>

#include <array>
#include <cstddef>

asio::awaitable<void> serve(asio::ip::tcp::socket c) {
  std::array<std::byte, 4096> buf;
  for (;;) {
    std::error_code ec;
    std::size_t n = co_await c.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(c, asio::buffer(buf.data(), n), asio::use_awaitable);
  }
}

asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor) {
  for (;;) {
    auto c = co_await acceptor.async_accept(asio::use_awaitable);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(c)), asio::detached);
  }
}

int main() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::tcp::v4(), 7000});
  asio::co_spawn(io, accept_loop(acceptor), asio::detached);
  io.run();
}
