// SPDX-License-Identifier: BSL-1.0
#pragma once
// A move-only callable (std::move_only_function is C++23). Used for posted
// work and completion callbacks, which may capture move-only state.
// unique_function is the void() one.
//
// A callable of up to three pointers (a `[keep]` holding a shared_ptr, a
// `[this, n]`) lives inside the object: a post allocates nothing. Larger
// ones go to the heap, as they must somewhere.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "../config.hpp"

NETXX_BEGIN_NAMESPACE
namespace detail {

template <typename Signature>
class move_only_function;

template <typename R, typename... Args>
class move_only_function<R(Args...)> {
  static constexpr std::size_t inline_size = 3 * sizeof(void*);

  template <typename F>
  static constexpr bool stored_inline = sizeof(F) <= inline_size && alignof(F) <= alignof(void*) &&
                                        std::is_nothrow_move_constructible_v<F>;

 public:
  move_only_function() noexcept = default;
  move_only_function(std::nullptr_t) noexcept {}
  template <typename F>
    requires(!std::is_same_v<std::decay_t<F>, move_only_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  move_only_function(F&& f) {  // NOLINT(google-explicit-constructor)
    using D = std::decay_t<F>;
    if constexpr (stored_inline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
    } else {
      *reinterpret_cast<D**>(storage_) = new D(std::forward<F>(f));
    }
    ops_ = &ops_for<D>;
  }
  move_only_function(move_only_function&& o) noexcept : ops_(std::exchange(o.ops_, nullptr)) {
    if (ops_) ops_->move(storage_, o.storage_);
  }
  move_only_function& operator=(move_only_function&& o) noexcept {
    if (this != &o) {
      reset();
      ops_ = std::exchange(o.ops_, nullptr);
      if (ops_) ops_->move(storage_, o.storage_);
    }
    return *this;
  }
  move_only_function& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  move_only_function(const move_only_function&) = delete;
  move_only_function& operator=(const move_only_function&) = delete;
  ~move_only_function() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  R operator()(Args... args) { return ops_->call(storage_, std::forward<Args>(args)...); }

 private:
  struct ops {
    R (*call)(void*, Args&&...);
    void (*move)(void* dst, void* src) noexcept;  // leaves src destroyed
    void (*destroy)(void*) noexcept;
  };

  template <typename D>
  static D& target(void* p) noexcept {
    if constexpr (stored_inline<D>) {
      return *std::launder(reinterpret_cast<D*>(p));
    } else {
      return **reinterpret_cast<D**>(p);
    }
  }

  template <typename D>
  static constexpr ops ops_for{
      [](void* p, Args&&... args) -> R { return target<D>(p)(std::forward<Args>(args)...); },
      [](void* dst, void* src) noexcept {
        if constexpr (stored_inline<D>) {
          D& from = target<D>(src);
          ::new (dst) D(std::move(from));
          from.~D();
        } else {
          *reinterpret_cast<D**>(dst) = *reinterpret_cast<D**>(src);
        }
      },
      [](void* p) noexcept {
        if constexpr (stored_inline<D>) {
          target<D>(p).~D();
        } else {
          delete &target<D>(p);
        }
      },
  };

  void reset() noexcept {
    if (auto* o = std::exchange(ops_, nullptr)) o->destroy(storage_);
  }

  alignas(void*) unsigned char storage_[inline_size];
  const ops* ops_ = nullptr;
};

using unique_function = move_only_function<void()>;

}  // namespace detail
NETXX_END_NAMESPACE
