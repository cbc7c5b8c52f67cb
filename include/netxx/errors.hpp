// SPDX-License-Identifier: BSL-1.0
#pragma once
/// The error model: every failure is a std::error_code. System failures keep
/// their errno (std::system_category); Node's own codes live in netxx::errc
/// (the netxx category). netxx::error carries the code, Node's code string and
/// a message as Node words it, and is what the awaitable face throws and the
/// event face passes to "error" listeners.
///
/// Standard library only, so the constexpr address headers can use it: a
/// throw in a constexpr function is fine as long as constant evaluation never
/// reaches it (and a compile error, as it should be, when it does).

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"

// clang-format off
/// Node's own error codes, one row each: X(enumerator, value, Node's `code`
/// string, default message). The value is part of the ABI (never reuse one);
/// 0 is success in std::error_code, so they start at 1. errc, errc_name,
/// errc_message and errc_table are all generated from this one list, as
/// libuv generates uv_err_name and uv_strerror from UV_ERRNO_MAP.
#define NETXX_ERRC_MAP(X) \
  /* an AbortSignal (std::stop_token) fired */ \
  X(abort_err, 1, "ABORT_ERR", "The operation was aborted") \
  X(err_invalid_arg_type, 2, "ERR_INVALID_ARG_TYPE", "Invalid argument type") \
  X(err_invalid_arg_value, 3, "ERR_INVALID_ARG_VALUE", "Invalid argument value") \
  X(err_out_of_range, 4, "ERR_OUT_OF_RANGE", "Value out of range") \
  X(err_missing_args, 5, "ERR_MISSING_ARGS", "Missing arguments") \
  X(err_socket_bad_port, 6, "ERR_SOCKET_BAD_PORT", "Port should be >= 0 and < 65536") \
  X(err_socket_closed, 7, "ERR_SOCKET_CLOSED", "Socket is closed") \
  X(err_socket_closed_before_connection, 8, "ERR_SOCKET_CLOSED_BEFORE_CONNECTION", "Socket closed before the connection was established") \
  X(err_socket_connection_timeout, 9, "ERR_SOCKET_CONNECTION_TIMEOUT", "Socket connection timeout") \
  X(err_server_already_listen, 10, "ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.") \
  X(err_server_not_running, 11, "ERR_SERVER_NOT_RUNNING", "Server is not running.") \
  X(err_invalid_handle_type, 12, "ERR_INVALID_HANDLE_TYPE", "This handle type cannot be sent") \
  X(err_invalid_fd_type, 13, "ERR_INVALID_FD_TYPE", "Unsupported fd type") \
  X(err_ip_blocked, 14, "ERR_IP_BLOCKED", "IP is blocked") \
  X(err_stream_write_after_end, 15, "ERR_STREAM_WRITE_AFTER_END", "write after end") \
  X(err_stream_destroyed, 16, "ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed") \
  X(err_stream_push_after_eof, 17, "ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF") \
  X(err_multiple_callback, 18, "ERR_MULTIPLE_CALLBACK", "Callback called multiple times") \
  X(err_unknown_encoding, 19, "ERR_UNKNOWN_ENCODING", "Unknown encoding") \
  X(err_invalid_ip_address, 20, "ERR_INVALID_IP_ADDRESS", "Invalid IP address") \
  X(err_invalid_addrtype, 21, "ERR_INVALID_ADDRESS_FAMILY", "Invalid address family") \
  /* "error" emitted with no listener */ \
  X(err_unhandled_error, 22, "ERR_UNHANDLED_ERROR", "Unhandled error.") \
  /* netxx only: the forced NETXX_BACKEND cannot be set up */ \
  X(err_backend_unavailable, 23, "ERR_NETXX_BACKEND_UNAVAILABLE", "The requested I/O backend cannot be set up") \
  /* DNS (dns.lookup): Node reports getaddrinfo failures with these codes. */ \
  X(enotfound, 24, "ENOTFOUND", "getaddrinfo ENOTFOUND") \
  X(eai_again, 25, "EAI_AGAIN", "getaddrinfo EAI_AGAIN") \
  X(eai_fail, 26, "EAI_FAIL", "getaddrinfo EAI_FAIL") \
  X(eai_family, 27, "EAI_FAMILY", "getaddrinfo EAI_FAMILY") \
  X(eai_badflags, 28, "EAI_BADFLAGS", "getaddrinfo EAI_BADFLAGS") \
  X(eai_service, 29, "EAI_SERVICE", "getaddrinfo EAI_SERVICE") \
  X(eai_nodata, 30, "ENODATA", "getaddrinfo ENODATA") \
  X(eai_memory, 31, "EAI_MEMORY", "getaddrinfo EAI_MEMORY") \
  /* net.SocketAddress given text that is no IP address */ \
  X(err_invalid_address, 32, "ERR_INVALID_ADDRESS", "Invalid socket address") \
  X(eai_addrfamily, 33, "EAI_ADDRFAMILY", "getaddrinfo EAI_ADDRFAMILY") \
  X(eai_socktype, 34, "EAI_SOCKTYPE", "getaddrinfo EAI_SOCKTYPE") \
  /* net::timeout's deadline passed: Node's AbortSignal.timeout() reason, a */ \
  /* DOMException named "TimeoutError" whose numeric code is 23 */ \
  X(timeout_err, 35, "TimeoutError", "The operation was aborted due to timeout")

/// errno values a network program meets on Linux, one row each: X(errno,
/// libuv's name (Node's `code`), libuv's description, which Node's
/// uvException puts in its message: "listen EADDRINUSE: address already in use").
#define NETXX_ERRNO_MAP(X) \
  X(EPERM, "EPERM", "operation not permitted") \
  X(ENOENT, "ENOENT", "no such file or directory") \
  X(ESRCH, "ESRCH", "no such process") \
  X(EINTR, "EINTR", "interrupted system call") \
  X(EIO, "EIO", "i/o error") \
  X(ENXIO, "ENXIO", "no such device or address") \
  X(E2BIG, "E2BIG", "argument list too long") \
  X(EBADF, "EBADF", "bad file descriptor") \
  X(EAGAIN, "EAGAIN", "resource temporarily unavailable") \
  X(ENOMEM, "ENOMEM", "not enough memory") \
  X(EACCES, "EACCES", "permission denied") \
  X(EFAULT, "EFAULT", "bad address in system call argument") \
  X(EBUSY, "EBUSY", "resource busy or locked") \
  X(EEXIST, "EEXIST", "file already exists") \
  X(EXDEV, "EXDEV", "cross-device link not permitted") \
  X(ENODEV, "ENODEV", "no such device") \
  X(ENOTDIR, "ENOTDIR", "not a directory") \
  X(EISDIR, "EISDIR", "illegal operation on a directory") \
  X(EINVAL, "EINVAL", "invalid argument") \
  X(ENFILE, "ENFILE", "file table overflow") \
  X(EMFILE, "EMFILE", "too many open files") \
  X(ENOTTY, "ENOTTY", "inappropriate ioctl for device") \
  X(ETXTBSY, "ETXTBSY", "text file is busy") \
  X(EFBIG, "EFBIG", "file too large") \
  X(ENOSPC, "ENOSPC", "no space left on device") \
  X(ESPIPE, "ESPIPE", "invalid seek") \
  X(EROFS, "EROFS", "read-only file system") \
  X(EMLINK, "EMLINK", "too many links") \
  X(EPIPE, "EPIPE", "broken pipe") \
  X(ERANGE, "ERANGE", "result too large") \
  X(ENAMETOOLONG, "ENAMETOOLONG", "name too long") \
  X(ENOSYS, "ENOSYS", "function not implemented") \
  X(ENOTEMPTY, "ENOTEMPTY", "directory not empty") \
  X(ELOOP, "ELOOP", "too many symbolic links encountered") \
  X(ENODATA, "ENODATA", "no data available") \
  X(EPROTO, "EPROTO", "protocol error") \
  X(EOVERFLOW, "EOVERFLOW", "value too large for defined data type") \
  X(EILSEQ, "EILSEQ", "illegal byte sequence") \
  X(ENOTSOCK, "ENOTSOCK", "socket operation on non-socket") \
  X(EDESTADDRREQ, "EDESTADDRREQ", "destination address required") \
  X(EMSGSIZE, "EMSGSIZE", "message too long") \
  X(EPROTOTYPE, "EPROTOTYPE", "protocol wrong type for socket") \
  X(ENOPROTOOPT, "ENOPROTOOPT", "protocol not available") \
  X(EPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported") \
  X(ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", "socket type not supported") \
  X(EOPNOTSUPP, "ENOTSUP", "operation not supported on socket") \
  X(EAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported") \
  X(EADDRINUSE, "EADDRINUSE", "address already in use") \
  X(EADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available") \
  X(ENETDOWN, "ENETDOWN", "network is down") \
  X(ENETUNREACH, "ENETUNREACH", "network is unreachable") \
  X(ENETRESET, "ENETRESET", "unknown error") /* libuv has none: Node says "Unknown system error -102" */ \
  X(ECONNABORTED, "ECONNABORTED", "software caused connection abort") \
  X(ECONNRESET, "ECONNRESET", "connection reset by peer") \
  X(ENOBUFS, "ENOBUFS", "no buffer space available") \
  X(EISCONN, "EISCONN", "socket is already connected") \
  X(ENOTCONN, "ENOTCONN", "socket is not connected") \
  X(ESHUTDOWN, "ESHUTDOWN", "cannot send after transport endpoint shutdown") \
  X(ETIMEDOUT, "ETIMEDOUT", "connection timed out") \
  X(ECONNREFUSED, "ECONNREFUSED", "connection refused") \
  X(EHOSTDOWN, "EHOSTDOWN", "host is down") \
  X(EHOSTUNREACH, "EHOSTUNREACH", "host is unreachable") \
  X(EALREADY, "EALREADY", "connection already in progress") \
  X(EINPROGRESS, "EINPROGRESS", "unknown error") /* libuv has none: Node says "Unknown system error -115" */ \
  X(ECANCELED, "ECANCELED", "operation canceled")
// clang-format on

NETXX_BEGIN_NAMESPACE

/// Node's own error codes (the `code` property of Node's errors that are not
/// errno values), from NETXX_ERRC_MAP.
enum class errc : int {
#define NETXX_ERRC_ENUMERATOR(e, value, code, message) e = value,
  NETXX_ERRC_MAP(NETXX_ERRC_ENUMERATOR)
#undef NETXX_ERRC_ENUMERATOR
};

NETXX_END_NAMESPACE

// Before any use of errc with std::error_code, so the implicit conversion works.
template <>
struct std::is_error_code_enum<netxx::errc> : std::true_type {};

NETXX_BEGIN_NAMESPACE

namespace detail {

constexpr std::string_view errc_name(errc e) noexcept {
  switch (e) {
#define NETXX_ERRC_NAME_CASE(e, value, code, message) \
  case errc::e:                                      \
    return code;
    NETXX_ERRC_MAP(NETXX_ERRC_NAME_CASE)
#undef NETXX_ERRC_NAME_CASE
  }
  return "ERR_UNKNOWN";
}

// The default message of each Node code, used when the raiser gives none.
constexpr std::string_view errc_message(errc e) noexcept {
  switch (e) {
#define NETXX_ERRC_MESSAGE_CASE(e, value, code, message) \
  case errc::e:                                         \
    return message;
    NETXX_ERRC_MAP(NETXX_ERRC_MESSAGE_CASE)
#undef NETXX_ERRC_MESSAGE_CASE
  }
  return "Unknown netxx error";
}

/// A row of NETXX_ERRC_MAP, for code that walks every errc.
struct errc_info {
  errc value;
  std::string_view code;
  std::string_view message;
};
inline constexpr errc_info errc_table[] = {
#define NETXX_ERRC_ROW(e, value, code, message) {errc::e, code, message},
    NETXX_ERRC_MAP(NETXX_ERRC_ROW)
#undef NETXX_ERRC_ROW
};

// errno -> the name Node (libuv) gives it. Only the values in
// NETXX_ERRNO_MAP; anything else reads "UNKNOWN", as libuv says.
constexpr std::string_view errno_name(int ev) noexcept {
  switch (ev) {
#define NETXX_ERRNO_NAME_CASE(value, name, description) \
  case value:                                          \
    return name;
    NETXX_ERRNO_MAP(NETXX_ERRNO_NAME_CASE)
#undef NETXX_ERRNO_NAME_CASE
    default: return "UNKNOWN";
  }
}

// errno -> libuv's description (uv_strerror), which Node puts in the message
// of errors it builds with uvException: "listen EADDRINUSE: address already in use".
constexpr std::string_view uv_description(int ev) noexcept {
  switch (ev) {
#define NETXX_ERRNO_DESCRIPTION_CASE(value, name, description) \
  case value:                                                 \
    return description;
    NETXX_ERRNO_MAP(NETXX_ERRNO_DESCRIPTION_CASE)
#undef NETXX_ERRNO_DESCRIPTION_CASE
    default: return "unknown error";
  }
}

/// A row of NETXX_ERRNO_MAP, for code that walks every errno netxx names.
struct errno_info {
  int value;
  std::string_view name;
  std::string_view description;
};
inline constexpr errno_info errno_table[] = {
#define NETXX_ERRNO_ROW(value, name, description) {value, name, description},
    NETXX_ERRNO_MAP(NETXX_ERRNO_ROW)
#undef NETXX_ERRNO_ROW
};

class netxx_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netxx"; }
  std::string message(int ev) const override { return std::string(errc_message(static_cast<errc>(ev))); }
};

}  // namespace detail

/// The category of netxx::errc (Node's own codes).
inline const std::error_category& netxx_category() noexcept {
  static const detail::netxx_category_impl instance;
  return instance;
}

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), netxx_category()}; }

/// An errno value as an error_code (system category, as std::system_error uses).
inline std::error_code errno_code(int ev) noexcept { return {ev, std::system_category()}; }

/// Node's `code` string for an error: "ECONNREFUSED", "ERR_SOCKET_CLOSED", ...
inline std::string_view code_string(const std::error_code& ec) noexcept {
  if (!ec) return "";
  if (ec.category() == netxx_category()) return detail::errc_name(static_cast<errc>(ec.value()));
  if (ec.category() == std::system_category() || ec.category() == std::generic_category())
    return detail::errno_name(ec.value());
  return "UNKNOWN";
}

class error;
namespace detail {
// Node's util.inspect of an error, for the report of an uncaught one
// (defined in task.hpp, beside the handler that prints it).
inline std::string inspect(const error& e, std::string_view emitter = {}, int indent = 0);
}  // namespace detail

/// The exception of the awaitable face and the argument of "error" listeners:
/// Node's Error with `code`, `message`, and for system errors `syscall`,
/// `address` and `port`. what() is exactly Node's `message`.
class error : public std::system_error {
 public:
  error(std::error_code ec, std::string message) : std::system_error(ec), message_(std::move(message)) {}
  explicit error(errc e) : error(make_error_code(e), std::string(detail::errc_message(e))) {}
  error(errc e, std::string message) : error(make_error_code(e), std::move(message)) {}

  /// A failed system call, worded as Node's exceptionWithHostPort words it
  /// (connect, write): "connect ECONNREFUSED 127.0.0.1:9". As in Node, the
  /// port shows only when it is above 0.
  /// `local` ("address:port" of our end) adds Node's " - Local (...)".
  static error from_syscall(std::string_view syscall, std::error_code ec, std::string_view address = {},
                            std::optional<std::uint16_t> port = std::nullopt, std::string_view local = {}) {
    std::string msg;
    msg.append(syscall).append(" ").append(netxx::code_string(ec));
    auto e = with_details(std::move(msg), syscall, ec, address, port);
    if (!local.empty()) e.message_.append(" - Local (").append(local).append(")");
    return e;
  }

  /// A connect that the kernel failed after it started (Node's
  /// createConnectionError): when the connect asked for a local port, the
  /// message ends in " - Local (address:port)" with the local address as
  /// asked (Node's default 0.0.0.0 or :: when only the port was), and
  /// local_address()/local_port() are set, as Node sets err.localAddress
  /// and err.localPort. A local address without a port adds nothing.
  static error from_connect(std::error_code ec, std::string_view address, std::uint16_t port,
                            std::string_view local_address = {}, std::uint16_t local_port = 0) {
    if (local_port == 0 || local_address.empty()) return from_syscall("connect", ec, address, port);
    auto e = from_syscall("connect", ec, address, port,
                          std::string(local_address).append(":").append(std::to_string(local_port)));
    e.local_address_ = std::string(local_address);
    e.local_port_ = local_port;
    return e;
  }

  /// Node's NodeAggregateError: several failures at once (every Happy
  /// Eyeballs attempt failed). Its code is the first error's; errors() holds
  /// them all. Node's message is empty; what() lists the parts instead, so a
  /// printed exception still says what happened.
  /// A message, when given, is Node's for that aggregate ("All promises were
  /// rejected" for Promise.any); what() then starts with it.
  static error aggregate(std::vector<error> errors, std::string message = {}) {
    const std::error_code ec = errors.empty() ? std::error_code() : errors.front().code();
    std::string all = message;
    for (const auto& x : errors) all.append(all.empty() ? "" : all == message ? ": " : "; ").append(x.message());
    error e(ec, std::move(message));
    e.what_ = std::move(all);
    e.errors_ = std::make_shared<const std::vector<error>>(std::move(errors));
    return e;
  }

  /// A failed DNS request, worded as Node's DNSException words it:
  /// "getaddrinfo ENOTFOUND some.host" (no host name when it is empty).
  /// `hostname()` is the name as given; `uv_errno`, when not 0, is Node's
  /// `err.errno` (libuv's number: -3008 for EAI_NONAME, -3001 for EAI_AGAIN).
  static error from_dns(std::string_view syscall, std::error_code ec, std::string_view hostname, int uv_errno = 0) {
    std::string msg;
    msg.append(syscall).append(" ").append(netxx::code_string(ec));
    if (!hostname.empty()) msg.append(" ").append(hostname);
    error e(ec, std::move(msg));
    e.shape_ = shape::dns;
    e.syscall_ = std::string(syscall);
    e.hostname_ = std::string(hostname);
    if (uv_errno != 0) e.errno_ = uv_errno;
    return e;
  }

  /// A failed libuv call, worded as Node's uvExceptionWithHostPort words it
  /// (listen, bind, read): "listen EADDRINUSE: address already in use :::8124".
  static error from_uv(std::string_view syscall, std::error_code ec, std::string_view address = {},
                       std::optional<std::uint16_t> port = std::nullopt) {
    std::string msg;
    msg.append(syscall).append(" ").append(netxx::code_string(ec)).append(": ");
    if (ec.category() == std::system_category() || ec.category() == std::generic_category())
      msg.append(detail::uv_description(ec.value()));
    else
      msg.append(ec.message());
    auto e = with_details(std::move(msg), syscall, ec, address, port);
    e.shape_ = shape::uv;
    return e;
  }

 private:
  static error with_details(std::string msg, std::string_view syscall, std::error_code ec,
                            std::string_view address, std::optional<std::uint16_t> port) {
    if (port && *port > 0)
      msg.append(" ").append(address).append(":").append(std::to_string(*port));
    else if (!address.empty())
      msg.append(" ").append(address);
    error e(ec, std::move(msg));
    e.shape_ = shape::syscall;
    e.syscall_ = std::string(syscall);
    e.address_ = std::string(address);
    e.port_ = port;
    return e;
  }

 public:
  const char* what() const noexcept override { return errors_ ? what_.c_str() : message_.c_str(); }
  /// Node's AggregateError `errors` (empty unless made by aggregate()).
  std::span<const error> errors() const noexcept {
    return errors_ ? std::span<const error>(*errors_) : std::span<const error>();
  }
  bool is_aggregate() const noexcept { return errors_ != nullptr; }
  /// Node's `err.code`.
  std::string_view code_string() const noexcept { return netxx::code_string(code()); }
  /// Node's `err.message`.
  const std::string& message() const noexcept { return message_; }
  /// Node's `err.syscall` ("" when the error did not come from a system call).
  const std::string& syscall() const noexcept { return syscall_; }
  /// Node's `err.address` ("" when none).
  const std::string& address() const noexcept { return address_; }
  /// Node's `err.port`.
  std::optional<std::uint16_t> port() const noexcept { return port_; }
  /// Node's `err.localAddress` (a connect error made with a local port; "" otherwise).
  const std::string& local_address() const noexcept { return local_address_; }
  /// Node's `err.localPort` (with local_address()).
  std::optional<std::uint16_t> local_port() const noexcept { return local_port_; }
  /// Node's `err.hostname` (DNS errors; "" when none).
  const std::string& hostname() const noexcept { return hostname_; }
  /// netxx only: for a write that was aborted (net::abortable, net::timeout),
  /// how many of its bytes went to the kernel before it stopped; the rest
  /// was never sent. 0 for every other error.
  std::size_t bytes_written() const noexcept { return bytes_written_; }
  /// An operation cut short by an abort (ABORT_ERR) or a deadline
  /// (TimeoutError); a write says how many of its bytes were sent.
  static error aborted(errc why, std::size_t written = 0) {
    error e(why);
    e.bytes_written_ = written;
    return e;
  }
  /// Node's `err.errno`: the negated errno for system errors, libuv's number
  /// for DNS errors (UV_EAI_*), 0 otherwise.
  int errno_value() const noexcept {
    if (errno_) return *errno_;
    return code().category() == std::system_category() || code().category() == std::generic_category()
               ? -code().value()
               : 0;
  }

 private:
  std::string message_;
  std::string syscall_;
  std::string address_;
  std::optional<std::uint16_t> port_;
  std::string what_;
  std::shared_ptr<const std::vector<error>> errors_;
  std::string hostname_;
  std::optional<int> errno_;
  std::string local_address_;
  std::optional<std::uint16_t> local_port_;
  std::size_t bytes_written_ = 0;
  // Which of Node's constructors this error stands for, so inspect() lists
  // the properties in the order Node's constructor sets them.
  enum class shape : std::uint8_t {
    plain,    // new Error / NodeError: code only (plus errno for a bare errno)
    syscall,  // ExceptionWithHostPort, ErrnoException: errno, code, syscall, address, port
    uv,       // UVExceptionWithHostPort: code, errno, syscall, address, port
    dns,      // DNSException: errno, code, syscall, hostname
  };
  shape shape_ = shape::plain;
  friend std::string detail::inspect(const error&, std::string_view, int);
};

/// Throws netxx::error(e, message). Usable from constexpr functions: constant
/// evaluation that reaches it fails to compile, which is the point.
[[noreturn]] inline void throw_error(errc e, std::string message) { throw error(e, std::move(message)); }
[[noreturn]] inline void throw_error(errc e) { throw error(e); }

NETXX_END_NAMESPACE
