// SPDX-License-Identifier: BSL-1.0
#pragma once
// A move-only callable (std::move_only_function is C++23). Used for posted
// work and completion callbacks, which may capture move-only state; never on
// the I/O hot path. unique_function is the void() one.

#include <memory>
#include <type_traits>
#include <utility>

#include "../config.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

template <typename Signature>
class move_only_function;

template <typename R, typename... Args>
class move_only_function<R(Args...)> {
 public:
  move_only_function() noexcept = default;
  move_only_function(std::nullptr_t) noexcept {}
  template <typename F>
    requires(!std::is_same_v<std::decay_t<F>, move_only_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  move_only_function(F&& f) : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <typename F>
  struct model final : concept_t {
    explicit model(F&& f) : fn(std::move(f)) {}
    explicit model(const F& f) : fn(f) {}
    R call(Args&&... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<concept_t> impl_;
};

using unique_function = move_only_function<void()>;

}  // namespace detail
NETXX_END_NAMESPACE
