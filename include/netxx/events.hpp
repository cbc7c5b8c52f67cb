// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Node's EventEmitter (node:events), typed: event names stay Node's strings,
/// and a listener of the wrong shape for its event is a compile error that
/// names the event and the signature it expects.
///
///   sock.on("data", [](std::span<const std::byte> chunk) { ... });
///   sock.on("close", [] { ... });  // a listener may ignore the arguments, as in JS
///
///   sock.on<"data">([&](auto chunk) { ... });  // the name as a type: for generic listeners
///
/// What the diagnostic says (gcc 12; clang 14 reads the same): a wrong listener
///   call to non-'constexpr' function 'void netxx::v0::event_listener_has_wrong_signature()
///   [with Event = event_called<'d', 'a', 't', 'a'>; ExpectedSignature = void(std::span<const std::byte>);
///   Listener = main()::<lambda(int)>]'
/// and an unknown name
///   call to non-'constexpr' function 'void netxx::v0::unknown_event_name_see_the_events_of_this_emitter()
///   [with EventsOfThisEmitter = {event_called<'d', 'a', 't', 'a'>(std::span<const std::byte>),
///   event_called<'c', 'l', 'o', 's', 'e'>(bool), ...}]'
///
/// Semantics are Node's (lib/events.js): listeners run synchronously in
/// registration order; emit() calls the listeners registered when it started,
/// so one added during an emit is not called by it and one removed during an
/// emit (not yet run) still is; a once listener is removed before it runs and
/// runs at most once, even when nested emits both reached it; an exception
/// from a listener propagates out of emit(). Standard library only.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"
#include "detail/recycling_allocator.hpp"

NETXX_BEGIN_NAMESPACE

/// A string usable as a template argument: the name of an event (`event<"data", ...>`).
template <std::size_t N>
struct fixed_string {
  static_assert(N > 0, "fixed_string holds a string literal, with its terminating NUL");
  /// Builds from a string literal; N counts the terminating NUL.
  constexpr fixed_string(const char (&s)[N]) noexcept {  // NOLINT(google-explicit-constructor)
    for (std::size_t i = 0; i < N; ++i) value[i] = s[i];
  }
  /// The characters, without the terminating NUL.
  [[nodiscard]] constexpr std::string_view view() const noexcept { return {value, N - 1}; }
  /// The length, without the terminating NUL.
  [[nodiscard]] static constexpr std::size_t size() noexcept { return N - 1; }

  char value[N]{};  ///< Public: a structural type, usable as a template argument.
};

namespace detail {
template <typename Signature>
struct event_signature {
  static constexpr bool valid = false;
};
template <typename... Args>
struct event_signature<void(Args...)> {
  static constexpr bool valid = true;
  static constexpr std::size_t arity = sizeof...(Args);
};
}  // namespace detail

/// One event of an emitter: Node's name and the listener signature, e.g.
/// `event<"data", void(std::span<const std::byte>)>`.
template <fixed_string Name, typename Signature>
struct event {
  static_assert(detail::event_signature<Signature>::valid,
                "an event's signature is void(Args...): listeners return nothing, as in Node");
  /// The event name, as Node spells it.
  static constexpr std::string_view name = Name.view();
  /// The event name as a template argument.
  static constexpr auto literal = Name;
  /// The signature its listeners are called with.
  using signature = Signature;
};

/// What on() and its siblings return, and what off() takes: C++ lambdas are not
/// comparable, so a listener is removed by the id it was added with (Node
/// removes by the function itself). Never 0 for a listener that was added.
enum class listener_id : std::uint64_t {};

// ---------------------------------------------------------------------------
// The compile errors. These are deliberately not constexpr: the consteval
// constructor of an event name calls one when the name or the listener is
// wrong, and the compiler reports the call, with these template arguments.
// Names are spelled as characters (event_called<'d', 'a', 't', 'a'>): clang
// prints a fixed_string argument as numbers.

/// An event name spelled out in a diagnostic; never instantiated.
template <char... Name>
struct event_called;

/// Reached at compile time when `on("name", ...)` names no event of this
/// emitter; the template arguments are its events, each as `name(arguments)`.
template <typename... EventsOfThisEmitter>
void unknown_event_name_see_the_events_of_this_emitter() noexcept {}

/// Reached at compile time when a listener cannot be called with the event's
/// arguments (nor with a leading part of them, nor with none).
template <typename Event, typename ExpectedSignature, typename Listener>
void event_listener_has_wrong_signature() noexcept {}

/// Reached at compile time when a listener returns a value: listeners return
/// void (a returned net::task would be dropped and never run).
template <typename Event, typename ExpectedSignature, typename Listener>
void event_listener_must_return_void() noexcept {}

namespace detail {

inline constexpr std::size_t no_event = static_cast<std::size_t>(-1);

template <std::size_t I, typename... Events>
using nth_event = std::tuple_element_t<I, std::tuple<Events...>>;

template <typename Event, std::size_t... I>
auto spell(std::index_sequence<I...>) -> event_called<Event::literal.value[I]...>;
// event_called<'d', 'a', 't', 'a'>
template <typename Event>
using spelled_name = decltype(spell<Event>(std::make_index_sequence<Event::name.size()>{}));

template <typename Signature, typename Name>
struct spelled_event;
template <typename... Args, typename Name>
struct spelled_event<void(Args...), Name> {
  using type = Name(Args...);
};
// event_called<'d', 'a', 't', 'a'>(std::span<const std::byte>)
template <typename Event>
using spelled = typename spelled_event<typename Event::signature, spelled_name<Event>>::type;

template <typename... Events>
constexpr std::size_t find_event(std::string_view name) noexcept {
  std::size_t found = no_event;
  std::size_t i = 0;
  ((found == no_event && Events::name == name ? void(found = i) : void(), ++i), ...);
  return found;
}

template <typename... Events>
constexpr bool names_are_distinct() noexcept {
  constexpr std::string_view names[] = {Events::name...};
  for (std::size_t i = 0; i < sizeof...(Events); ++i)
    for (std::size_t j = i + 1; j < sizeof...(Events); ++j)
      if (names[i] == names[j]) return false;
  return true;
}

// Listeners are called with lvalues of the declared argument types (as JS
// passes the same object to every listener): a by-value parameter copies, a
// reference parameter sees the emitter's argument.
template <typename Fn, std::size_t K, typename... Args>
constexpr bool prefix_invocable() noexcept {
  using refs = std::tuple<Args&...>;
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return std::is_invocable_v<Fn&, std::tuple_element_t<I, refs>...>;
  }(std::make_index_sequence<K>{});
}

template <typename Fn, std::size_t K, typename... Args>
constexpr bool prefix_returns_void() noexcept {
  using refs = std::tuple<Args&...>;
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return std::is_void_v<std::invoke_result_t<Fn&, std::tuple_element_t<I, refs>...>>;
  }(std::make_index_sequence<K>{});
}

// How many leading arguments a listener takes: all of them if it can, else the
// longest prefix it accepts (JS lets a function ignore trailing arguments),
// else no_event. Tried from the longest down, so a generic lambda is only
// instantiated with the arguments it will really get.
template <typename Fn, std::size_t K, typename... Args>
constexpr std::size_t listener_arity() noexcept {
  if constexpr (prefix_invocable<Fn, K, Args...>()) {
    return K;
  } else if constexpr (K == 0) {
    return no_event;
  } else {
    return listener_arity<Fn, K - 1, Args...>();
  }
}

template <typename Fn, typename Signature>
struct listener_traits;
template <typename Fn, typename... Args>
struct listener_traits<Fn, void(Args...)> {
  static constexpr std::size_t arity = listener_arity<Fn, sizeof...(Args), Args...>();
  static constexpr bool invocable = arity != no_event;
  static constexpr bool returns_void = [] {
    if constexpr (invocable) {
      return prefix_returns_void<Fn, arity, Args...>();
    } else {
      return false;
    }
  }();
  static constexpr bool fits = invocable && returns_void;
};

template <typename Fn, typename Event>
inline constexpr bool listener_fits = listener_traits<Fn, typename Event::signature>::fits;

// Calls the diagnostic (a compile error in a constant evaluation) when Fn does
// not fit Event.
template <typename Fn, typename Event>
consteval void check_listener() {
  using traits = listener_traits<Fn, typename Event::signature>;
  if constexpr (!traits::invocable) {
    event_listener_has_wrong_signature<spelled_name<Event>, typename Event::signature, Fn>();
  } else if constexpr (!traits::returns_void) {
    event_listener_must_return_void<spelled_name<Event>, typename Event::signature, Fn>();
  }
}

struct listener_base {
  listener_base(listener_id i, bool o) noexcept : id(i), once(o) {}
  listener_base(const listener_base&) = delete;
  listener_base& operator=(const listener_base&) = delete;
  virtual ~listener_base() = default;

  // Listeners come and go with connections, as the socket state does: from
  // the per-thread recycling cache (no malloc header, no allocator lock).
  // The virtual destructor gives the sized delete the listener's real size.
  static void* operator new(std::size_t n) { return recycled_allocate(n); }
  static void operator delete(void* p, std::size_t n) noexcept { recycled_deallocate(p, n); }
  static void* operator new(std::size_t n, std::align_val_t a) { return ::operator new(n, a); }  // over-aligned captures
  static void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { ::operator delete(p, a); }  // clang 14: no sized global delete by default

  listener_id id;
  std::uint64_t since = 0;  // when its event last went from no listener to some: event_names() order
  std::uint16_t event = 0;  // the event's position in the emitter's list
  bool once;
  bool fired = false;  // once listeners: set before the call, as Node's onceWrapper does
};

template <typename Signature>
struct listener;
template <typename... Args>
struct listener<void(Args...)> : listener_base {
  using listener_base::listener_base;
  virtual void call(Args&... args) = 0;
};

template <typename Fn, typename Signature>
struct listener_impl;
template <typename Fn, typename... Args>
struct listener_impl<Fn, void(Args...)> final : listener<void(Args...)> {
  static constexpr std::size_t arity = listener_traits<Fn, void(Args...)>::arity;

  template <typename F>
  listener_impl(listener_id i, bool o, F&& f) : listener<void(Args...)>(i, o), fn(std::forward<F>(f)) {}

  void call(Args&... args) override {
    if constexpr (arity == sizeof...(Args)) {
      fn(args...);
    } else {
      auto refs = std::forward_as_tuple(args...);
      [&]<std::size_t... I>(std::index_sequence<I...>) { fn(std::get<I>(refs)...); }(
          std::make_index_sequence<arity>{});
    }
  }

  Fn fn;
};

// Every listener of an emitter, all events together, each event's in its
// call order; made by the first on(). A socket has a dozen events and most
// have no listener: one flat list costs a pointer per idle emitter and a
// pointer per listener, where a list per event cost 32 bytes per event. One
// type whatever the events (listeners are cast back to their signature when
// called), so an emitter instantiates one vector type.
struct listener_table {
  using owned = std::unique_ptr<listener_base>;
  std::vector<owned> list;
  std::vector<listener_base*> stack;  // snapshots of running emits (capacity kept)
  std::vector<owned> parked;          // removed during an emit, destroyed after it
  std::uint64_t last_id = 0;
  std::size_t depth = 0;  // emits running

  std::size_t count(std::size_t event) const noexcept {
    std::size_t n = 0;
    for (const auto& l : list) n += l->event == event;
    return n;
  }
  listener_base* first(std::size_t event) const noexcept {
    for (const auto& l : list)
      if (l->event == event) return l.get();
    return nullptr;
  }
};

}  // namespace detail

/// The name argument of on(), once(), ...: checked at compile time against the
/// emitter's events and the listener's shape. Users write a string literal.
template <typename F, typename... Events>
class event_name {
 public:
  /// From a string literal: `on("data", ...)`.
  template <std::size_t N>
  consteval event_name(const char (&name)[N]) : event_name(std::string_view(name, N - 1)) {}  // NOLINT
  /// From a constant string_view.
  consteval event_name(std::string_view name) : index_(detail::find_event<Events...>(name)) {  // NOLINT
    if (index_ == detail::no_event) unknown_event_name_see_the_events_of_this_emitter<detail::spelled<Events>...>();
    check(std::index_sequence_for<Events...>{});
  }
  /// The event's position in the emitter's list.
  [[nodiscard]] constexpr std::size_t index() const noexcept { return index_; }

 private:
  template <std::size_t... I>
  consteval void check(std::index_sequence<I...>) const {
    (check_one<I, detail::nth_event<I, Events...>>(), ...);
  }
  template <std::size_t I, typename Event>
  consteval void check_one() const {
    if (index_ == I) detail::check_listener<std::decay_t<F>, Event>();
  }

  std::size_t index_;
};

/// The name argument of off(), listener_count(), ...: checked at compile time
/// against the emitter's events.
template <typename... Events>
class event_key {
 public:
  /// From a string literal: `listener_count("data")`.
  template <std::size_t N>
  consteval event_key(const char (&name)[N]) : event_key(std::string_view(name, N - 1)) {}  // NOLINT
  /// From a constant string_view.
  consteval event_key(std::string_view name) : index_(detail::find_event<Events...>(name)) {  // NOLINT
    if (index_ == detail::no_event) unknown_event_name_see_the_events_of_this_emitter<detail::spelled<Events>...>();
  }
  /// The event's position in the emitter's list.
  [[nodiscard]] constexpr std::size_t index() const noexcept { return index_; }

 private:
  std::size_t index_;
};

/// Node's EventEmitter, with its events fixed at compile time:
/// `event_emitter<event<"data", void(std::span<const std::byte>)>, event<"end", void()>>`.
///
/// An emitter with no listener is one null pointer; the first on() makes its
/// listener table. No allocation per emit once warm: emit() copies the
/// listener pointers onto a stack owned by the emitter (its capacity is kept), so listeners removed
/// meanwhile are parked until the outermost emit() returns. A listener may
/// call on/off/emit on its own emitter; it must not destroy or move the
/// emitter (not supported: the running emit() would touch freed memory).
/// Not thread-safe, like everything bound to one loop.
template <typename... Events>
class event_emitter {
  static_assert(sizeof...(Events) > 0, "an event_emitter has at least one event");
  static_assert(detail::names_are_distinct<Events...>(), "two events of one emitter share a name");

  template <typename F>
  using name_for = std::type_identity_t<event_name<F, Events...>>;
  using key = event_key<Events...>;

 public:
  /// `new EventEmitter()`.
  event_emitter() = default;
  event_emitter(const event_emitter&) = delete;
  event_emitter& operator=(const event_emitter&) = delete;
  /// Moves the listeners; never while an emit() is running.
  event_emitter(event_emitter&&) noexcept = default;
  /// Moves the listeners; never while an emit() is running.
  event_emitter& operator=(event_emitter&&) noexcept = default;
  ~event_emitter() = default;

  /// `emitter.on(eventName, listener)`: appends a listener; returns its id (Node returns the emitter).
  template <typename F>
  listener_id on(name_for<F> name, F&& listener) {
    return add(name.index(), std::forward<F>(listener), false, false);
  }
  /// `emitter.addListener(eventName, listener)`: same as on().
  template <typename F>
  listener_id add_listener(name_for<F> name, F&& listener) {
    return add(name.index(), std::forward<F>(listener), false, false);
  }
  /// `emitter.once(eventName, listener)`: appends a listener that is removed before its first call.
  template <typename F>
  listener_id once(name_for<F> name, F&& listener) {
    return add(name.index(), std::forward<F>(listener), true, false);
  }
  /// `emitter.prependListener(eventName, listener)`: adds a listener before the others.
  template <typename F>
  listener_id prepend_listener(name_for<F> name, F&& listener) {
    return add(name.index(), std::forward<F>(listener), false, true);
  }
  /// `emitter.prependOnceListener(eventName, listener)`: prepend_listener(), once.
  template <typename F>
  listener_id prepend_once_listener(name_for<F> name, F&& listener) {
    return add(name.index(), std::forward<F>(listener), true, true);
  }

  // The same five, with the name as a template argument: `on<"data">(listener)`.
  // Only that event's signature is looked at, so a generic listener
  // (`[&](auto chunk) { n += chunk.size(); }`) need only be valid for it; with
  // the name as a function argument, a generic listener is checked against
  // every event of the emitter (the name is a value there, not a type).

  /// `emitter.on(eventName, listener)`, the name as a template argument.
  template <fixed_string Name, typename F>
  listener_id on(F&& listener) {
    return add_named<Name>(std::forward<F>(listener), false, false);
  }
  /// `emitter.addListener(eventName, listener)`, the name as a template argument.
  template <fixed_string Name, typename F>
  listener_id add_listener(F&& listener) {
    return add_named<Name>(std::forward<F>(listener), false, false);
  }
  /// `emitter.once(eventName, listener)`, the name as a template argument.
  template <fixed_string Name, typename F>
  listener_id once(F&& listener) {
    return add_named<Name>(std::forward<F>(listener), true, false);
  }
  /// `emitter.prependListener(eventName, listener)`, the name as a template argument.
  template <fixed_string Name, typename F>
  listener_id prepend_listener(F&& listener) {
    return add_named<Name>(std::forward<F>(listener), false, true);
  }
  /// `emitter.prependOnceListener(eventName, listener)`, the name as a template argument.
  template <fixed_string Name, typename F>
  listener_id prepend_once_listener(F&& listener) {
    return add_named<Name>(std::forward<F>(listener), true, true);
  }

  /// `emitter.off(eventName, listener)`, by id; returns whether it was still
  /// registered (Node returns the emitter). An emit() already running still calls it.
  bool off(key name, listener_id id) { return remove(name.index(), id); }
  /// `emitter.removeListener(eventName, listener)`: same as off().
  bool remove_listener(key name, listener_id id) { return remove(name.index(), id); }

  /// `emitter.removeAllListeners()`: every listener of every event.
  void remove_all_listeners() {
    doomed_list doomed;
    if (!t_) return;
    while (!t_->list.empty()) {
      if (auto l = unlink(t_->list.end() - 1)) doomed.push_back(std::move(l));
    }
  }
  /// `emitter.removeAllListeners(eventName)`.
  void remove_all_listeners(key name) { remove_all(name.index()); }

  /// `emitter.listenerCount(eventName)`.
  [[nodiscard]] std::size_t listener_count(key name) const noexcept {
    return t_ ? t_->count(name.index()) : 0;
  }

  /// `emitter.eventNames()`: the events that have listeners, in Node's order
  /// (the order in which each last went from no listener to some).
  [[nodiscard]] std::vector<std::string_view> event_names() const {
    static constexpr std::string_view all[] = {Events::name...};
    std::vector<std::string_view> names;
    if (!t_) return names;
    // Insertion by `since`: a handful of events, and no std::sort to instantiate.
    std::vector<std::uint64_t> since;
    for (std::size_t i = 0; i < sizeof...(Events); ++i) {
      const detail::listener_base* l = t_->first(i);
      if (!l) continue;
      std::size_t at = since.size();
      while (at > 0 && since[at - 1] > l->since) --at;
      since.insert(since.begin() + static_cast<std::ptrdiff_t>(at), l->since);
      names.insert(names.begin() + static_cast<std::ptrdiff_t>(at), all[i]);
    }
    return names;
  }

  /// `emitter.emit(eventName, ...args)`: calls the event's listeners in order
  /// with args converted to the event's argument types; returns whether the
  /// event had listeners. An unhandled "error" does not throw here: the owner
  /// decides, from the false it returns.
  template <fixed_string Name, typename... A>
  bool emit(A&&... args) {
    constexpr std::size_t index = detail::find_event<Events...>(Name.view());
    static_assert(index != detail::no_event, "emit<Name>: this emitter has no event of that name");
    if constexpr (index != detail::no_event) {
      using ev = detail::nth_event<index, Events...>;
      constexpr bool arity_ok = detail::event_signature<typename ev::signature>::arity == sizeof...(A);
      static_assert(arity_ok, "emit<Name>: the event takes another number of arguments");
      if constexpr (arity_ok) {
        return emit_as<index>(static_cast<typename ev::signature*>(nullptr), std::forward<A>(args)...);
      }
    }
    return false;
  }

 private:
  template <typename F>
  listener_id add(std::size_t index, F&& fn, bool once, bool prepend) {
    listener_id id{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((index == I ? (id = add_to<I>(std::forward<F>(fn), once, prepend), true) : false) || ...);
    }(std::index_sequence_for<Events...>{});
    return id;
  }

  // A compile error naming the event and the signature, unless Fn fits the event.
  template <std::size_t Index, typename Fn>
  static consteval bool check_named() {
    if constexpr (Index == detail::no_event) {
      unknown_event_name_see_the_events_of_this_emitter<detail::spelled<Events>...>();
    } else {
      detail::check_listener<Fn, detail::nth_event<Index, Events...>>();
    }
    return true;
  }

  template <fixed_string Name, typename F>
  listener_id add_named(F&& fn, bool once, bool prepend) {
    using Fn = std::decay_t<F>;
    constexpr std::size_t index = detail::find_event<Events...>(Name.view());
    [[maybe_unused]] constexpr bool checked = check_named<index, Fn>();
    if constexpr (index != detail::no_event) {
      if constexpr (detail::listener_fits<Fn, detail::nth_event<index, Events...>>) {
        return add_to<index>(std::forward<F>(fn), once, prepend);
      }
    }
    return listener_id{};
  }

  template <std::size_t I, typename F>
  listener_id add_to(F&& fn, bool once, bool prepend) {
    using ev = detail::nth_event<I, Events...>;
    using Fn = std::decay_t<F>;
    // Only the event the name resolved to is reachable; the others are never
    // instantiated with this listener, since it would not fit them.
    if constexpr (detail::listener_fits<Fn, ev>) {
      if (!t_) t_ = std::make_unique<detail::listener_table>();
      auto& t = *t_;
      const auto id = static_cast<listener_id>(++t.last_id);
      auto l = std::make_unique<detail::listener_impl<Fn, typename ev::signature>>(id, once, std::forward<F>(fn));
      l->event = static_cast<std::uint16_t>(I);
      const detail::listener_base* first = t.first(I);
      l->since = first ? first->since : ++t.last_id;
      auto at = t.list.end();
      if (prepend && first)
        at = std::find_if(t.list.begin(), t.list.end(), [&](const auto& p) { return p.get() == first; });
      t.list.insert(at, std::move(l));
      return id;
    } else {
      return listener_id{};
    }
  }

  // Listeners removed outside an emit are destroyed last, after the emitter's
  // last access: a listener may own its emitter (a socket's listener holding
  // the socket), and destroying it may destroy the emitter.
  using doomed_list = std::vector<std::unique_ptr<detail::listener_base>>;

  bool remove(std::size_t index, listener_id id) {
    std::unique_ptr<detail::listener_base> doomed;
    if (!t_) return false;
    auto& list = t_->list;
    // From the end, as Node's removeListener (ids are unique anyway).
    for (auto it = list.end(); it != list.begin();) {
      --it;
      if ((*it)->event == index && (*it)->id == id) {
        doomed = unlink(it);
        return true;
      }
    }
    return false;
  }

  void remove_all(std::size_t index) {
    doomed_list doomed;
    remove_all(index, doomed);
  }

  void remove_all(std::size_t index, doomed_list& doomed) {
    if (!t_) return;
    auto& list = t_->list;
    for (std::size_t k = list.size(); k-- > 0;) {  // from the end: an erase moves only what was seen
      if (list[k]->event != index) continue;
      if (auto l = unlink(list.begin() + static_cast<std::ptrdiff_t>(k))) doomed.push_back(std::move(l));
    }
  }

  // Unlinks a listener and hands it back for destruction; while an emit()
  // runs it may still be called (by that emit's snapshot) or be running, so
  // it is parked instead, until the outermost emit ends.
  using listener_iterator = std::vector<std::unique_ptr<detail::listener_base>>::iterator;
  std::unique_ptr<detail::listener_base> unlink(listener_iterator it) {
    std::unique_ptr<detail::listener_base> owned = std::move(*it);
    t_->list.erase(it);
    if (t_->depth == 0) return owned;
    t_->parked.push_back(std::move(owned));
    return nullptr;
  }

  struct emit_scope {
    explicit emit_scope(detail::listener_table& t) noexcept : table(t), base(t.stack.size()) { ++table.depth; }
    emit_scope(const emit_scope&) = delete;
    emit_scope& operator=(const emit_scope&) = delete;
    ~emit_scope() {
      table.stack.resize(base);
      if (--table.depth == 0 && !table.parked.empty()) {
        doomed_list doomed = std::move(table.parked);
        table.parked.clear();
        // doomed dies here, after the last access to the emitter.
      }
    }
    detail::listener_table& table;
    std::size_t base;
  };

  template <std::size_t I, typename... Args, typename... A>
  bool emit_as(void (*)(Args...), A&&... args) {
    return dispatch<I, Args...>(std::forward<A>(args)...);
  }

  // Args are the event's declared types: the parameters are converted once,
  // and every listener gets them as lvalues.
  template <std::size_t I, typename... Args>
  bool dispatch(std::type_identity_t<Args>... args) {
    using sig = void(Args...);
    using listener_t = detail::listener<sig>;
    if (!t_) return false;
    auto& t = *t_;
    detail::listener_base* only = nullptr;
    std::size_t n = 0;
    for (const auto& l : t.list) {
      if (l->event != I) continue;
      if (n++ == 0) only = l.get();
    }
    if (n == 0) return false;
    emit_scope scope(t);
    if (n == 1) {  // Node's fast path: nothing to copy
      invoke(static_cast<listener_t*>(only), args...);
      return true;
    }
    // Node clones the listener array; this copies the pointers onto the
    // stack, whose capacity stays (no allocation once warm). Read by index:
    // a nested emit may grow it.
    for (const auto& l : t.list)
      if (l->event == I) t.stack.push_back(l.get());
    for (std::size_t i = scope.base; i < scope.base + n; ++i) {
      invoke(static_cast<listener_t*>(t.stack[i]), args...);
    }
    return true;
  }

  template <typename Listener, typename... Args>
  void invoke(Listener* l, Args&... args) {
    if (l->once) {
      if (l->fired) return;  // a nested emit already ran it
      l->fired = true;
      auto& list = t_->list;
      auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.get() == l; });
      if (it != list.end()) unlink(it);  // parked: an emit is running
    }
    l->call(args...);
  }

  // Made by the first listener, kept until the emitter goes (a running
  // emit holds a reference into it).
  std::unique_ptr<detail::listener_table> t_;
};

namespace detail {
// The event_name / event_key types of an emitter, for the handles that
// forward on(), once() and off() to the emitter they hold.
template <typename Emitter, typename F>
struct name_for;
template <typename... Events, typename F>
struct name_for<event_emitter<Events...>, F> {
  using type = event_name<F, Events...>;
};
template <typename Emitter>
struct key_for;
template <typename... Events>
struct key_for<event_emitter<Events...>> {
  using type = event_key<Events...>;
};
}  // namespace detail

NETXX_END_NAMESPACE
