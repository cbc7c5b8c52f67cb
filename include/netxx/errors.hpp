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

NETXX_BEGIN_NAMESPACE

/// Node's own error codes (the `code` property of Node's errors that are not
/// errno values). Values start at 1: 0 means success in std::error_code.
enum class errc : int {
  abort_err = 1,                      // ABORT_ERR: an AbortSignal (std::stop_token) fired
  err_invalid_arg_type,               // ERR_INVALID_ARG_TYPE
  err_invalid_arg_value,              // ERR_INVALID_ARG_VALUE
  err_out_of_range,                   // ERR_OUT_OF_RANGE
  err_missing_args,                   // ERR_MISSING_ARGS
  err_socket_bad_port,                // ERR_SOCKET_BAD_PORT
  err_socket_closed,                  // ERR_SOCKET_CLOSED
  err_socket_closed_before_connection,// ERR_SOCKET_CLOSED_BEFORE_CONNECTION
  err_socket_connection_timeout,      // ERR_SOCKET_CONNECTION_TIMEOUT
  err_server_already_listen,          // ERR_SERVER_ALREADY_LISTEN
  err_server_not_running,             // ERR_SERVER_NOT_RUNNING
  err_invalid_handle_type,            // ERR_INVALID_HANDLE_TYPE
  err_invalid_fd_type,                // ERR_INVALID_FD_TYPE
  err_ip_blocked,                     // ERR_IP_BLOCKED
  err_stream_write_after_end,         // ERR_STREAM_WRITE_AFTER_END
  err_stream_destroyed,               // ERR_STREAM_DESTROYED
  err_stream_push_after_eof,          // ERR_STREAM_PUSH_AFTER_EOF
  err_multiple_callback,              // ERR_MULTIPLE_CALLBACK
  err_unknown_encoding,               // ERR_UNKNOWN_ENCODING
  err_invalid_ip_address,             // ERR_INVALID_IP_ADDRESS
  err_invalid_addrtype,               // ERR_INVALID_ADDRESS_FAMILY
  err_unhandled_error,                // ERR_UNHANDLED_ERROR: "error" emitted with no listener
  err_backend_unavailable,            // netxx only: the forced NETXX_BACKEND cannot be set up
  // DNS (dns.lookup): Node reports getaddrinfo failures with these codes.
  enotfound,                          // ENOTFOUND
  eai_again,                          // EAI_AGAIN
  eai_fail,                           // EAI_FAIL
  eai_family,                         // EAI_FAMILY
  eai_badflags,                       // EAI_BADFLAGS
  eai_service,                        // EAI_SERVICE
  eai_nodata,                         // ENODATA
  eai_memory,                         // EAI_MEMORY
  err_invalid_address,                // ERR_INVALID_ADDRESS: net.SocketAddress given text that is no IP address
  eai_addrfamily,                     // EAI_ADDRFAMILY
  eai_socktype,                       // EAI_SOCKTYPE
};

NETXX_END_NAMESPACE

// Before any use of errc with std::error_code, so the implicit conversion works.
template <>
struct std::is_error_code_enum<netxx::errc> : std::true_type {};

NETXX_BEGIN_NAMESPACE

namespace detail {

constexpr std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::abort_err: return "ABORT_ERR";
    case errc::err_invalid_arg_type: return "ERR_INVALID_ARG_TYPE";
    case errc::err_invalid_arg_value: return "ERR_INVALID_ARG_VALUE";
    case errc::err_out_of_range: return "ERR_OUT_OF_RANGE";
    case errc::err_missing_args: return "ERR_MISSING_ARGS";
    case errc::err_socket_bad_port: return "ERR_SOCKET_BAD_PORT";
    case errc::err_socket_closed: return "ERR_SOCKET_CLOSED";
    case errc::err_socket_closed_before_connection: return "ERR_SOCKET_CLOSED_BEFORE_CONNECTION";
    case errc::err_socket_connection_timeout: return "ERR_SOCKET_CONNECTION_TIMEOUT";
    case errc::err_server_already_listen: return "ERR_SERVER_ALREADY_LISTEN";
    case errc::err_server_not_running: return "ERR_SERVER_NOT_RUNNING";
    case errc::err_invalid_handle_type: return "ERR_INVALID_HANDLE_TYPE";
    case errc::err_invalid_fd_type: return "ERR_INVALID_FD_TYPE";
    case errc::err_ip_blocked: return "ERR_IP_BLOCKED";
    case errc::err_stream_write_after_end: return "ERR_STREAM_WRITE_AFTER_END";
    case errc::err_stream_destroyed: return "ERR_STREAM_DESTROYED";
    case errc::err_stream_push_after_eof: return "ERR_STREAM_PUSH_AFTER_EOF";
    case errc::err_multiple_callback: return "ERR_MULTIPLE_CALLBACK";
    case errc::err_unknown_encoding: return "ERR_UNKNOWN_ENCODING";
    case errc::err_invalid_ip_address: return "ERR_INVALID_IP_ADDRESS";
    case errc::err_invalid_addrtype: return "ERR_INVALID_ADDRESS_FAMILY";
    case errc::err_unhandled_error: return "ERR_UNHANDLED_ERROR";
    case errc::err_backend_unavailable: return "ERR_NETXX_BACKEND_UNAVAILABLE";
    case errc::enotfound: return "ENOTFOUND";
    case errc::eai_again: return "EAI_AGAIN";
    case errc::eai_fail: return "EAI_FAIL";
    case errc::eai_family: return "EAI_FAMILY";
    case errc::eai_badflags: return "EAI_BADFLAGS";
    case errc::eai_service: return "EAI_SERVICE";
    case errc::eai_nodata: return "ENODATA";
    case errc::eai_memory: return "EAI_MEMORY";
    case errc::err_invalid_address: return "ERR_INVALID_ADDRESS";
    case errc::eai_addrfamily: return "EAI_ADDRFAMILY";
    case errc::eai_socktype: return "EAI_SOCKTYPE";
  }
  return "ERR_UNKNOWN";
}

// The default message of each Node code, used when the raiser gives none.
constexpr std::string_view errc_message(errc e) noexcept {
  switch (e) {
    case errc::abort_err: return "The operation was aborted";
    case errc::err_invalid_arg_type: return "Invalid argument type";
    case errc::err_invalid_arg_value: return "Invalid argument value";
    case errc::err_out_of_range: return "Value out of range";
    case errc::err_missing_args: return "Missing arguments";
    case errc::err_socket_bad_port: return "Port should be >= 0 and < 65536";
    case errc::err_socket_closed: return "Socket is closed";
    case errc::err_socket_closed_before_connection: return "Socket closed before the connection was established";
    case errc::err_socket_connection_timeout: return "Socket connection timeout";
    case errc::err_server_already_listen: return "Listen method has been called more than once without closing.";
    case errc::err_server_not_running: return "Server is not running.";
    case errc::err_invalid_handle_type: return "This handle type cannot be sent";
    case errc::err_invalid_fd_type: return "Unsupported fd type";
    case errc::err_ip_blocked: return "IP is blocked";
    case errc::err_stream_write_after_end: return "write after end";
    case errc::err_stream_destroyed: return "Cannot call write after a stream was destroyed";
    case errc::err_stream_push_after_eof: return "stream.push() after EOF";
    case errc::err_multiple_callback: return "Callback called multiple times";
    case errc::err_unknown_encoding: return "Unknown encoding";
    case errc::err_invalid_ip_address: return "Invalid IP address";
    case errc::err_invalid_addrtype: return "Invalid address family";
    case errc::err_unhandled_error: return "Unhandled error.";
    case errc::err_backend_unavailable: return "The requested I/O backend cannot be set up";
    case errc::enotfound: return "getaddrinfo ENOTFOUND";
    case errc::eai_again: return "getaddrinfo EAI_AGAIN";
    case errc::eai_fail: return "getaddrinfo EAI_FAIL";
    case errc::eai_family: return "getaddrinfo EAI_FAMILY";
    case errc::eai_badflags: return "getaddrinfo EAI_BADFLAGS";
    case errc::eai_service: return "getaddrinfo EAI_SERVICE";
    case errc::eai_nodata: return "getaddrinfo ENODATA";
    case errc::eai_memory: return "getaddrinfo EAI_MEMORY";
    case errc::err_invalid_address: return "Invalid socket address";
    case errc::eai_addrfamily: return "getaddrinfo EAI_ADDRFAMILY";
    case errc::eai_socktype: return "getaddrinfo EAI_SOCKTYPE";
  }
  return "Unknown netxx error";
}

// errno -> the name Node (libuv) gives it. Only the Linux values a network
// program meets; anything else reads "UNKNOWN", as libuv says.
constexpr std::string_view errno_name(int ev) noexcept {
  switch (ev) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EMLINK: return "EMLINK";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case EPROTO: return "EPROTO";
    case EOVERFLOW: return "EOVERFLOW";
    case EILSEQ: return "EILSEQ";
    case ENOTSOCK: return "ENOTSOCK";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EOPNOTSUPP: return "ENOTSUP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENETRESET: return "ENETRESET";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ESHUTDOWN: return "ESHUTDOWN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EHOSTDOWN: return "EHOSTDOWN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EALREADY: return "EALREADY";
    case EINPROGRESS: return "EINPROGRESS";
    case ECANCELED: return "ECANCELED";
    default: return "UNKNOWN";
  }
}

// errno -> libuv's description (uv_strerror), which Node puts in the message
// of errors it builds with uvException: "listen EADDRINUSE: address already in use".
constexpr std::string_view uv_description(int ev) noexcept {
  switch (ev) {
    case E2BIG: return "argument list too long";
    case EACCES: return "permission denied";
    case EADDRINUSE: return "address already in use";
    case EADDRNOTAVAIL: return "address not available";
    case EAFNOSUPPORT: return "address family not supported";
    case EAGAIN: return "resource temporarily unavailable";
    case EALREADY: return "connection already in progress";
    case EBADF: return "bad file descriptor";
    case EBUSY: return "resource busy or locked";
    case ECANCELED: return "operation canceled";
    case ECONNABORTED: return "software caused connection abort";
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset by peer";
    case EEXIST: return "file already exists";
    case EFAULT: return "bad address in system call argument";
    case EFBIG: return "file too large";
    case EHOSTDOWN: return "host is down";
    case EHOSTUNREACH: return "host is unreachable";
    case EINTR: return "interrupted system call";
    case EINVAL: return "invalid argument";
    case EIO: return "i/o error";
    case EISCONN: return "socket is already connected";
    case EISDIR: return "illegal operation on a directory";
    case ELOOP: return "too many symbolic links encountered";
    case EMFILE: return "too many open files";
    case EMLINK: return "too many links";
    case EMSGSIZE: return "message too long";
    case ENAMETOOLONG: return "name too long";
    case ENETDOWN: return "network is down";
    case ENETUNREACH: return "network is unreachable";
    case ENFILE: return "file table overflow";
    case ENOBUFS: return "no buffer space available";
    case ENODEV: return "no such device";
    case ENOENT: return "no such file or directory";
    case ENOMEM: return "not enough memory";
    case ENOSPC: return "no space left on device";
    case ENOSYS: return "function not implemented";
    case ENOTCONN: return "socket is not connected";
    case ENOTDIR: return "not a directory";
    case ENOTEMPTY: return "directory not empty";
    case ENOTSOCK: return "socket operation on non-socket";
    case EOPNOTSUPP: return "operation not supported on socket";
    case ENOTTY: return "inappropriate ioctl for device";
    case ENXIO: return "no such device or address";
    case EOVERFLOW: return "value too large for defined data type";
    case EPERM: return "operation not permitted";
    case EPIPE: return "broken pipe";
    case EPROTO: return "protocol error";
    case EPROTONOSUPPORT: return "protocol not supported";
    case EPROTOTYPE: return "protocol wrong type for socket";
    case ERANGE: return "result too large";
    case EROFS: return "read-only file system";
    case ESHUTDOWN: return "cannot send after transport endpoint shutdown";
    case ESPIPE: return "invalid seek";
    case ESRCH: return "no such process";
    case ETIMEDOUT: return "connection timed out";
    case ETXTBSY: return "text file is busy";
    case EXDEV: return "cross-device link not permitted";
    case EILSEQ: return "illegal byte sequence";
    case ENODATA: return "no data available";
    default: return "unknown error";
  }
}

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

  /// Node's NodeAggregateError: several failures at once (every Happy
  /// Eyeballs attempt failed). Its code is the first error's; errors() holds
  /// them all. Node's message is empty; what() lists the parts instead, so a
  /// printed exception still says what happened.
  static error aggregate(std::vector<error> errors) {
    const std::error_code ec = errors.empty() ? std::error_code() : errors.front().code();
    error e(ec, std::string());
    std::string all;
    for (const auto& x : errors) all.append(all.empty() ? "" : "; ").append(x.message());
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
    return with_details(std::move(msg), syscall, ec, address, port);
  }

 private:
  static error with_details(std::string msg, std::string_view syscall, std::error_code ec,
                            std::string_view address, std::optional<std::uint16_t> port) {
    if (port && *port > 0)
      msg.append(" ").append(address).append(":").append(std::to_string(*port));
    else if (!address.empty())
      msg.append(" ").append(address);
    error e(ec, std::move(msg));
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
  /// Node's `err.hostname` (DNS errors; "" when none).
  const std::string& hostname() const noexcept { return hostname_; }
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
};

/// Throws netxx::error(e, message). Usable from constexpr functions: constant
/// evaluation that reaches it fails to compile, which is the point.
[[noreturn]] inline void throw_error(errc e, std::string message) { throw error(e, std::move(message)); }
[[noreturn]] inline void throw_error(errc e) { throw error(e); }

NETXX_END_NAMESPACE
