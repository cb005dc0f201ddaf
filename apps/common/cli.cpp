// cli.cpp: flag parsing and the exit-code policy (see cli.h).
#include "apps/common/cli.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "engine/error.h"

namespace cudistill::cli {

Flags::Flags(std::string program, std::string summary) : program_(std::move(program)), summary_(std::move(summary)) {}

Flags& Flags::add(const std::string& name, const std::string& def, const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{def, help, false, false};
  return *this;
}

Flags& Flags::add_bool(const std::string& name, const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{"false", help, true, false};
  return *this;
}

bool Flags::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("%s", help().c_str());
      return false;
    }
    USER_CHECK(a.rfind("--", 0) == 0, program_, ": unexpected argument '", a, "' (flags start with --; see --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool has_eq = eq != std::string::npos;
    if (has_eq) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = flags_.find(name);
    USER_CHECK(it != flags_.end(), program_, ": unknown flag --", name, " (see --help)");
    Flag& f = it->second;
    if (f.is_bool) {
      f.value = has_eq ? value : "true";
      USER_CHECK(f.value == "true" || f.value == "false", program_, ": --", name, " takes true or false");
    } else if (has_eq) {
      f.value = value;
    } else {
      USER_CHECK(i + 1 < argc, program_, ": --", name, " needs a value (see --help)");
      f.value = argv[++i];
    }
    f.given = true;
  }
  return true;
}

const Flags::Flag& Flags::get(const std::string& name) const {
  auto it = flags_.find(name);
  ENGINE_CHECK(it != flags_.end(), "flag --", name, " was never declared");
  return it->second;
}

std::string Flags::str(const std::string& name) const { return get(name).value; }
bool Flags::flag(const std::string& name) const { return get(name).value == "true"; }
bool Flags::given(const std::string& name) const { return get(name).given; }

int Flags::integer(const std::string& name) const {
  const std::string& v = get(name).value;
  char* end = nullptr;
  long x = std::strtol(v.c_str(), &end, 10);
  USER_CHECK(!v.empty() && *end == '\0', program_, ": --", name, " must be a whole number, got '", v, "'");
  return int(x);
}

double Flags::number(const std::string& name) const {
  const std::string& v = get(name).value;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  USER_CHECK(!v.empty() && *end == '\0', program_, ": --", name, " must be a number, got '", v, "'");
  return x;
}

std::string Flags::help() const {
  std::ostringstream os;
  os << "usage: " << program_ << " [flags]\n" << summary_ << "\n\nflags:\n";
  for (const std::string& n : order_) {
    const Flag& f = flags_.at(n);
    os << "  --" << n << (f.is_bool ? "" : " VALUE");
    os << "\n      " << f.help;
    if (!f.is_bool && !f.value.empty()) os << " (default: " << f.value << ")";
    os << "\n";
  }
  return os.str();
}

std::vector<std::pair<std::string, std::string>> Flags::values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& n : order_) out.emplace_back(n, flags_.at(n).value);
  return out;
}

int run_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return e.user_error() ? 2 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return 1;
  }
}

}  // namespace cudistill::cli
