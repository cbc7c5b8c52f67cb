// net::event_emitter: Node's EventEmitter semantics (lib/events.js), typed.
// The compile-time rejections are proved by tests/compile_fail/ (a consteval
// failure is not SFINAE: inside a requires-expression both gcc and clang
// report such a call as well-formed, so a concept cannot observe it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <netxx/events.hpp>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "catch.hpp"

namespace net = netxx;

// Counts allocations, to prove emit() allocates nothing once warm. Every
// non-aligned form is replaced, so that news and deletes always pair up
// (AddressSanitizer checks that they do).
namespace {
std::size_t allocations = 0;
// Out of line: gcc -O2 would otherwise see free() on a pointer from new and warn.
[[gnu::noinline]] void* counted_malloc(std::size_t n) noexcept {
  ++allocations;
  return std::malloc(n == 0 ? 1 : n);
}
[[gnu::noinline]] void counted_free(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_malloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

using emitter = net::event_emitter<net::event<"data", void(std::span<const std::byte>)>,
                                   net::event<"close", void(bool)>, net::event<"error", void(const std::string&)>,
                                   net::event<"end", void()>, net::event<"lookup", void(int, std::string_view, int)>>;

using chunk = std::span<const std::byte>;

const std::byte bytes[3] = {std::byte{1}, std::byte{2}, std::byte{3}};

}  // namespace

TEST_CASE("listeners run synchronously, in registration order, with the event's arguments", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("data", [&](chunk c) { log.push_back("a" + std::to_string(c.size())); });
  e.add_listener("data", [&](chunk c) { log.push_back("b" + std::to_string(c.size())); });
  e.on("data", [&](chunk) { log.push_back("c"); });
  CHECK(e.emit<"data">(chunk(bytes)));
  CHECK(log == std::vector<std::string>{"a3", "b3", "c"});
  CHECK(e.emit<"data">(chunk(bytes).first(1)));
  CHECK(log == std::vector<std::string>{"a3", "b3", "c", "a1", "b1", "c"});
}

TEST_CASE("emit returns whether the event had listeners", "[events]") {
  emitter e;
  CHECK_FALSE(e.emit<"end">());
  auto id = e.on("end", [] {});
  CHECK(e.emit<"end">());
  CHECK_FALSE(e.emit<"close">(false));
  e.off("end", id);
  CHECK_FALSE(e.emit<"end">());
}

TEST_CASE("an unhandled \"error\" does not throw from emit: the false lets the owner decide", "[events]") {
  emitter e;
  CHECK_FALSE(e.emit<"error">(std::string("boom")));
}

TEST_CASE("a listener may ignore all the arguments, or the trailing ones, as in JS", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("close", [&](bool had_error) { log.push_back(had_error ? "close(true)" : "close(false)"); });
  e.on("close", [&] { log.push_back("close()"); });
  e.on("lookup", [&](int err) { log.push_back("lookup " + std::to_string(err)); });
  e.on("lookup", [&](int err, std::string_view address) {
    log.push_back("lookup " + std::to_string(err) + " " + std::string(address));
  });
  e.on("lookup", [&](int, std::string_view, int family) { log.push_back("family " + std::to_string(family)); });
  e.emit<"close">(true);
  e.emit<"lookup">(0, "::1", 6);
  CHECK(log == std::vector<std::string>{"close(true)", "close()", "lookup 0", "lookup 0 ::1", "family 6"});
}

TEST_CASE("a listener may take convertible parameter types", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("error", [&](std::string_view message) { log.emplace_back(message); });
  e.on("lookup",
       [&](long err, std::string_view address) { log.push_back(std::to_string(err) + " " + std::string(address)); });
  e.emit<"error">(std::string("boom"));
  e.emit<"lookup">(-3008, "example.invalid", 0);
  CHECK(log == std::vector<std::string>{"boom", "-3008 example.invalid"});
}

TEST_CASE("a generic listener is checked against its event only when the name is a template argument", "[events]") {
  emitter e;
  std::vector<std::string> log;
  // on("data", [](auto c) { c.size(); }) would also be tried with bool, int, ...: spell the name as a type.
  e.on<"data">([&](auto c) { log.push_back("data " + std::to_string(c.size())); });
  e.add_listener<"error">([&](const auto& message) { log.push_back("error " + message); });
  e.prepend_listener<"end">([&] { log.emplace_back("end (prepended)"); });
  e.once<"end">([&] { log.emplace_back("end (once)"); });
  e.prepend_once_listener<"end">([&] { log.emplace_back("end (prepended once)"); });
  // A generic listener valid for any arguments also works with the name as a string.
  e.on("end", [&](auto&&...) { log.emplace_back("end (variadic)"); });
  e.emit<"data">(chunk(bytes));
  e.emit<"error">(std::string("boom"));
  e.emit<"end">();
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"data 3", "error boom", "end (prepended once)", "end (prepended)", "end (once)",
                                        "end (variadic)", "end (prepended)", "end (variadic)"});
}

TEST_CASE("a listener may be move-only and mutable", "[events]") {
  emitter e;
  auto owned = std::make_unique<int>(0);
  int* seen = owned.get();
  e.on("end", [p = std::move(owned)]() mutable { ++*p; });
  e.emit<"end">();
  e.emit<"end">();
  CHECK(*seen == 2);
}

TEST_CASE("every listener sees the same argument, and a value argument is converted once", "[events]") {
  emitter e;
  std::vector<const std::string*> seen;
  e.on("error", [&](const std::string& m) { seen.push_back(&m); });
  e.on("error", [&](const std::string& m) { seen.push_back(&m); });
  const std::string message = "boom";
  e.emit<"error">(message);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == &message);
  CHECK(seen[1] == &message);
}

TEST_CASE("once listeners are removed before they run, and run once", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.once("end", [&] { log.push_back("once:" + std::to_string(e.listener_count("end"))); });
  e.on("end", [&] { log.emplace_back("on"); });
  CHECK(e.listener_count("end") == 2);
  e.emit<"end">();
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"once:1", "on", "on"});
  CHECK(e.listener_count("end") == 1);
}

TEST_CASE("prepend_listener and prepend_once_listener go before the others", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("end", [&] { log.emplace_back("on"); });
  e.prepend_listener("end", [&] { log.emplace_back("prepended"); });
  e.prepend_once_listener("end", [&] { log.emplace_back("prepended once"); });
  e.emit<"end">();
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"prepended once", "prepended", "on", "prepended", "on"});
}

TEST_CASE("off removes exactly the listener with that id, and says whether it was there", "[events]") {
  emitter e;
  std::vector<int> log;
  auto a = e.on("end", [&] { log.push_back(1); });
  auto b = e.on("end", [&] { log.push_back(2); });
  auto c = e.once("end", [&] { log.push_back(3); });
  CHECK(a != b);
  CHECK(b != c);
  CHECK(a != net::listener_id{});
  CHECK(e.remove_listener("end", b));
  CHECK_FALSE(e.off("end", b));
  CHECK_FALSE(e.off("close", a));  // the id belongs to another event
  CHECK(e.off("end", c));          // a once listener, before it ran
  e.emit<"end">();
  CHECK(log == std::vector<int>{1});
  CHECK(e.listener_count("end") == 1);
}

TEST_CASE("a listener removed during an emit still runs in that emit (Node's snapshot)", "[events]") {
  emitter e;
  std::vector<std::string> log;
  net::listener_id second{};
  net::listener_id third{};
  e.on("end", [&] {
    log.emplace_back("first");
    e.off("end", second);
    e.off("end", third);
  });
  second = e.on("end", [&] { log.emplace_back("second"); });
  third = e.once("end", [&] { log.emplace_back("third (once)"); });
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"first", "second", "third (once)"});
  CHECK(e.listener_count("end") == 1);
  log.clear();
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"first"});
}

TEST_CASE("remove_all_listeners during an emit does not stop that emit", "[events]") {
  emitter e;
  std::vector<int> log;
  e.on("end", [&] {
    log.push_back(1);
    e.remove_all_listeners();
  });
  e.on("end", [&] { log.push_back(2); });
  CHECK(e.emit<"end">());
  CHECK(log == std::vector<int>{1, 2});
  CHECK_FALSE(e.emit<"end">());
}

TEST_CASE("a listener that removes itself still finishes running", "[events]") {
  emitter e;
  int runs = 0;
  net::listener_id self{};
  self = e.on("end", [&, big = std::string(100, 'x')] {
    e.off("end", self);
    ++runs;
    CHECK(big.size() == 100);  // its captures are still alive
  });
  e.emit<"end">();
  e.emit<"end">();
  CHECK(runs == 1);
}

TEST_CASE("a listener added during an emit is not called by that emit", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("end", [&] {
    log.emplace_back("first");
    if (log.size() == 1) {
      e.on("end", [&] { log.emplace_back("added"); });
      e.prepend_listener("end", [&] { log.emplace_back("prepended"); });
    }
  });
  e.on("end", [&] { log.emplace_back("second"); });
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"first", "second"});
  log.clear();
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"prepended", "first", "second", "added"});
}

TEST_CASE("a listener may emit on its own emitter (reentrant emit)", "[events]") {
  emitter e;
  std::vector<std::string> log;
  e.on("data", [&](chunk c) {
    log.push_back("data " + std::to_string(c.size()));
    if (c.size() > 1) e.emit<"data">(c.first(c.size() - 1));
    log.push_back("after " + std::to_string(c.size()));
  });
  e.on("data", [&](chunk c) {
    log.push_back("second " + std::to_string(c.size()));
    if (c.size() == 1) e.emit<"end">();
  });
  e.on("end", [&] { log.emplace_back("end"); });
  e.emit<"data">(chunk(bytes));
  CHECK(log == std::vector<std::string>{"data 3", "data 2", "data 1", "after 1", "second 1", "end", "after 2",
                                        "second 2", "after 3", "second 3"});
}

TEST_CASE("a once listener reached by a nested emit does not run again in the outer one", "[events]") {
  emitter e;
  std::vector<std::string> log;
  bool nested = false;
  e.on("end", [&] {
    log.emplace_back("outer");
    if (!nested) {
      nested = true;
      e.emit<"end">();
    }
  });
  e.once("end", [&] { log.emplace_back("once"); });
  e.emit<"end">();
  CHECK(log == std::vector<std::string>{"outer", "outer", "once"});
}

TEST_CASE("an exception from a listener propagates out of emit, and the emitter stays usable", "[events]") {
  emitter e;
  std::vector<int> log;
  e.on("end", [&] { log.push_back(1); });
  auto thrower = e.on("end", [&] { throw std::runtime_error("listener failed"); });
  e.on("end", [&] { log.push_back(3); });
  CHECK_THROWS_WITH(e.emit<"end">(), "listener failed");
  CHECK(log == std::vector<int>{1});
  e.off("end", thrower);
  CHECK(e.emit<"end">());
  CHECK(log == std::vector<int>{1, 1, 3});
}

TEST_CASE("an exception from inside a nested emit leaves the emitter consistent", "[events]") {
  emitter e;
  int ends = 0;
  e.on("close", [&](bool) {
    e.once("end", [&] { throw std::runtime_error("nested"); });
    e.emit<"end">();
  });
  e.on("close", [&](bool) { ++ends; });
  CHECK_THROWS_WITH(e.emit<"close">(false), "nested");
  CHECK(e.listener_count("end") == 0);  // the once listener was removed before it threw
  CHECK(e.listener_count("close") == 2);
  e.remove_all_listeners("close");
  CHECK_FALSE(e.emit<"close">(false));
  CHECK(ends == 0);
}

TEST_CASE("listener_count and remove_all_listeners, for one event or all", "[events]") {
  emitter e;
  e.on("data", [](chunk) {});
  e.on("data", [] {});
  e.once("end", [] {});
  e.on("close", [](bool) {});
  CHECK(e.listener_count("data") == 2);
  CHECK(e.listener_count("end") == 1);
  CHECK(e.listener_count("error") == 0);
  e.remove_all_listeners("data");
  CHECK(e.listener_count("data") == 0);
  CHECK(e.listener_count("end") == 1);
  e.remove_all_listeners();
  CHECK(e.listener_count("end") == 0);
  CHECK(e.listener_count("close") == 0);
  CHECK(e.event_names().empty());
}

TEST_CASE("event_names lists events with listeners in Node's order", "[events]") {
  emitter e;
  CHECK(e.event_names().empty());
  auto end = e.on("end", [] {});
  e.on("data", [] {});
  e.on("end", [] {});
  e.on("close", [] {});
  CHECK(e.event_names() == std::vector<std::string_view>{"end", "data", "close"});
  e.off("end", end);
  CHECK(e.event_names() == std::vector<std::string_view>{"end", "data", "close"});
  e.remove_all_listeners("end");
  e.on("end", [] {});  // a key deleted and set again moves to the end, as in a JS object
  CHECK(e.event_names() == std::vector<std::string_view>{"data", "close", "end"});
}

TEST_CASE("emit allocates nothing once warm, with one listener or several, nested or not", "[events]") {
  emitter e;
  std::size_t total = 0;
  e.on("data", [&](chunk c) { total += c.size(); });
  e.on("data", [&](std::span<const std::byte> c) {
    if (c.size() == 3) e.emit<"data">(c.first(1));
  });
  const std::size_t before_on = allocations;
  e.on("end", [&] { ++total; });
  CHECK(allocations > before_on);  // the counter is live: on() allocates the listener
  e.emit<"data">(chunk(bytes));    // warms the snapshot stack
  const std::size_t before = allocations;
  for (int i = 0; i < 1000; ++i) {
    e.emit<"data">(chunk(bytes));
    e.emit<"end">();
    e.emit<"close">(false);
  }
  const std::size_t during = allocations - before;
  CHECK(during == 0);
  CHECK(total == 4 + 1000 * 5);
}

TEST_CASE("listeners are destroyed with the emitter, and when removed outside an emit", "[events]") {
  auto token = std::make_shared<int>(0);
  {
    emitter e;
    auto id = e.on("end", [token] {});
    e.on("end", [token] {});
    CHECK(token.use_count() == 3);
    e.off("end", id);
    CHECK(token.use_count() == 2);
  }
  CHECK(token.use_count() == 1);
}

TEST_CASE("a listener removed during an emit is destroyed when the outermost emit returns", "[events]") {
  emitter e;
  auto token = std::make_shared<int>(0);
  long seen_inside = 0;
  net::listener_id victim{};
  e.on("end", [&] {
    e.off("end", victim);
    seen_inside = token.use_count();
  });
  victim = e.on("end", [token] {});
  e.emit<"end">();
  CHECK(seen_inside == 2);  // parked, still alive during the emit
  CHECK(token.use_count() == 1);
}

// The name argument is checked at compile time: on() with a string literal is
// the only spelling, and the accepted listener shapes are part of the type.
static_assert(std::is_same_v<decltype(std::declval<emitter&>().on("end", [] {})), net::listener_id>);
static_assert(net::event<"data", void(chunk)>::name == "data");
static_assert(net::fixed_string("close").size() == 5);

TEST_CASE("off may destroy the emitter, when the removed listener owned it", "[events]") {
  auto owner = std::make_shared<emitter>();
  std::weak_ptr<emitter> alive = owner;
  emitter* e = owner.get();
  auto id = e->on("end", [owner] {});  // a cycle, as a socket's listener holding the socket
  owner.reset();
  CHECK(e->off("end", id));
  CHECK(alive.expired());
}

TEST_CASE("remove_all_listeners may destroy the emitter, when a listener owned it", "[events]") {
  auto owner = std::make_shared<emitter>();
  std::weak_ptr<emitter> alive = owner;
  emitter* e = owner.get();
  e->on("data", [owner](chunk) {});
  e->on("end", [] {});
  e->on("close", [owner](bool) {});
  owner.reset();
  e->remove_all_listeners();
  CHECK(alive.expired());
}

TEST_CASE("an emit whose listener drops the last reference to the emitter ends cleanly", "[events]") {
  auto owner = std::make_shared<emitter>();
  std::weak_ptr<emitter> alive = owner;
  emitter* e = owner.get();
  int calls = 0;
  e->on("close", [e, &calls](bool) {
    ++calls;
    e->remove_all_listeners();  // parked: destroyed when this emit returns
  });
  e->once("close", [owner, &calls] { ++calls; });
  owner.reset();
  CHECK(e->emit<"close">(false));  // the second listener still runs (snapshot), then both die
  CHECK(calls == 2);
  CHECK(alive.expired());
}

TEST_CASE("a listener capturing an over-aligned object is stored at its alignment, called, and freed", "[events]") {
  struct alignas(64) wide {
    int value = 7;
  };
  emitter e;
  int seen = 0;
  bool aligned = false;
  const auto id = e.on("end", [w = wide{}, &seen, &aligned] {
    aligned = reinterpret_cast<std::uintptr_t>(&w) % 64 == 0;
    seen = w.value;
  });
  CHECK(e.emit<"end">());
  CHECK(seen == 7);
  CHECK(aligned);
  CHECK(e.off("end", id));
  CHECK(e.listener_count("end") == 0);
}
