// SPDX-License-Identifier: BSL-1.0
#pragma once
/// Node's timers for the event face: set_timeout / set_interval return a
/// timer handle with ref(), unref(), has_ref(), refresh() and close(), as
/// Node's Timeout object. (The awaitable face is loop.sleep / net::sleep.)
/// Timers live on the loop's heap: a million armed timers cost a million
/// heap entries and still one kernel timeout.

#include <cstdint>
#include <memory>
#include <utility>

#include "config.hpp"
#include "detail/loop_core.hpp"
#include "detail/unique_function.hpp"
#include "loop.hpp"

NETXX_BEGIN_NAMESPACE

/// Node clamps a delay outside [1, 2^31 - 1] ms to 1 ms.
constexpr std::int64_t clamp_timer_delay(std::int64_t ms) noexcept {
  return ms < 1 || ms > 2147483647 ? 1 : ms;
}

template <typename Backend>
class basic_timer {
  struct state : detail::timer_node {
    basic_loop<Backend>* loop = nullptr;
    detail::unique_function callback;
    std::int64_t delay = 1;
    bool repeat = false;
    std::shared_ptr<state> self;  // held while armed: an armed timer outlives its handles

    static void on_fire(detail::timer_node* t) noexcept {
      auto* s = static_cast<state*>(t);
      std::shared_ptr<state> keep = std::move(s->self);
      if (s->repeat) s->arm();  // re-armed first, so the callback may close() it
      s->callback();
    }
    void arm() {
      if (!self) self = shared_from_this_();
      loop->core().arm_timer(*this, delay);
    }
    void disarm() noexcept {
      loop->core().disarm_timer(*this);
      self.reset();
    }
    std::weak_ptr<state> weak;
    std::shared_ptr<state> shared_from_this_() { return weak.lock(); }
  };

 public:
  basic_timer() = default;

  /// Node's setTimeout(callback, delay) on loop.
  template <typename F>
  static basic_timer start(basic_loop<Backend>& loop, F&& fn, std::int64_t delay_ms, bool repeat) {
    auto s = std::make_shared<state>();
    s->weak = s;
    s->fire = &state::on_fire;
    s->loop = &loop;
    s->callback = detail::unique_function(std::forward<F>(fn));
    s->delay = clamp_timer_delay(delay_ms);
    s->repeat = repeat;
    s->arm();
    basic_timer t;
    t.s_ = std::move(s);
    return t;
  }

  /// Node's timeout.ref(): the armed timer keeps run() going (the default).
  basic_timer& ref() noexcept {
    if (s_) s_->loop->core().set_timer_ref(*s_, true);
    return *this;
  }
  /// Node's timeout.unref(): the armed timer no longer keeps run() going.
  basic_timer& unref() noexcept {
    if (s_) s_->loop->core().set_timer_ref(*s_, false);
    return *this;
  }
  /// Node's timeout.hasRef().
  bool has_ref() const noexcept { return s_ && s_->ref; }
  /// Node's timeout.refresh(): restarts the delay from now, keeping the callback.
  basic_timer& refresh() {
    if (s_) s_->arm();
    return *this;
  }
  /// Node's clearTimeout(timeout) / timeout.close(): it will not fire.
  void close() noexcept {
    if (s_) s_->disarm();
  }
  /// True while armed (Node has no name for it; libuv's uv_is_active).
  bool active() const noexcept { return s_ && s_->armed(); }

 private:
  std::shared_ptr<state> s_;
};

using timer = basic_timer<detail::auto_backend>;

/// Node's setTimeout(callback, delay): calls fn once after delay ms.
template <typename F>
timer set_timeout(F&& fn, std::int64_t delay_ms) {
  return timer::start(basic_loop<detail::auto_backend>::current(), std::forward<F>(fn), delay_ms, false);
}
/// Node's setInterval(callback, delay): calls fn every delay ms until closed.
template <typename F>
timer set_interval(F&& fn, std::int64_t delay_ms) {
  return timer::start(basic_loop<detail::auto_backend>::current(), std::forward<F>(fn), delay_ms, true);
}
/// Node's clearTimeout.
inline void clear_timeout(timer& t) noexcept { t.close(); }
/// Node's clearInterval.
inline void clear_interval(timer& t) noexcept { t.close(); }

NETXX_END_NAMESPACE
