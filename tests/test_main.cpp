// test_main.cpp: the doctest entry point shared by the test executables.
// Run one suite or case with doctest's flags, e.g. ./build/tests/test_ops -ts=ops -tc="conv2d*"
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
