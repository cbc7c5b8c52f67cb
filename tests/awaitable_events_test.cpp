// net::once and net::on (include/netxx/awaitable_events.hpp): Node's
// events.once and events.on, over real sockets (127.0.0.1, ::1, a Unix
// socket) and a plain event_emitter, on both backends; the semantics
// checked against Node v23.5.0 where it can be observed.
#include <atomic>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "net_test.hpp"

namespace {

using netxx_test::bytes;
using netxx_test::run_bounded;

using emitter = net::event_emitter<net::event<"x", void(int)>,                            //
                                   net::event<"y", void(int, std::string_view)>,          //
                                   net::event<"z", void()>,                               //
                                   net::event<"data", void(std::span<const std::byte>)>,  //
                                   net::event<"error", void(const net::error&)>>;
// An emitter with no "error" event: once() and on() add no error listener.
using quiet_emitter = net::event_emitter<net::event<"x", void(int)>>;

// Where a server listens: 127.0.0.1, ::1 or a Unix socket.
struct place {
  const char* name;
  std::string host;
  std::string path;
};
std::vector<place> places() {
  const std::string path = netxx_test::temp_path("awaitable-events.sock");
  std::filesystem::remove(path);
  return {{"IPv4", "127.0.0.1", ""}, {"IPv6", "::1", ""}, {"Unix", "", path}};
}
net::listen_options listen_at(const place& p) {
  if (p.path.empty()) return net::listen_options{.port = 0, .host = p.host};
  return net::listen_options{.path = p.path};
}
net::connect_options connect_to(const place& p, const net::server& srv) {
  if (p.path.empty()) return net::connect_options{.port = srv.address()->port, .host = p.host};
  return net::connect_options{.path = p.path};
}

std::string text_of(const std::vector<std::byte>& v) { return std::string(netxx_test::text(v)); }

}  // namespace

TEST_CASE("once() resolves with the event's arguments: listening, connection, connect, data, close",
          "[events][once]") {
  for (const place& p : places()) {
    CAPTURE(p.name);
    auto body = [](const place& p) -> net::task<> {
      auto srv = net::create_server();
      srv.listen(listen_at(p));                // the event style: "listening" follows, next tick
      co_await net::once<"listening">(srv);    // no argument: void
      CHECK(srv.listening());
      CHECK(srv.listener_count("listening") == 0);
      CHECK(srv.listener_count("error") == 0);

      auto accepted = net::once<"connection">(srv);  // listens from here, before the connect
      net::socket c;
      (void)c.connect(connect_to(p, srv));  // not awaited: "connect" follows
      co_await net::once<"connect">(c);
      CHECK(!c.connecting());
      CHECK(c.listener_count("connect") == 0);
      CHECK(c.listener_count("error") == 0);
      net::socket s = co_await accepted;  // one argument: its value
      CHECK(!s.destroyed());

      auto data = net::once<"data">(s);  // starts the flow, as a "data" listener does
      co_await c.write("hello");
      std::vector<std::byte> chunk = co_await data;  // a copy: the span lived during the emit only
      CHECK(text_of(chunk) == "hello");
      CHECK(s.listener_count("data") == 0);

      auto closed = net::once<"close">(c);
      c.destroy();
      const bool had_error = co_await closed;
      CHECK_FALSE(had_error);
      s.destroy();
      srv.close();
    };
    run_bounded(body(p));
  }
}

TEST_CASE("once() throws the \"error\" emitted first and removes both listeners (a refused connect)",
          "[events][once]") {
  for (int family : {AF_INET, AF_INET6}) {
    CAPTURE(family);
    const std::uint16_t port = netxx_test::unused_port(family);
    auto body = [](int family, std::uint16_t port) -> net::task<std::string> {
      net::socket c;
      (void)c.connect({.port = port, .host = family == AF_INET ? "127.0.0.1" : "::1"});
      try {
        co_await net::once<"connect">(c);
        FAIL_CHECK("once(\"connect\") resolved on a refused connect");
      } catch (const net::error& e) {
        CHECK(e.code() == std::errc::connection_refused);
        CHECK(c.listener_count("connect") == 0);
        CHECK(c.listener_count("error") == 0);
        co_return e.what();
      }
      co_return "";
    };
    // The error was handled by once()'s listener: not fatal, as in Node.
    const std::string what = run_bounded(body(family, port));
    CHECK(what.find("connect ECONNREFUSED") == 0);
  }
}

TEST_CASE("once(\"error\") resolves with the error, as Node's once(emitter, 'error')", "[events][once]") {
  const std::uint16_t port = netxx_test::unused_port(AF_INET);
  auto body = [](std::uint16_t port) -> net::task<> {
    net::socket c;
    (void)c.connect({.port = port, .host = "127.0.0.1"});
    net::error e = co_await net::once<"error">(c);
    CHECK(e.code() == std::errc::connection_refused);
    CHECK(c.listener_count("error") == 0);
  };
  run_bounded(body(port));
}

TEST_CASE("once() on an event_emitter: a tuple of several arguments, kept by value, listening from the call",
          "[events][once]") {
  auto body = []() -> net::task<> {
    emitter em;
    auto y = net::once<"y">(em);
    {
      std::string s = "kept";
      em.emit<"y">(7, std::string_view(s));  // before the co_await: kept
      s = "changed";
    }
    CHECK(em.listener_count("y") == 0);  // removed at the emit, as a once listener
    CHECK(em.listener_count("error") == 0);
    auto [n, text] = co_await y;
    CHECK(n == 7);
    CHECK(text == "kept");

    auto z = net::once<"z">(em);
    net::spawn([](emitter& em) -> net::task<> {
      co_await net::sleep(2);
      em.emit<"z">();
    }(em));
    co_await z;
    CHECK(em.listener_count("z") == 0);

    quiet_emitter q;  // no "error" event: only the one listener
    auto x = net::once<"x">(q);
    CHECK(q.listener_count("x") == 1);
    q.emit<"x">(3);
    CHECK(co_await x == 3);
  };
  run_bounded(body());
}

TEST_CASE("once() resumes after the emit returned, never inside it", "[events][once]") {
  auto body = []() -> net::task<> {
    emitter em;
    bool emitting = false;
    bool resumed_inside = true;
    net::spawn([](emitter& em, bool& emitting) -> net::task<> {
      co_await net::sleep(1);
      emitting = true;
      em.emit<"x">(1);
      emitting = false;
    }(em, emitting));
    co_await net::once<"x">(em);
    resumed_inside = emitting;
    CHECK_FALSE(resumed_inside);
  };
  run_bounded(body());
}

TEST_CASE("once() on an emitter destroyed while awaited throws ABORT_ERR; a socket is held alive instead",
          "[events][once][lifetime]") {
  SECTION("a plain emitter, destroyed") {
    auto body = []() -> net::task<std::string> {
      auto em = std::make_unique<emitter>();
      net::spawn([](std::unique_ptr<emitter>& em) -> net::task<> {
        co_await net::sleep(2);
        em.reset();
      }(em));
      try {
        co_await net::once<"x">(*em);
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::abort_err);
        co_return e.what();
      }
      co_return "resolved";
    };
    const std::string what = run_bounded(body());
    CHECK(what.find("can no longer be emitted") != std::string::npos);
  }
  SECTION("a plain emitter whose listeners are all removed") {
    auto body = []() -> net::task<bool> {
      emitter em;
      net::spawn([](emitter& em) -> net::task<> {
        co_await net::sleep(2);
        em.remove_all_listeners();
      }(em));
      try {
        co_await net::once<"x">(em);
      } catch (const net::error& e) {
        co_return e.code() == net::errc::abort_err;
      }
      co_return false;
    };
    CHECK(run_bounded(body()));
  }
  SECTION("a socket whose handles are all dropped: the awaitable holds it") {
    auto [a, b] = netxx_test::connected_pair(AF_UNIX);
    auto body = [](int a, int b) -> net::task<std::string> {
      auto s = std::make_unique<net::socket>(net::socket_options{.fd = a});
      auto data = net::once<"data">(*s);
      s.reset();  // the last user handle
      REQUIRE(::write(b, "still here", 10) == 10);
      std::vector<std::byte> got = co_await data;
      co_return text_of(got);
    };
    CHECK(run_bounded(body(a, b)) == "still here");
    ::close(b);
    netxx_test::settle();
  }
}

TEST_CASE("once() follows the abort protocol: abort() makes it throw ABORT_ERR and removes its listeners",
          "[events][once][abort]") {
  auto body = []() -> net::task<> {
    emitter em;
    auto x = net::once<"x">(em);
    CHECK(&x.abort_core() == &net::loop::current().core());
    net::spawn([](decltype(x)& x) -> net::task<> {
      co_await net::sleep(2);
      x.abort();  // on the loop's thread, while suspended: what net::abortable does
      x.abort();  // idempotent
    }(x));
    try {
      co_await x;
      FAIL_CHECK("resolved");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
    CHECK(em.listener_count("x") == 0);
    CHECK(em.listener_count("error") == 0);

    // An outcome already there stands.
    auto x2 = net::once<"x">(em);
    em.emit<"x">(5);
    x2.abort();
    CHECK(co_await x2 == 5);
  };
  run_bounded(body());
}

TEST_CASE("on() queues what comes while nobody awaits, in order, and copies the data", "[events][on]") {
  for (const place& p : places()) {
    CAPTURE(p.name);
    auto body = [](const place& p) -> net::task<> {
      auto srv = net::create_server();
      co_await srv.listen(listen_at(p));
      net::socket c = co_await net::connect(connect_to(p, srv));
      net::socket s = co_await srv.accept();
      auto chunks = net::on<"data">(s, {.close = {"end"}});
      // The client writes in pieces and ends before anyone awaits: each
      // "data" is queued as a copy of its span.
      std::string sent;
      for (int i = 0; i < 20; ++i) {
        const std::string piece = "piece " + std::to_string(i) + ";";
        co_await c.write(piece);
        sent += piece;
        co_await net::sleep(1);
      }
      co_await c.end();
      co_await net::sleep(20);
      CHECK(chunks.queued() > 0);
      std::string got;
      while (auto chunk = co_await chunks.next()) got += text_of(*chunk);
      CHECK(got == sent);
      CHECK(!(co_await chunks.next()));  // ended: stays ended
      CHECK(s.listener_count("data") == 0);
      CHECK(s.listener_count("end") == 0);
      CHECK(s.listener_count("error") == 0);
      c.destroy();
      s.destroy();
      srv.close();
    };
    run_bounded(body(p));
  }
}

TEST_CASE("on(server, \"connection\") gives each connection; destroying the sequence removes its listener",
          "[events][on]") {
  for (const place& p : places()) {
    CAPTURE(p.name);
    auto body = [](const place& p) -> net::task<> {
      auto srv = net::create_server();
      co_await srv.listen(listen_at(p));
      {
        auto connections = net::on<"connection">(srv);
        CHECK(srv.listener_count("connection") == 1);
        CHECK(srv.listener_count("error") == 1);
        std::vector<net::socket> clients;
        for (int i = 0; i < 3; ++i) clients.push_back(co_await net::connect(connect_to(p, srv)));
        for (int i = 0; i < 3; ++i) {
          auto s = co_await connections.next();
          REQUIRE(s);
          CHECK(!s->destroyed());
          s->destroy();
        }
        for (auto& c : clients) c.destroy();
      }
      CHECK(srv.listener_count("connection") == 0);
      CHECK(srv.listener_count("error") == 0);
      srv.close();
    };
    run_bounded(body(p));
  }
}

TEST_CASE("on(): the queued emissions, then the error, then the end (Node's order)", "[events][on]") {
  auto body = []() -> net::task<std::vector<std::string>> {
    emitter em;
    auto ys = net::on<"y">(em);
    em.emit<"y">(1, "a");
    em.emit<"y">(2, "b");
    em.emit<"error">(net::error(net::errc::err_socket_closed));
    em.emit<"y">(3, "c");  // after the error: the listeners are gone already
    CHECK(em.listener_count("y") == 0);
    CHECK(em.listener_count("error") == 0);
    std::vector<std::string> trace;
    try {
      while (auto v = co_await ys.next()) {
        auto& [n, s] = *v;
        trace.push_back(std::to_string(n) + s);
      }
      trace.push_back("end");
    } catch (const net::error& e) {
      trace.push_back(std::string("error ") + std::string(e.code_string()));
    }
    trace.push_back(co_await ys.next() ? "more" : "ended");
    co_return trace;
  };
  const auto trace = run_bounded(body());
  CHECK(trace == std::vector<std::string>{"1a", "2b", "error ERR_SOCKET_CLOSED", "ended"});
}

TEST_CASE("on() with close events: the queued emissions, then the end; a no-argument event gives empty tuples",
          "[events][on]") {
  auto body = []() -> net::task<> {
    emitter em;
    auto zs = net::on<"z">(em, {.close = {"x", "y"}});
    em.emit<"z">();
    em.emit<"z">();
    em.emit<"y">(0, "");
    em.emit<"z">();  // after the close event
    CHECK(em.listener_count("z") == 0);
    CHECK(em.listener_count("x") == 0);
    CHECK(em.listener_count("y") == 0);
    int n = 0;
    while (auto v = co_await zs.next()) {
      static_assert(std::is_same_v<std::remove_cvref_t<decltype(*v)>, std::tuple<>>);
      ++n;
    }
    CHECK(n == 2);
  };
  run_bounded(body());
}

TEST_CASE("on(): next() waiting when the emission comes resumes with it", "[events][on]") {
  auto body = []() -> net::task<> {
    emitter em;
    auto xs = net::on<"x">(em, {.close = {"z"}});
    net::spawn([](emitter& em) -> net::task<> {
      for (int i = 1; i <= 3; ++i) {
        co_await net::sleep(1);
        em.emit<"x">(i);
      }
      co_await net::sleep(1);
      em.emit<"z">();
    }(em));
    int sum = 0;
    while (auto v = co_await xs.next()) sum += *v;
    CHECK(sum == 6);
  };
  run_bounded(body());
}

TEST_CASE("on() with a signal stopped from another thread: ABORT_ERR once, then the end, no listener left",
          "[events][on][abort]") {
  auto body = []() -> net::task<std::vector<std::string>> {
    emitter em;
    std::stop_source stop;
    auto xs = net::on<"x">(em, {.signal = stop.get_token()});
    em.emit<"x">(1);
    std::vector<std::string> trace;
    std::jthread other([&stop] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      stop.request_stop();
    });
    try {
      while (auto v = co_await xs.next()) trace.push_back(std::to_string(*v));
      trace.push_back("end");
    } catch (const net::error& e) {
      trace.push_back(std::string(e.code_string()));
    }
    trace.push_back(co_await xs.next() ? "more" : "ended");
    CHECK(em.listener_count("x") == 0);
    CHECK(em.listener_count("error") == 0);
    co_return trace;
  };
  const auto trace = run_bounded(body());
  CHECK(trace == std::vector<std::string>{"1", "ABORT_ERR", "ended"});
}

TEST_CASE("on() with a signal already stopped ends at once", "[events][on][abort]") {
  auto body = []() -> net::task<> {
    emitter em;
    std::stop_source stop;
    stop.request_stop();
    auto xs = net::on<"x">(em, {.signal = stop.get_token()});
    CHECK(em.listener_count("x") == 0);
    try {
      (void)co_await xs.next();
      FAIL_CHECK("no ABORT_ERR");
    } catch (const net::error& e) {
      CHECK(e.code() == net::errc::abort_err);
    }
  };
  run_bounded(body());
}

TEST_CASE("on(): an aborted next() throws ABORT_ERR and loses nothing; the sequence goes on", "[events][on][abort]") {
  auto body = []() -> net::task<> {
    emitter em;
    auto xs = net::on<"x">(em);
    {
      auto next = xs.next();
      net::spawn([](decltype(next)& n) -> net::task<> {
        co_await net::sleep(2);
        n.abort();
      }(next));
      try {
        (void)co_await next;
        FAIL_CHECK("resolved");
      } catch (const net::error& e) {
        CHECK(e.code() == net::errc::abort_err);
      }
    }
    CHECK(em.listener_count("x") == 1);
    em.emit<"x">(41);
    em.emit<"x">(42);
    auto a = co_await xs.next();
    auto b = co_await xs.next();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == 41);
    CHECK(*b == 42);
  };
  run_bounded(body());
}

TEST_CASE("on(): the emitter destroyed while next() waits throws ABORT_ERR, then the end", "[events][on][lifetime]") {
  auto body = []() -> net::task<std::vector<std::string>> {
    auto em = std::make_unique<emitter>();
    auto xs = net::on<"x">(*em);
    em->emit<"x">(1);
    net::spawn([](std::unique_ptr<emitter>& em) -> net::task<> {
      co_await net::sleep(2);
      em.reset();
    }(em));
    std::vector<std::string> trace;
    try {
      while (auto v = co_await xs.next()) trace.push_back(std::to_string(*v));
    } catch (const net::error& e) {
      trace.push_back(std::string(e.code_string()));
    }
    trace.push_back(co_await xs.next() ? "more" : "ended");
    co_return trace;  // xs goes after the emitter: nothing to remove
  };
  const auto trace = run_bounded(body());
  CHECK(trace == std::vector<std::string>{"1", "ABORT_ERR", "ended"});
}

TEST_CASE("on(socket, \"data\"): the socket destroyed by a reset ends with its error", "[events][on]") {
  for (int family : {AF_INET, AF_INET6}) {
    CAPTURE(family);
    auto [a, b] = netxx_test::connected_pair(family);
    auto body = [](int a, int b) -> net::task<std::string> {
      net::socket s(net::socket_options{.fd = a});
      auto chunks = net::on<"data">(s);
      REQUIRE(::write(b, "x", 1) == 1);
      auto first = co_await chunks.next();
      CHECK((first && text_of(*first) == "x"));
      const linger l{1, 0};
      ::setsockopt(b, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(b);  // an RST
      try {
        while (co_await chunks.next()) {
        }
      } catch (const net::error& e) {
        co_return e.what();
      }
      co_return "ended";
    };
    CHECK(run_bounded(body(a, b)).find("read ECONNRESET") == 0);
    netxx_test::settle();
  }
}

// What Node v23.5.0 does with the same script: the traces must be equal.
TEST_CASE("events.once and events.on against Node v23.5.0", "[events][node]") {
  if (netxx_test::node_binary().empty()) NETXX_SKIP(netxx_test::node_unavailable());
  const netxx_test::temp_file script("awaitable-events.mjs", R"JS(
import { once, on, EventEmitter } from 'node:events';
import net from 'node:net';
const out = [];
// on(): queued emissions, then the error, then the end
const e1 = new EventEmitter();
const it1 = on(e1, 'y');
e1.emit('y', 1, 'a'); e1.emit('y', 2, 'b'); e1.emit('error', new Error('boom')); e1.emit('y', 3, 'c');
out.push('listeners ' + e1.listenerCount('y') + ' ' + e1.listenerCount('error'));
try { for await (const [n, s] of it1) out.push(n + s); out.push('end'); } catch (e) { out.push('error'); }
out.push((await it1.next()).done ? 'ended' : 'more');
// on() with close events
const e2 = new EventEmitter();
const it2 = on(e2, 'z', { close: ['x', 'y'] });
e2.emit('z'); e2.emit('z'); e2.emit('y', 0, ''); e2.emit('z');
let n2 = 0; for await (const v of it2) { out.push('z ' + v.length); ++n2; }
out.push('z count ' + n2);
// once(): the value emitted before the await is kept
const e3 = new EventEmitter();
const p3 = once(e3, 'y'); e3.emit('y', 7, 'kept');
out.push('once ' + (await p3).join(','));
// once() on a refused connect rejects; once('error') resolves
const srv = net.createServer(); await new Promise(r => srv.listen(0, '127.0.0.1', r));
const port = srv.address().port; srv.close(); await once(srv, 'close');
const c = net.connect(port, '127.0.0.1');
try { await once(c, 'connect'); out.push('connected'); } catch (e) { out.push('rejected ' + e.code + ' ' + c.listenerCount('connect') + ' ' + c.listenerCount('error')); }
const c2 = net.connect(port, '127.0.0.1');
const [err] = await once(c2, 'error'); out.push('error event ' + err.code);
console.log(out.join('\n'));
)JS");
  const auto node = netxx_test::run_node({script.path});
  REQUIRE(node.status == 0);

  auto body = []() -> net::task<std::string> {
    std::vector<std::string> out;
    emitter e1;
    auto it1 = net::on<"y">(e1);
    e1.emit<"y">(1, "a");
    e1.emit<"y">(2, "b");
    e1.emit<"error">(net::error(net::errc::err_socket_closed));
    e1.emit<"y">(3, "c");
    out.push_back("listeners " + std::to_string(e1.listener_count("y")) + " " +
                  std::to_string(e1.listener_count("error")));
    try {
      while (auto v = co_await it1.next()) out.push_back(std::to_string(std::get<0>(*v)) + std::get<1>(*v));
      out.push_back("end");
    } catch (const net::error&) {
      out.push_back("error");
    }
    out.push_back(co_await it1.next() ? "more" : "ended");

    emitter e2;
    auto it2 = net::on<"z">(e2, {.close = {"x", "y"}});
    e2.emit<"z">();
    e2.emit<"z">();
    e2.emit<"y">(0, "");
    e2.emit<"z">();
    int n2 = 0;
    while (auto v = co_await it2.next()) {
      out.push_back("z " + std::to_string(std::tuple_size_v<std::remove_cvref_t<decltype(*v)>>));
      ++n2;
    }
    out.push_back("z count " + std::to_string(n2));

    emitter e3;
    auto p3 = net::once<"y">(e3);
    e3.emit<"y">(7, "kept");
    auto [n, s] = co_await p3;
    out.push_back("once " + std::to_string(n) + "," + s);

    const std::uint16_t port = netxx_test::unused_port(AF_INET);
    net::socket c;
    (void)c.connect({.port = port, .host = "127.0.0.1"});
    try {
      co_await net::once<"connect">(c);
      out.push_back("connected");
    } catch (const net::error& e) {
      out.push_back("rejected " + std::string(e.code_string()) + " " + std::to_string(c.listener_count("connect")) +
                    " " + std::to_string(c.listener_count("error")));
    }
    net::socket c2;
    (void)c2.connect({.port = port, .host = "127.0.0.1"});
    net::error err = co_await net::once<"error">(c2);
    out.push_back("error event " + std::string(err.code_string()));
    std::string all;
    for (const auto& line : out) all += line + "\n";
    co_return all;
  };
  const std::string ours = run_bounded(body());
  CHECK(ours == node.out);
}

TEST_CASE("once(server, \"listening\") throws the listen error (EADDRINUSE)", "[events][once]") {
  auto body = []() -> net::task<std::string> {
    auto first = net::create_server();
    co_await first.listen({.port = 0, .host = "127.0.0.1"});
    auto second = net::create_server();
    second.listen({.port = first.address()->port, .host = "127.0.0.1"});  // the event style: "error" follows
    std::string what = "listening";
    try {
      co_await net::once<"listening">(second);
    } catch (const net::error& e) {
      CHECK(e.code() == std::errc::address_in_use);
      what = e.what();
    }
    CHECK(second.listener_count("listening") == 0);
    CHECK(second.listener_count("error") == 0);
    first.close();
    co_return what;
  };
  CHECK(run_bounded(body()).find("listen EADDRINUSE") == 0);
}

TEST_CASE("on(socket, \"data\") and the socket's close: the end with close = {\"close\"}, else ABORT_ERR",
          "[events][on][lifetime]") {
  for (const bool ends_on_close : {true, false}) {
    CAPTURE(ends_on_close);
    auto [a, b] = netxx_test::connected_pair(AF_UNIX);
    auto body = [](int a, int b, bool ends_on_close) -> net::task<std::vector<std::string>> {
      net::socket s(net::socket_options{.fd = a});
      net::on_options<net::socket> o;
      if (ends_on_close) o.close = {"close"};
      auto chunks = net::on<"data">(s, o);
      REQUIRE(::write(b, "bye", 3) == 3);
      ::shutdown(b, SHUT_WR);  // "end", then (allowHalfOpen false) our end, "close", listeners dropped
      std::vector<std::string> trace;
      try {
        while (auto chunk = co_await chunks.next()) trace.push_back(text_of(*chunk));
        trace.push_back("end");
      } catch (const net::error& e) {
        trace.push_back(std::string(e.code_string()));
      }
      co_return trace;
    };
    const auto trace = run_bounded(body(a, b, ends_on_close));
    CHECK(trace == std::vector<std::string>{"bye", ends_on_close ? "end" : "ABORT_ERR"});
    ::close(b);
    netxx_test::settle();
  }
}

TEST_CASE("on(socket, \"data\") with a high-water mark pauses the socket while the queue is full (Node's highWaterMark)",
          "[events][on][backpressure]") {
  for (int family : {AF_INET, AF_UNIX}) {
    CAPTURE(family);
    auto [a, b] = netxx_test::connected_pair(family);
    auto body = [](int a, int b) -> net::task<> {
      net::socket s(net::socket_options{.fd = a});
      auto chunks = net::on<"data">(s, {.close = {"end"}, .high_water_mark = 2, .low_water_mark = 1});
      // A peer writing 16 MiB (more than loopback's kernel buffers hold) that nobody consumes yet.
      constexpr std::size_t total = 16u << 20;
      std::size_t written = 0;
      net::spawn([](int fd, std::size_t& written) -> net::task<> {
        std::vector<char> piece(64 * 1024, 'x');
        while (written < total) {
          const ssize_t k = ::send(fd, piece.data(), std::min(piece.size(), total - written), MSG_NOSIGNAL);
          if (k > 0)
            written += static_cast<std::size_t>(k);
          else
            co_await net::sleep(1);
        }
        ::shutdown(fd, SHUT_WR);
      }(b, written));
      for (int i = 0; i < 100; ++i) co_await net::sleep(2);
      CHECK(s.is_paused());
      CHECK(chunks.queued() <= 4);  // what came before the pause took effect
      INFO("bytes_read while paused: " << s.bytes_read() << ", peer wrote " << written);
      CHECK(s.bytes_read() <= 1u << 20);  // a few chunks, and the socket's own readable buffer at most
      CHECK(written < total);             // pushed back on the peer
      std::size_t got = 0;
      while (auto chunk = co_await chunks.next()) got += chunk->size();
      CHECK(got == total);
      CHECK(written == total);
    };
    run_bounded(body(a, b));
    ::close(b);
    netxx_test::settle();
  }
}

// With the lead's abortable.hpp (issue 14 items 1 and 2): the wrappers drive
// abort_core()/abort(). Compiled once that header is in the tree.
#if __has_include(<netxx/abortable.hpp>)
#  include <netxx/abortable.hpp>

TEST_CASE("net::abortable(net::once<...>) stopped from another thread, net::timeout(seq.next())",
          "[events][abort]") {
  auto body = []() -> net::task<> {
    emitter em;
    std::stop_source stop;
    // A plain emitter is no work for the loop, nor is a stop_token watched
    // by net::abortable, nor net::timeout's timer (unref'd, as Node's
    // AbortSignal.timeout): a keeper keeps run() going meanwhile (and ends
    // before this task does, so no frame outlives the run).
    bool keep_going = true;
    net::spawn([](const bool& keep_going) -> net::task<> {
      while (keep_going) co_await net::sleep(1);
    }(keep_going));
    std::jthread other([&stop] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      stop.request_stop();
    });
    bool aborted = false;
    try {
      co_await net::abortable(net::once<"x">(em), stop.get_token());
    } catch (const net::error& e) {
      aborted = e.code() == net::errc::abort_err;
    }
    CHECK(aborted);
    CHECK(em.listener_count("x") == 0);
    CHECK(em.listener_count("error") == 0);

    auto xs = net::on<"x">(em);
    bool timed_out = false;
    try {
      (void)co_await net::timeout(xs.next(), std::chrono::milliseconds(10));
    } catch (const net::error& e) {
      timed_out = e.code() == net::errc::timeout_err;
    }
    CHECK(timed_out);
    em.emit<"x">(3);  // the sequence goes on: nothing lost
    auto v = co_await net::timeout(xs.next(), std::chrono::seconds(5));
    CHECK((v && *v == 3));
    keep_going = false;
    co_await net::sleep(5);  // the keeper sees it and ends
  };
  run_bounded(body());
}
#endif
