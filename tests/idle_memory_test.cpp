// What an idle connection costs the server: heap bytes per accepted socket
// that echoed once and now waits, for the event face (c.pipe(c), the spec's
// echo) and for a coroutine reading pooled blocks (co_await s.read()), over
// real loopback connections, on both backends. Heap counted by glibc
// (mallinfo2: every arena), so under a sanitizer's allocator it says nothing
// and the test only warns. The clients are raw sockets on another thread:
// they allocate nothing on the heap measured.
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "net_test.hpp"

namespace {

constexpr int clients = 400;

// The loop's blocks and pools, the server and the tables indexed by
// descriptor are warmed by one round of as many clients first (closed
// again), so what is measured is the connections; then `clients` connect, each
// sends one byte, reads its echo, and stays connected. Returns the heap
// growth per connection, measured with every socket waiting to read.
template <typename Server>
std::size_t heap_per_idle_connection(Server& server, int& accepted, std::size_t& echoed) {
  // Freed blocks go back to malloc, so the warm round's sockets are not
  // reused from netxx's cache unseen (mallinfo counts bytes in use).
  net::set_recycle_cache_bytes(0);
  const int port = server.address()->port;
  auto connect_all = [port](int n, std::atomic<int>& done, std::atomic<bool>& release) {
    std::vector<int> fds;
    for (int i = 0; i < n; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<std::uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        continue;
      }
      char c = 'x';
      if (::write(fd, &c, 1) == 1 && ::read(fd, &c, 1) == 1) fds.push_back(fd);
    }
    done = static_cast<int>(fds.size());
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int fd : fds) ::close(fd);
  };

  std::atomic<int> warm_done{-1}, done{-1};
  std::atomic<bool> warm_release{false}, release{false};
  constexpr int warm_clients = clients + 20;
  std::thread warm(connect_all, warm_clients, std::ref(warm_done), std::ref(warm_release));
  netxx_test::run_until([&] { return warm_done >= 0; });
  warm_release = true;
  warm.join();
  netxx_test::run_until([&] { return server.get_connections() == 0; });
  netxx_test::settle();
  CHECK(warm_done == warm_clients);

  const std::size_t before = ::mallinfo2().uordblks;
  const int accepted_before = accepted;
  std::thread t(connect_all, clients, std::ref(done), std::ref(release));
  netxx_test::run_until([&] { return done >= 0; });
  netxx_test::settle();  // every socket has its next read armed and waits
  const std::size_t after = ::mallinfo2().uordblks;
  CHECK(done == clients);
  CHECK(accepted - accepted_before == clients);
  if (echoed > 0) CHECK(echoed == static_cast<std::size_t>(warm_clients + clients));
  release = true;
  t.join();
  netxx_test::run_until([&] { return server.get_connections() == 0; });
  server.close();
  return after > before ? (after - before) / clients : 0;
}

// The goal of issue 13 was 512 bytes; what the socket is made of today is
// in docs/architecture.md ("What a connection costs": about 0.8 KiB for
// c.pipe(c), 0.95 KiB with a coroutine's frame, with g++ 12). This bound
// catches a regression of the layout (a member of every socket that idle
// sockets do not need; they were 2.1-2.3 KiB), with room for another
// compiler's coroutine frames, not allocator noise.
constexpr std::size_t bound = 1280;

bool heap_is_glibc() { return ::mallinfo2().uordblks != 0; }

void check_within_bound(std::size_t per_conn) {
  if (!heap_is_glibc()) {
    WARN("the heap is not glibc's (a sanitizer's allocator): nothing measured");
    return;
  }
  INFO("heap per idle connection: " << per_conn << " B");
  CHECK(per_conn < bound);
}

}  // namespace

TEST_CASE("an idle connection of the event face (c.pipe(c)) costs the server less than 1.25 KiB of heap",
          "[socket][memory]") {
  int accepted = 0;
  std::size_t echoed = 0;
  auto server = net::create_server({.no_delay = true}, [&](net::socket c) {
    ++accepted;
    c.pipe(c);  // the echo is checked by each client, which reads it back
  });
  server.listen(0, "127.0.0.1");
  const std::size_t per_conn = heap_per_idle_connection(server, accepted, echoed);
  net::run();
  check_within_bound(per_conn);
}

TEST_CASE("an idle connection read by a coroutine with pooled reads costs the server less than 1.25 KiB of heap",
          "[socket][memory]") {
  int accepted = 0;
  std::size_t echoed = 0;
  auto server = net::create_server({.no_delay = true});
  auto echo = [&](net::socket s) -> net::task<> {
    try {
      while (net::buffer chunk = co_await s.read()) {
        echoed += chunk.size();
        co_await s.write(chunk);
      }
    } catch (const net::error&) {
    }
  };
  server.listen(0, "127.0.0.1");
  // The lambda outlives its coroutine (a coroutine lambda's captures live in
  // the lambda, not in the frame).
  auto accept_all = [&]() -> net::task<> {
    try {
      for (;;) {
        net::socket s = co_await server.accept();
        ++accepted;
        net::spawn(echo(std::move(s)));
      }
    } catch (const net::error&) {  // the server closed
    }
  };
  net::spawn(accept_all());
  const std::size_t per_conn = heap_per_idle_connection(server, accepted, echoed);
  net::run();
  check_within_bound(per_conn);
}
