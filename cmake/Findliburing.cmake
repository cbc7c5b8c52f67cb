# Finds liburing through pkg-config, falling back to a plain header/library
# search, and defines the imported target liburing::liburing.
# liburing_VERSION comes from pkg-config, else from <liburing/io_uring_version.h>
# (liburing 2.4 and newer), else from the header's declarations: 2.3 when it
# declares io_uring_submit_and_get_events (new in 2.3, which netxx calls),
# otherwise 2.2 (older than netxx needs).
if(TARGET liburing::liburing)
  set(liburing_FOUND TRUE)
  return()
endif()
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(PC_LIBURING QUIET liburing)
endif()
find_path(LIBURING_INCLUDE_DIR liburing.h HINTS ${PC_LIBURING_INCLUDE_DIRS})
find_library(LIBURING_LIBRARY NAMES uring HINTS ${PC_LIBURING_LIBRARY_DIRS})

unset(liburing_VERSION)
if(PC_LIBURING_VERSION)
  set(liburing_VERSION ${PC_LIBURING_VERSION})
elseif(LIBURING_INCLUDE_DIR AND EXISTS "${LIBURING_INCLUDE_DIR}/liburing/io_uring_version.h")
  file(STRINGS "${LIBURING_INCLUDE_DIR}/liburing/io_uring_version.h" v
       REGEX "^#define IO_URING_VERSION_(MAJOR|MINOR)[ \t]+[0-9]+")
  string(REGEX REPLACE ".*IO_URING_VERSION_MAJOR[ \t]+([0-9]+).*" "\\1" major "${v}")
  string(REGEX REPLACE ".*IO_URING_VERSION_MINOR[ \t]+([0-9]+).*" "\\1" minor "${v}")
  set(liburing_VERSION "${major}.${minor}")
elseif(LIBURING_INCLUDE_DIR)
  file(STRINGS "${LIBURING_INCLUDE_DIR}/liburing.h" v REGEX "io_uring_submit_and_get_events[ \t]*\\(")
  if(v)
    set(liburing_VERSION 2.3)
  else()
    set(liburing_VERSION 2.2)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(liburing
  REQUIRED_VARS LIBURING_LIBRARY LIBURING_INCLUDE_DIR
  VERSION_VAR liburing_VERSION
  REASON_FAILURE_MESSAGE
    "netxx needs liburing 2.3 or newer, with its headers. Install it:
    Debian 12 / Ubuntu 24.04:  apt-get install liburing-dev
    Fedora:                    dnf install liburing-devel
    Arch:                      pacman -S liburing
  (Ubuntu 22.04's liburing-dev is 2.1, too old: build liburing from
  https://github.com/axboe/liburing), or point CMAKE_PREFIX_PATH at an
  installed one, or configure netxx with -DNETXX_DISABLE_IO_URING=ON for an
  epoll-only build that needs no liburing.")
if(liburing_FOUND)
  add_library(liburing::liburing UNKNOWN IMPORTED)
  set_target_properties(liburing::liburing PROPERTIES
    IMPORTED_LOCATION "${LIBURING_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LIBURING_INCLUDE_DIR}")
endif()
mark_as_advanced(LIBURING_INCLUDE_DIR LIBURING_LIBRARY)
