// json.cpp: a recursive-descent parser (RFC 8259, strict) and a writer for engine/io/json.h.
// The parser validates UTF-8 and \u escapes (surrogate pairs joined, lone halves refused) and
// limits nesting depth, so a corrupt or hostile file gives an error, never a crash.
// Tested in tests/ops/test_io.cpp (-tc="json*").
#include "engine/io/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "engine/error.h"

namespace cudistill {

namespace {

// jq-style path of a child: `.key` for identifier-like keys, `["layer1.0.weight"]` otherwise.
std::string child_path(const std::string& parent, const std::string& key) {
  bool ident = !key.empty() && !(key[0] >= '0' && key[0] <= '9');
  for (char c : key)
    ident = ident && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  return ident ? parent + "." + key : parent + "[" + json_quote(key) + "]";
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parser: one pass over the text, `pos_` is the byte offset reported in errors.
class JsonParser {
 public:
  JsonParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  Json document() {
    Json v = value("", 0);
    skip_ws();
    if (pos_ != s_.size()) fail("the end of the document (found more text after the value)");
    return v;
  }

 private:
  // Deep enough for any real config; shallow enough that recursion cannot overflow the stack.
  static constexpr int kMaxDepth = 256;

  [[noreturn]] void fail(const std::string& expected) const {
    throw Error(source_ + ": invalid JSON at byte " + std::to_string(pos_) + ": expected " + expected, true);
  }
  bool at_end() const { return pos_ >= s_.size(); }
  // '\0' at the end: never a character the grammar expects (a NUL in the text is refused too).
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c, const char* what) {
    skip_ws();
    if (peek() != c) fail(what);
    ++pos_;
  }

  Json value(const std::string& path, int depth) {
    if (depth > kMaxDepth) fail("at most " + std::to_string(kMaxDepth) + " levels of nesting");
    skip_ws();
    Json v;
    if (at_end()) fail("a value (found the end of the text)");
    const char c = s_[pos_];
    if (c == '{') v = object(path, depth);
    else if (c == '[') v = array(path, depth);
    else if (c == '"') v = Json(string());
    else if (c == '-' || (c >= '0' && c <= '9')) v = number();
    else if (literal("true")) v = Json(true);
    else if (literal("false")) v = Json(false);
    else if (literal("null")) v = Json();
    else fail("a value (object, array, string, number, true, false or null)");
    v.path_ = path;
    return v;
  }

  bool literal(const char* word) {
    const std::string w(word);
    if (s_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  Json object(const std::string& path, int depth) {
    ++pos_;  // '{'
    Json obj = Json::object();
    std::set<std::string> seen;  // duplicate keys are ambiguous: refuse them
    skip_ws();
    if (peek() == '}') { ++pos_; return obj; }
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("a string key in double quotes");
      const size_t key_pos = pos_;
      std::string key = string();
      if (!seen.insert(key).second) {
        pos_ = key_pos;
        fail("a new key (duplicate key " + json_quote(key) + ")");
      }
      expect(':', "':' after an object key");
      Json v = value(child_path(path, key), depth + 1);
      obj.obj_.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == '}') { ++pos_; return obj; }
      fail("',' or '}' in an object");
    }
  }

  Json array(const std::string& path, int depth) {
    ++pos_;  // '['
    Json arr = Json::array();
    skip_ws();
    if (peek() == ']') { ++pos_; return arr; }
    for (;;) {
      arr.arr_.push_back(value(path + "[" + std::to_string(arr.arr_.size()) + "]", depth + 1));
      skip_ws();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == ']') { ++pos_; return arr; }
      fail("',' or ']' in an array");
    }
  }

  // The grammar is checked here; strtoll/strtod then convert the validated token.
  Json number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t d = pos_;
      while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') ++pos_;
    else if (digits() == 0) fail("a digit");
    bool integral = true;
    if (peek() == '.') {
      ++pos_, integral = false;
      if (digits() == 0) fail("a digit after the decimal point");
    }
    if ((peek() == 'e' || peek() == 'E')) {
      ++pos_, integral = false;
      if ((peek() == '+' || peek() == '-')) ++pos_;
      if (digits() == 0) fail("a digit in the exponent");
    }
    const std::string tok = s_.substr(start, pos_ - start);
    if (integral) {
      errno = 0;
      const long long i = std::strtoll(tok.c_str(), nullptr, 10);
      if (errno != ERANGE) return Json(int64_t(i));
    }
    const double d = std::strtod(tok.c_str(), nullptr);  // out of range: +-inf, caught below
    if (!std::isfinite(d)) { pos_ = start; fail("a number within the range of a double"); }
    return Json(d);
  }

  uint32_t hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = peek();
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else fail("4 hex digits after \\u");
    }
    return v;
  }

  // One UTF-8 sequence, validated (no overlongs, no surrogates, at most U+10FFFF), copied out.
  void utf8_char(std::string& out) {
    const auto b = [&](size_t i) { return uint8_t(pos_ + i < s_.size() ? s_[pos_ + i] : 0); };
    const uint8_t c = b(0);
    int n = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
    else fail("valid UTF-8 in a string");
    for (int i = 1; i <= n; ++i) {
      if ((b(i) & 0xC0) != 0x80) fail("valid UTF-8 in a string (a continuation byte)");
      cp = (cp << 6) | (b(i) & 0x3F);
    }
    const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      fail("valid UTF-8 in a string (overlong, surrogate or out-of-range sequence)");
    out.append(s_, pos_, size_t(n) + 1);
    pos_ += size_t(n) + 1;
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("a closing '\"' (the string runs to the end of the text)");
      const uint8_t c = uint8_t(s_[pos_]);
      if (c == '"') { ++pos_; return out; }
      if (c < 0x20) fail("an escape (\\n, \\t, \\u00XX) instead of a raw control character");
      if (c >= 0x80) { utf8_char(out); continue; }
      if (c != '\\') { out += char(c); ++pos_; continue; }
      ++pos_;
      const char e = peek();
      ++pos_;
      switch (e) {  // '\0' (the end) falls to default
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) { pos_ -= 6; fail("a high surrogate before a low one (\\uDC00-\\uDFFF alone)"); }
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // UTF-16 pair: the low half must follow
            if (s_.compare(pos_, 2, "\\u") != 0) fail("a \\uDC00-\\uDFFF low surrogate after a high one");
            pos_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) { pos_ -= 6; fail("a \\uDC00-\\uDFFF low surrogate after a high one"); }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: --pos_; fail("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
      }
    }
  }

  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;
};

Json Json::parse(const std::string& text, const std::string& source) {
  return JsonParser(text, source).document();
}

// ---------------------------------------------------------------------------------------------
// Construction and access.
Json Json::array(Array items) {
  Json j;
  j.type_ = Type::Array;
  j.arr_ = std::move(items);
  return j;
}

Json Json::object() {
  Json j;
  j.type_ = Type::Object;
  return j;
}

const char* Json::type_name() const {
  switch (type_) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Number: return "a number";
    case Type::String: return "a string";
    case Type::Array: return "an array";
    case Type::Object: return "an object";
  }
  return "?";
}

std::string Json::where() const { return path_.empty() ? "JSON value" : "JSON value at " + path_; }

void Json::type_error(const char* expected) const {
  throw Error(where() + " is " + type_name() + ", expected " + expected, true);
}

bool Json::as_bool() const {
  if (type_ != Type::Bool) type_error("a boolean");
  return bool_;
}

double Json::as_double() const {
  if (type_ != Type::Number) type_error("a number");
  return num_;
}

int64_t Json::as_int() const {
  if (type_ != Type::Number) type_error("an integer");
  if (is_int_) return int_;
  // 2^63 is exact as a double; the integral doubles below it convert exactly.
  if (num_ == std::floor(num_) && num_ >= -9223372036854775808.0 && num_ < 9223372036854775808.0)
    return int64_t(num_);
  throw Error(where() + " is " + dump() + ", expected an integer", true);
}

const std::string& Json::as_string() const {
  if (type_ != Type::String) type_error("a string");
  return str_;
}

const Json::Array& Json::as_array() const {
  if (type_ != Type::Array) type_error("an array");
  return arr_;
}

const Json::Object& Json::as_object() const {
  if (type_ != Type::Object) type_error("an object");
  return obj_;
}

size_t Json::size() const {
  if (type_ == Type::Array) return arr_.size();
  if (type_ == Type::Object) return obj_.size();
  type_error("an array or an object");
}

const Json& Json::at(size_t i) const {
  const Array& a = as_array();
  if (i >= a.size())
    throw Error(where() + " has " + std::to_string(a.size()) + " elements; index " + std::to_string(i) +
                    " is out of range", true);
  return a[i];
}

const Json* Json::find(const std::string& key) const {
  for (const auto& kv : as_object())
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const Json& Json::at(const std::string& key) const {
  const Json* v = find(key);
  if (!v) throw Error((path_.empty() ? std::string("JSON object") : "JSON object at " + path_) +
                          " has no key " + json_quote(key), true);
  return *v;
}

Json& Json::operator[](const std::string& key) {
  if (type_ == Type::Null) type_ = Type::Object;
  as_object();  // type check
  for (auto& kv : obj_)
    if (kv.first == key) return kv.second;
  obj_.emplace_back(key, Json());
  return obj_.back().second;
}

Json& Json::push_back(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  as_array();  // type check
  arr_.push_back(std::move(v));
  return arr_.back();
}

bool Json::operator==(const Json& o) const {
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return bool_ == o.bool_;
    case Type::Number: return (is_int_ && o.is_int_) ? int_ == o.int_ : num_ == o.num_;
    case Type::String: return str_ == o.str_;
    case Type::Array: return arr_ == o.arr_;
    case Type::Object: return obj_ == o.obj_;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Writer.
std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const uint8_t c = uint8_t(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

namespace {

// %.17g always round-trips a double; shorter forms are tried first so that 0.1 is written "0.1"
// and not "0.10000000000000001". A ".0" keeps an integral double a double when read back.
std::string format_double(double d) {
  char buf[32];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s(buf);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

void Json::dump_to(std::string& out, int indent, int depth) const {
  const auto newline = [&](int d) {
    if (indent < 0) return;
    out += '\n';
    out.append(size_t(indent) * size_t(d), ' ');
  };
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number:
      // JSON has no NaN or Infinity; writing null instead would silently change the data.
      if (is_int_) out += std::to_string(int_);
      else if (std::isfinite(num_)) out += format_double(num_);
      else throw Error(where() + ": cannot write " + std::to_string(num_) + " (JSON has no NaN or infinity)");
      break;
    case Type::String: out += json_quote(str_); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        arr_[i].dump_to(out, indent, depth + 1);
      }
      if (!arr_.empty()) newline(depth);
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < obj_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        out += json_quote(obj_[i].first);
        out += indent < 0 ? ":" : ": ";
        obj_[i].second.dump_to(out, indent, depth + 1);
      }
      if (!obj_.empty()) newline(depth);
      out += '}';
      break;
  }
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

}  // namespace cudistill
