// train/run_dir.cpp: see run_dir.h.
#include "apps/train/run_dir.h"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "engine/io/file.h"

namespace cudistill::train {

RunDir::RunDir(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  USER_CHECK(!ec && std::filesystem::is_directory(path_), "train: cannot create run directory ", path_, ": ",
             ec.message());
}

void RunDir::log(const char* fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fputs(buf, stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (FILE* f = std::fopen(file("log.txt").c_str(), "a")) {
    std::fputs(buf, f);
    std::fputc('\n', f);
    std::fclose(f);
  }
}

Json RunDir::timings() const {
  if (!std::filesystem::exists(file("timings.json"))) return Json::object();
  return Json::parse(read_file(file("timings.json")), file("timings.json"));
}

void RunDir::record_time(const std::string& stage, double seconds) {
  Json t = timings();
  t[stage] = seconds;
  write_json("timings.json", t);
}

void RunDir::write_json(const std::string& name, const Json& j) const {
  write_file_atomic(file(name), j.dump(2) + "\n");
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace cudistill::train
