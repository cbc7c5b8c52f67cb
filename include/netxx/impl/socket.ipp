// SPDX-License-Identifier: BSL-1.0
#pragma once
// The definitions behind socket.hpp: included by it when netxx is header-only,
// compiled once by src/netxx.cpp with NETXX_SEPARATE_COMPILATION.

#include "../socket.hpp"

NETXX_BEGIN_NAMESPACE

template <typename Backend>
basic_socket<Backend>::basic_socket(const socket_options& o, basic_loop<Backend>& loop)
    : s_(std::allocate_shared<state>(detail::recycling_allocator<state>{})) {
  auto& st = *s_;
  st.loop = &loop;
  st.handles = 1;
  st.allow_half_open = o.allow_half_open;
  st.high_water_mark = o.high_water_mark;
  st.no_delay_on_connect = o.no_delay;
  st.keep_alive_on_connect = o.keep_alive;
  if (o.keep_alive) st.more().keep_alive_delay_ms = o.keep_alive_initial_delay < 0 ? 0 : o.keep_alive_initial_delay;
  if (o.block_list) st.more().connect.blocks = o.block_list;
  if (o.onread.callback && (!o.onread.buffer.empty() || o.onread.buffer_fn)) {
    auto& e = st.more();
    e.onread = o.onread;
    e.onread_buf = o.onread.buffer_fn ? o.onread.buffer_fn() : o.onread.buffer;
    st.reads_into_caller = true;
  }
  if (o.fd >= 0) adopt_fd(o.fd, o.readable, o.writable);
  if (o.signal.stop_possible()) {
    std::weak_ptr<state> weak = s_;
    auto* lp = &loop;
    st.more().abort_cb.emplace(o.signal, std::function<void()>([weak, lp] {
      lp->post([weak] {
        if (auto s = weak.lock()) s->destroy(error(errc::abort_err));
      });
    }));
  }
}

template <typename Backend>
auto basic_socket<Backend>::remove_all_listeners() -> basic_socket& {
  s_->events.remove_all_listeners();
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::remove_all_listeners(key name) -> basic_socket& {
  s_->events.remove_all_listeners(name);
  return *this;
}

template <typename Backend>
bool basic_socket<Backend>::write(std::string_view text, encoding enc, write_callback cb) {
  if (enc == encoding::utf8) return write(as_bytes(text), std::move(cb));
  return write(std::span<const std::byte>(encode(text, enc)), std::move(cb));
}

template <typename Backend>
auto basic_socket<Backend>::set_default_encoding(encoding enc) -> basic_socket& {
  s_->default_encoding = enc;
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::set_encoding(encoding enc) -> basic_socket& {
  s_->more().decoder.emplace(enc);
  return *this;
}

template <typename Backend>
std::optional<encoding> basic_socket<Backend>::readable_encoding() const {
  if (!s_ || !s_->decoding()) return std::nullopt;
  return s_->x->decoder->get_encoding();
}

template <typename Backend>
auto basic_socket<Backend>::end(std::span<const std::byte> data, write_callback cb) -> end_awaitable {
  if (s_) s_->end(data, std::move(cb));
  return end_awaitable(s_);
}

template <typename Backend>
auto basic_socket<Backend>::end(std::string_view text, write_callback cb) -> end_awaitable {
  if (s_ && s_->default_encoding != encoding::utf8) return end(text, s_->default_encoding, std::move(cb));
  return end(as_bytes(text), std::move(cb));
}

template <typename Backend>
auto basic_socket<Backend>::destroy(std::optional<error> err) -> basic_socket& {
  if (s_) s_->destroy(std::move(err));
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::pause() -> basic_socket& {
  if (s_) s_->pause();
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::resume() -> basic_socket& {
  if (s_ && !s_->destroyed) s_->start_flowing();
  return *this;
}

template <typename Backend>
std::optional<bool> basic_socket<Backend>::readable_flowing() const noexcept {
  if (!s_ || (!s_->flowing && !s_->paused)) return std::nullopt;
  return s_->flowing;
}

template <typename Backend>
auto basic_socket<Backend>::cork() noexcept -> basic_socket& {
  if (s_) ++s_->corked;
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::uncork() -> basic_socket& {
  if (s_) s_->uncork();
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::connect(const connect_options& o) -> connect_awaitable {
  s_->start_connect(o);
  return connect_awaitable(s_);
}

template <typename Backend>
std::optional<std::vector<std::string>> basic_socket<Backend>::auto_select_family_attempted_addresses() const {
  if (!s_ || !s_->x) return std::nullopt;
  return s_->x->connect.attempted_addresses;
}

template <typename Backend>
auto basic_socket<Backend>::set_timeout(std::int64_t ms) -> basic_socket& {
  if (ms < 0)
    throw error(errc::err_out_of_range,
                "The value of \"msecs\" is out of range. It must be a non-negative finite number. Received " +
                    std::to_string(ms));
  if (!s_ || s_->destroyed) return *this;
  s_->more().timeout_property = ms;
  s_->set_timeout(ms > 2147483647 ? 1 : ms);  // Node's TIMEOUT_MAX rule
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::reset_and_destroy() -> basic_socket& {
  if (!s_) return *this;
  if (s_->fd < 0 && !s_->connecting) {
    s_->destroy(error(errc::err_socket_closed));
    return *this;
  }
  if (s_->domain == AF_UNIX && !s_->connecting) throw error(errc::err_invalid_handle_type);
  if (s_->connecting && s_->x->connect.is_ipc())  // connecting: the extras exist
    throw error(errc::err_invalid_handle_type);
  s_->reset_on_destroy = true;
  if (!s_->connecting) s_->destroy({});
  return *this;
}

template <typename Backend>
ready_state basic_socket<Backend>::get_ready_state() const noexcept {
  if (!s_) return ready_state::closed;
  if (s_->connecting) return ready_state::opening;
  if (s_->readable && s_->writable) return ready_state::open;
  if (s_->readable) return ready_state::read_only;
  if (s_->writable) return ready_state::write_only;
  return ready_state::closed;
}

template <typename Backend>
address_info basic_socket<Backend>::address() const {
  if (!s_ || s_->fd < 0) return {};
  if (auto a = detail::socket_name(s_->fd, true))
    return {std::string(a->address().view()), std::string(detail::family_string(a->family())), a->port(), {}};
  return {};
}

template <typename Backend>
auto basic_socket<Backend>::set_no_delay(bool no_delay) noexcept -> basic_socket& {
  if (!s_) return *this;
  if (s_->fd < 0 || s_->connecting)
    s_->no_delay_on_connect = no_delay;
  else if (s_->domain != AF_UNIX)
    detail::set_int_option(s_->fd, IPPROTO_TCP, TCP_NODELAY, no_delay ? 1 : 0);
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::set_keep_alive(bool enable, std::int64_t initial_delay_ms) noexcept -> basic_socket& {
  if (!s_) return *this;
  if (s_->fd < 0 || s_->connecting) {
    s_->keep_alive_on_connect = enable;
    s_->more().keep_alive_delay_ms = initial_delay_ms < 0 ? 0 : initial_delay_ms;
  } else if (s_->domain != AF_UNIX) {
    detail::set_keep_alive(s_->fd, enable, initial_delay_ms);
  }
  return *this;
}

template <typename Backend>
auto basic_socket<Backend>::adopt(basic_loop<Backend>& loop, int fd, int domain) -> basic_socket {
  basic_socket s(adopt_tag{});
  s.s_ = std::allocate_shared<state>(detail::recycling_allocator<state>{});
  s.s_->loop = &loop;
  s.s_->fd = fd;
  s.s_->domain = domain;
  s.s_->handles = 1;
  return s;
}

template <typename Backend>
void basic_socket<Backend>::adopt_fd(int fd, bool readable, bool writable) {
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) throw error::from_syscall("open", errno_code(errno));
  int type = 0;
  socklen_t len = sizeof type;
  if (!S_ISSOCK(sb.st_mode) || ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    const char* kind = S_ISREG(sb.st_mode) ? "FILE" : S_ISFIFO(sb.st_mode) ? "PIPE" : S_ISCHR(sb.st_mode) ? "TTY"
                     : S_ISSOCK(sb.st_mode) && type == SOCK_DGRAM ? "UDP" : "UNKNOWN";
    throw error(errc::err_invalid_fd_type, std::string("Unsupported fd type: ") + kind);
  }
  int dom = AF_UNIX;
  len = sizeof dom;
  ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len);
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0 && !(fl & O_NONBLOCK)) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  s_->fd = fd;
  s_->domain = dom;
  s_->readable = readable;
  s_->writable = writable;
  if (s_->reads_into_caller && readable)
    s_->start_flowing();
  else if (readable)
    s_->read_soon();  // Node's Socket constructor with a handle: read(0)
}

template <typename Backend>
void basic_socket<Backend>::after_listener(std::size_t index) {
  static constexpr std::size_t data_index = key("data").index();
  s_->event_face = true;
  s_->hold();
  if (index == data_index && !s_->paused && !s_->flowing) s_->start_flowing();
}

template <typename Backend>
auto basic_socket<Backend>::set_ref(bool r) noexcept -> basic_socket& {
  if (!s_ || s_->ref == r) return *this;
  s_->ref = r;
  s_->set_op_ref(s_->pending_read, r);
  s_->set_op_ref(&s_->flow_read, r);
  if (s_->x) s_->x->connect.set_ref(r);
  return *this;
}

template <typename Backend>
const std::optional<socket_address>& basic_socket<Backend>::name_of(bool local) const noexcept {
  static const std::optional<socket_address> none;
  if (!s_) return none;
  const bool can_read = s_->fd >= 0 && !s_->connecting && !s_->destroyed;
  if (!s_->x && !can_read) return none;
  auto& cached = local ? s_->more().sock_name : s_->more().peer_name;
  if (!cached && can_read && !s_->connecting && !s_->destroyed) cached = detail::socket_name(s_->fd, local);
  return cached;
}

template <typename Backend>
std::string basic_socket<Backend>::ip_of(bool local) const {
  const auto& a = name_of(local);
  return a ? std::string(a->address().view()) : std::string();
}

template <typename Backend>
std::uint16_t basic_socket<Backend>::port_of(bool local) const noexcept {
  const auto& a = name_of(local);
  return a ? a->port() : 0;
}

template <typename Backend>
std::string basic_socket<Backend>::family_of(bool local) const {
  const auto& a = name_of(local);
  return a ? std::string(detail::family_string(a->family())) : std::string();
}

NETXX_END_NAMESPACE
