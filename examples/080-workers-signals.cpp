// Every core, as Node's cluster does it with processes:
//   if (cluster.isPrimary) for (let i = 0; i < n; i++) cluster.fork();
//   else net.createServer(echo).listen({ port, reusePort: true });
//   process.on('SIGTERM', () => server.close());
// Here the workers are threads, each with its own loop and its own server on
// the same port (reuse_port: the kernel spreads the connections). SIGINT or
// SIGTERM closes every server; the open connections are served until their
// peers end, then the program exits 0.
// Usage: 080-workers-signals [n] port   (n: default os.availableParallelism();
// the port goes last, as shared/bench's run.sh appends it).
#include <netxx/net.hpp>

#include <fmt/core.h>
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

// 061's echo: pooled reads, no buffer of its own.
net::task<> echo(net::socket s) {
  try {
    while (net::buffer chunk = co_await s.read()) co_await s.write(chunk);
  } catch (const net::error&) {
    // A peer that resets is its own business: drop the connection, keep serving.
  }
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s [n] port\n", argv[0]);
    return 2;
  }
  const std::int64_t n = argc > 2 ? std::atoll(argv[1]) : static_cast<std::int64_t>(net::available_parallelism());
  const int port = std::atoi(argv[argc - 1]);

  // The signals are blocked before any worker starts (threads inherit the
  // mask), so they stay pending until sigwait() takes them below, on this
  // thread: no handler runs, so nothing has to be async-signal-safe.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    auto group = net::run_workers(n, [port](net::worker& w) {
      // Each worker's own state, on its own thread: nothing shared per connection.
      auto served = std::make_shared<std::size_t>(0);
      auto server = net::create_server({.no_delay = true}, [served](net::socket c) {
        ++*served;
        net::spawn(echo(std::move(c)));
      });
      server.on("close", [served, i = w.index()] {  // closed, and its last connection ended
        fmt::print("worker {} closed after serving {} connections\n", i, *served);
        std::fflush(stdout);
      });
      server.listen({.port = port, .host = "127.0.0.1", .reuse_port = true}, [i = w.index(), port] {
        fmt::print("worker {} listening on 127.0.0.1:{} ({})\n", i, port, net::loop::current().backend_name());
        std::fflush(stdout);
      });
      return server;  // stop() closes it
    });
    fmt::print("{} workers listening on 127.0.0.1:{}\n", group.size(), port);
    std::fflush(stdout);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    fmt::print("{}: closing the servers; open connections finish first\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(stdout);
    group.stop();  // every server closes on its own thread, the connections drain, the threads join
    fmt::print("all {} workers stopped\n", group.size());
    return 0;
  } catch (const std::exception& e) {  // a bad n or port, EADDRINUSE, or what escaped a worker
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
