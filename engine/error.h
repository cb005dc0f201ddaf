// error.h: the engine's one exception type and the always-on ENGINE_CHECK macro.
// Not a logging framework: a failed check throws cudistill::Error carrying the failed condition,
// the function, file and line, and a message that tells the user what to do.
// Tested in tests/ops/test_error.cpp by forcing a failure.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cudistill {

// Error is thrown for programming errors and bad input alike; apps map it to exit code 2 when
// `user_error` is set (bad flag, bad file) and 1 otherwise (see docs/DESIGN.md, exit codes).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, bool user_error = false)
      : std::runtime_error(what), user_error_(user_error) {}
  bool user_error() const { return user_error_; }

 private:
  bool user_error_;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void check_failed(const char* cond, const char* func, const char* file, int line,
                               const std::string& msg);
}  // namespace detail

}  // namespace cudistill

// ENGINE_CHECK(cond, "message parts", value, ...): never compiled out (unlike assert), because
// shape errors in a training run must fail loudly in Release builds too.
#define ENGINE_CHECK(cond, ...)                                                                \
  do {                                                                                         \
    if (!(cond))                                                                               \
      ::cudistill::detail::check_failed(#cond, __func__, __FILE__, __LINE__,                   \
                                        ::cudistill::detail::concat(__VA_ARGS__));             \
  } while (0)

// USER_CHECK: like ENGINE_CHECK, but the failure is the user's (bad flag, file or setting), so
// apps exit with code 2 and the message is printed without the source location.
#define USER_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond)) throw ::cudistill::Error(::cudistill::detail::concat(__VA_ARGS__), true);     \
  } while (0)
