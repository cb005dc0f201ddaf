// expect_error.h: runs code that must fail (with a user error: a bad file, flag or setting) and
// hands back the error or its message, so that a test can check it names what must be fixed.
#pragma once
#include <doctest/doctest.h>

#include <string>

#include "engine/error.h"

namespace cudistill::test {

template <typename F>
std::string user_error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.user_error());
    return e.what();
  }
  FAIL("expected a cudistill::Error, none was thrown");
  return "";
}

// The Error thrown by f; the test fails when nothing, or something else, is thrown.
template <typename F>
Error catch_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  } catch (...) {
    FAIL("threw something other than cudistill::Error");
  }
  FAIL("nothing was thrown");
  return Error("");
}

}  // namespace cudistill::test
