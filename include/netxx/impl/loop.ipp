// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind loop.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "../loop.hpp"

NETXX_BEGIN_NAMESPACE

template <typename Backend>
auto basic_loop<Backend>::current() -> basic_loop& {
  thread_local std::unique_ptr<basic_loop> loop;
  if (!loop) loop = std::make_unique<basic_loop>();
  return *loop;
}

template <typename Backend>
int basic_loop<Backend>::run() {
  stopped_ = false;
  detail::run_guard guard;
  run_scope scope(*this);
  try {
    while (!stopped_ && core_.alive()) turn();
  } catch (...) {
    detail::leaving_run(std::current_exception());
    throw;
  }
  return 0;
}

template <typename Backend>
void basic_loop<Backend>::turn(bool block) {
  core_.update_time();
  core_.run_timers();
  core_.run_deferred();
  core_.run_posted();
  // Never sleep when there is nothing to wake for, or someone asked to stop
  // (libuv's rule for uv_stop and a dead loop).
  const bool no_sleep =
      !block || stopped_ || task_done_ || !core_.alive() || core_.has_deferred() || core_.posted_waiting();
  core_.next_turn();
  backend_.wait(no_sleep ? 0 : core_.next_timeout());
}

template <typename Backend>
void basic_loop<Backend>::cancel(std::uint64_t id) {
  if (!core_.in_loop_thread()) {
    post([this, id] { cancel(id); });
    return;
  }
  detail::io_op* op = core_.find_op(id);
  if (!op) return;
  if (op->code == detail::op_code::timer) {
    static_cast<detail::sleep_awaitable<Backend>*>(op)->cancel_timer();
    return;
  }
  backend_.cancel(id);
}

NETXX_END_NAMESPACE
