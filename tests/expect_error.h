// expect_error.h: runs code that must fail with a user error (a bad file, flag or setting) and
// hands back the message, so that a test can check it names what the user must fix.
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

}  // namespace cudistill::test
