// json.h: a small JSON value, parser and writer for configs, metrics.json and safetensors headers.
// A Json is a tree of plain values (null, bool, number, string, array, object); objects keep
// their keys in insertion order so that written files read in a sensible order and diff well.
// Numbers keep an exact int64 next to the double when the text was integral, so parameter counts
// and byte offsets above 2^53 survive a round trip.
// Not here: streaming/SAX parsing, comments or trailing commas (JSON5), NaN/Infinity literals,
// schema validation. Parse errors and type mismatches are user errors (bad input file).
// Tested in tests/ops/test_io.cpp (-tc="json*").
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cudistill {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;  // insertion order, unique keys

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double d) : type_(Type::Number), num_(d) {}
  // Any integer type: exact while it fits int64 (a larger uint64 keeps only its double value).
  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Json(T v) : type_(Type::Number), num_(double(v)) {
    if (std::is_signed_v<T> || uint64_t(v) <= uint64_t(INT64_MAX)) {
      is_int_ = true;
      int_ = int64_t(v);
    }
  }
  Json(const char* s) : type_(Type::String), str_(s) {}
  Json(std::string s) : type_(Type::String), str_(std::move(s)) {}
  static Json array(Array items = {});
  static Json object();

  // Parses a whole document (surrounding whitespace allowed). `source` (a file name) prefixes
  // error messages, which give the byte offset and what was expected there.
  static Json parse(const std::string& text, const std::string& source = "JSON");
  // indent < 0: compact, one line; indent >= 0: one item per line, `indent` spaces per level.
  std::string dump(int indent = -1) const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_int() const { return type_ == Type::Number && is_int_; }  // integral, exact in int64
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed reads: a mismatch throws a user error naming this value's path and its actual type.
  bool as_bool() const;
  double as_double() const;
  int64_t as_int() const;  // also accepts a double with an integral value inside int64
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Arrays and objects.
  size_t size() const;                             // elements or keys; an error for scalars
  const Json& at(size_t i) const;                  // bounds-checked
  const Json& at(const std::string& key) const;    // a missing key is an error naming it
  const Json* find(const std::string& key) const;  // nullptr when missing
  bool contains(const std::string& key) const { return find(key) != nullptr; }
  Json& operator[](const std::string& key);        // inserts null if missing; null becomes {}
  Json& push_back(Json v);                         // null becomes []; returns the new element

  // Structural equality (numbers compare by value; object key order matters).
  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

  // Where the parser found this value, jq style (`.models.master.arch`, `.tensors[3]`; empty at
  // the top and for values built in code). Only used in error messages.
  const std::string& path() const { return path_; }

 private:
  friend class JsonParser;
  const char* type_name() const;
  std::string where() const;
  [[noreturn]] void type_error(const char* expected) const;
  void dump_to(std::string& out, int indent, int depth) const;

  Type type_ = Type::Null;
  bool bool_ = false;
  bool is_int_ = false;
  int64_t int_ = 0;
  double num_ = 0.0;
  std::string str_;
  Array arr_;
  Object obj_;
  std::string path_;
};

// The JSON spelling of a string, quotes included ("a\"b\n" -> "\"a\\\"b\\n\"").
std::string json_quote(const std::string& s);

}  // namespace cudistill
