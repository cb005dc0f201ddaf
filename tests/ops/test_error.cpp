// test_error.cpp: cudistill::Error and the ENGINE_CHECK / USER_CHECK macros: a forced failure's
// message carries the condition, file, line and the caller's message; user_error() tells the two
// apart; ops given bad shapes throw an Error that names the shapes.
// Run: ./build-b/tests/test_ops -tc="error:*"
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "engine/error.h"
#include "engine/ops/ops.h"
#include "expect_error.h"

using namespace cudistill;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int g_check_line = 0;
void failing_engine_check(int answer) {
  g_check_line = __LINE__ + 1;
  ENGINE_CHECK(answer == 42, "the answer was ", answer, ", expected ", 42);
}
void failing_user_check(const std::string& flag) {
  USER_CHECK(flag == "--epochs", "unknown flag '", flag, "': try --help");
}
using test::catch_error;
}  // namespace

TEST_SUITE("ops") {
TEST_CASE("error: ENGINE_CHECK's message has the condition, location and user message") {
  CHECK_NOTHROW(failing_engine_check(42));  // a passing check does nothing
  CHECK_THROWS_AS(failing_engine_check(7), Error);
  const Error e = catch_error([] { failing_engine_check(7); });
  const std::string msg = e.what();
  CHECK(contains(msg, "answer == 42"));                          // the condition text
  CHECK(contains(msg, "test_error.cpp"));                        // the file
  CHECK(contains(msg, ":" + std::to_string(g_check_line)));      // the line
  CHECK(contains(msg, "failing_engine_check"));                  // the function
  CHECK(contains(msg, "the answer was 7, expected 42"));         // the message, values formatted
  CHECK_FALSE(e.user_error());
  // Error is a std::runtime_error, so generic handlers catch it too
  CHECK_THROWS_AS(failing_engine_check(0), std::runtime_error);
}

TEST_CASE("error: USER_CHECK marks the error as the user's, without the source location") {
  CHECK_NOTHROW(failing_user_check("--epochs"));
  const Error e = catch_error([] { failing_user_check("--epohcs"); });
  CHECK(e.user_error());
  const std::string msg = e.what();
  CHECK(msg == "unknown flag '--epohcs': try --help");  // exactly the message, nothing else
  CHECK_FALSE(contains(msg, "test_error.cpp"));
  CHECK_FALSE(Error("plain").user_error());  // the default is an engine error
  CHECK(Error("x", true).user_error());
}

TEST_CASE("error: ops given bad shapes name the shapes") {
  SUBCASE("conv2d with mismatched channels") {
    Tensor x = Tensor::zeros({1, 3, 5, 5});
    Tensor w = Tensor::zeros({4, 2, 3, 3});  // expects C = 2
    const Error e = catch_error([&] { conv2d(x, w, Tensor()); });
    const std::string msg = e.what();
    CHECK(contains(msg, "conv2d"));
    CHECK(contains(msg, "(1, 3, 5, 5)"));
    CHECK(contains(msg, "(4, 2, 3, 3)"));
  }
  SUBCASE("conv2d with a bias of the wrong size") {
    Tensor x = Tensor::zeros({1, 2, 5, 5});
    Tensor w = Tensor::zeros({4, 2, 3, 3});
    const Error e = catch_error([&] { conv2d(x, w, Tensor::zeros({3})); });
    CHECK(contains(e.what(), "(3,)"));
  }
  SUBCASE("conv2d on a 3-d input") {
    const Error e = catch_error([] { conv2d(Tensor::zeros({3, 5, 5}), Tensor::zeros({4, 3, 3, 3}), Tensor()); });
    CHECK(contains(e.what(), "(3, 5, 5)"));
  }
  SUBCASE("linear with the wrong inner dim") {
    Tensor x = Tensor::zeros({2, 3});
    Tensor w = Tensor::zeros({4, 5});  // expects I = 3
    const Error e = catch_error([&] { linear(x, w, Tensor()); });
    const std::string msg = e.what();
    CHECK(contains(msg, "linear"));
    CHECK(contains(msg, "(2, 3)"));
    CHECK(contains(msg, "(4, 5)"));
  }
  SUBCASE("matmul with the wrong inner dim") {
    const Error e = catch_error([] { matmul(Tensor::zeros({2, 3}), Tensor::zeros({4, 2})); });
    CHECK(contains(e.what(), "(2, 3)"));
    CHECK(contains(e.what(), "(4, 2)"));
  }
  SUBCASE("add with shapes that do not broadcast") {
    const Error e = catch_error([] { add(Tensor::zeros({2, 3}), Tensor::zeros({4})); });
    CHECK(contains(e.what(), "(2, 3)"));
    CHECK(contains(e.what(), "(4,)"));
  }
}
}  // TEST_SUITE("ops")
