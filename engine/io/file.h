// file.h: whole-file reads and crash-safe whole-file writes, for weights, configs and metrics.
// write_file_atomic writes a temporary file beside the target, fsyncs it, then renames it over
// the target: a reader sees the old file or the new one, never half of one, and a run killed
// mid-write leaves the old file in place (plus, at worst, a stray "<path>.tmp.<pid>").
// Not here: memory mapping, directory creation (a missing directory is the caller's error to
// report), Windows.
// Tested in tests/ops/test_io.cpp (-tc="io*").
#pragma once
#include <string>

namespace cudistill {

// The file's bytes. Unreadable (missing, a directory, no permission): a user error naming the
// path and the reason (strerror).
std::string read_file(const std::string& path);

// Replaces `path` with `bytes` atomically (temp file + fsync + rename). A missing parent
// directory or any write failure is a user error naming it; the temp file is removed on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace cudistill
