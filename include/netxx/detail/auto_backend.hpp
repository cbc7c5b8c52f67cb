// SPDX-License-Identifier: BSL-1.0
#pragma once
// The automatic backend: io_uring when it can be had, epoll otherwise (epoll
// alone in a build with NETXX_DISABLE_IO_URING), and what each backend
// reports as its features. Part of loop.hpp, which
// includes it once backend_features, backend_choice and backend_from_env
// (public, there) are declared; never included on its own.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "../config.hpp"
#include "../errors.hpp"
#include "epoll/backend.hpp"
#include "loop_core.hpp"
#include "op.hpp"
#include "uring/config.hpp"
#ifndef NETXX_DISABLE_IO_URING
#  include "uring/backend.hpp"
#endif

#ifndef NETXX_LOOP_BACKEND_TYPES
#  error "netxx/detail/auto_backend.hpp is part of <netxx/loop.hpp>: include that"
#endif

NETXX_BEGIN_NAMESPACE
namespace detail {

#ifdef NETXX_DISABLE_IO_URING
/// The automatic backend of an epoll-only build: epoll. Asking for io_uring
/// is the error it is where io_uring cannot be set up, saying why.
class auto_backend {
 public:
  static constexpr std::string_view name = "auto";

  explicit auto_backend(loop_core& core, backend_choice choice = backend_from_env()) : epoll_(checked(core, choice)) {
    features_.backend = epoll_backend::name;
  }

  const backend_features& features() const noexcept { return features_; }
  bool is_uring() const noexcept { return false; }

  bool start(io_op& op) { return epoll_.start(op); }
  void cancel(std::uint64_t id) { epoll_.cancel(id); }
  void abandon(io_op& op) { epoll_.abandon(op); }
  int close_fd(int fd) { return epoll_.close_fd(fd); }
  int close_idle_fd(int fd) noexcept { return epoll_.close_idle_fd(fd); }
  void wait(int timeout_ms) { epoll_.wait(timeout_ms); }
  void flush() noexcept { epoll_.flush(); }

 private:
  static loop_core& checked(loop_core& core, backend_choice choice) {
    if (choice == backend_choice::io_uring)
      throw error(errc::err_backend_unavailable,
                  "NETXX_BACKEND=io_uring but io_uring was compiled out of this build (NETXX_DISABLE_IO_URING): "
                  "only epoll is available");
    return core;
  }

  epoll_backend epoll_;
  backend_features features_;
};
#else
/// The automatic backend: io_uring when it can be had, epoll otherwise. One
/// predictable branch per call; naming a backend directly removes it.
class auto_backend {
 public:
  static constexpr std::string_view name = "auto";

  explicit auto_backend(loop_core& core, backend_choice choice = backend_from_env(),
                        uring_setup_fn setup = &default_uring_setup) {
    if (choice != backend_choice::epoll) {
      try {
        uring_.emplace(core, setup);
        features_.backend = uring_backend::name;
        features_.uring = uring_->features();
        return;
      } catch (const error& e) {
        if (choice == backend_choice::io_uring)
          throw error(errc::err_backend_unavailable,
                      std::string("NETXX_BACKEND=io_uring but io_uring cannot be set up: ") + e.what());
        features_.fell_back = true;
        features_.uring_error = e.code();
      }
    }
    epoll_.emplace(core);
    features_.backend = epoll_backend::name;
  }

  const backend_features& features() const noexcept { return features_; }
  bool is_uring() const noexcept { return uring_.has_value(); }

  bool start(io_op& op) { return uring_ ? uring_->start(op) : epoll_->start(op); }
  void cancel(std::uint64_t id) { uring_ ? uring_->cancel(id) : epoll_->cancel(id); }
  void abandon(io_op& op) { uring_ ? uring_->abandon(op) : epoll_->abandon(op); }
  int close_fd(int fd) { return uring_ ? uring_->close_fd(fd) : epoll_->close_fd(fd); }
  int close_idle_fd(int fd) noexcept { return uring_ ? uring_->close_idle_fd(fd) : epoll_->close_idle_fd(fd); }
  void wait(int timeout_ms) { uring_ ? uring_->wait(timeout_ms) : epoll_->wait(timeout_ms); }
  void flush() noexcept { uring_ ? uring_->flush() : epoll_->flush(); }

 private:
  std::optional<uring_backend> uring_;
  std::optional<epoll_backend> epoll_;
  backend_features features_;
};
#endif

template <typename Backend>
backend_features features_of(const Backend& b) {
  if constexpr (std::is_same_v<Backend, auto_backend>) {
    return b.features();
  }
#ifndef NETXX_DISABLE_IO_URING
  else if constexpr (std::is_same_v<Backend, uring_backend>) {
    return {uring_backend::name, false, {}, b.features()};
  }
#endif
  else {
    return {Backend::name, false, {}, {}};
  }
}

}  // namespace detail
NETXX_END_NAMESPACE
