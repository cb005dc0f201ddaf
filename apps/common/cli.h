// cli.h: the command-line conventions every app of cudistill shares:
//  - flags are `--name value` or `--name=value` (booleans: `--name`), each declared with a
//    default and a one-line help, so `--help` is generated and always complete;
//  - an unknown flag, a missing value or a bad number is a user error;
//  - run_main() maps errors to the exit codes of docs/DESIGN.md: 0 success, 2 user error (bad flag,
//    path or file, printed as one line), 1 anything else.
// Not a general argument library: no positional arguments, no short options.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cudistill::cli {

class Flags {
 public:
  Flags(std::string program, std::string summary);
  Flags& add(const std::string& name, const std::string& default_value, const std::string& help);
  Flags& add_bool(const std::string& name, const std::string& help);
  // Parses argv; prints the help and returns false on --help. Throws a user Error otherwise.
  bool parse(int argc, char** argv);

  std::string str(const std::string& name) const;
  int integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool flag(const std::string& name) const;
  bool given(const std::string& name) const;  // set on the command line (not the default)
  std::string help() const;
  // Every flag with its value, for config.json.
  std::vector<std::pair<std::string, std::string>> values() const;

 private:
  struct Flag {
    std::string value, help;
    bool is_bool = false, given = false;
  };
  const Flag& get(const std::string& name) const;
  std::string program_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
};

// Runs body(), printing errors as `<program>: error: <message>` and returning the exit code.
int run_main(const std::string& program, const std::function<int()>& body);

}  // namespace cudistill::cli
