// test_io.cpp: the I/O basics in engine/io: JSON (round trips, escapes, every parse error
// naming its byte offset), SHA-256 (the FIPS 180-4 vectors), whole-file read and atomic write,
// and safetensors (round trips, F16/BF16/I64 files written byte by byte here, and corrupt
// files, which must throw a user error naming the file and never crash; run under ASan too).
// Not here: interoperability with Python's safetensors, which was checked by hand.
// Run: ./build-g/tests/test_ops -tc="io*,json*,sha256*,safetensors*"
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "engine/io/file.h"
#include "engine/io/json.h"
#include "engine/io/safetensors.h"
#include "engine/io/sha256.h"
#include "expect_error.h"
#include "tempdir.h"

using namespace cudistill;

namespace {

using test::TempDir;

using test::user_error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A safetensors file from its parts: the 8-byte little-endian length, the header, the data.
std::string st_bytes(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string le16s(std::initializer_list<uint16_t> v) {
  std::string s;
  for (uint16_t x : v) s += char(x & 0xFF), s += char(x >> 8);
  return s;
}

std::string le64s(std::initializer_list<int64_t> v) {
  std::string s;
  for (int64_t x : v)
    for (int i = 0; i < 8; ++i) s += char((uint64_t(x) >> (8 * i)) & 0xFF);
  return s;
}

}  // namespace

TEST_SUITE("ops") {

// ---------------------------------------------------------------------------------------------
TEST_CASE("json: compact and pretty output, insertion order kept, round trip") {
  Json j;
  j["zeta"] = 1;
  j["alpha"] = Json::array({true, nullptr, "x", 2.5});
  j["empty_obj"] = Json::object();
  j["empty_arr"] = Json::array();
  j["nested"]["k"] = "v";
  CHECK(j.dump() == R"({"zeta":1,"alpha":[true,null,"x",2.5],"empty_obj":{},"empty_arr":[],"nested":{"k":"v"}})");
  CHECK(j.dump(2) ==
        "{\n  \"zeta\": 1,\n  \"alpha\": [\n    true,\n    null,\n    \"x\",\n    2.5\n  ],\n"
        "  \"empty_obj\": {},\n  \"empty_arr\": [],\n  \"nested\": {\n    \"k\": \"v\"\n  }\n}");
  CHECK(Json::parse(j.dump()) == j);
  CHECK(Json::parse(j.dump(4)) == j);
  CHECK(Json::parse(j.dump()).as_object()[0].first == "zeta");  // order, not sorted
  CHECK(Json::parse(" \t\r\n[ ] \n").size() == 0);
}

TEST_CASE("json: numbers round-trip: integers exactly, doubles bit for bit") {
  for (int64_t i : {int64_t(0), int64_t(-1), INT64_MAX, INT64_MIN, (int64_t(1) << 53) + 1}) {
    const Json back = Json::parse(Json(i).dump());
    CHECK(back.is_int());
    CHECK(back.as_int() == i);
  }
  CHECK(Json(INT64_MAX).dump() == "9223372036854775807");
  for (double d : {0.1, -2.5e-310, 1e300, 1.0 / 3.0, 123456789.125, 2.0, -0.0, 5e-324, 1.7976931348623157e308}) {
    const std::string s = Json(d).dump();
    const Json back = Json::parse(s);
    CHECK_MESSAGE(!back.is_int(), s);  // a double stays a double ("2.0", not "2")
    const double b = back.as_double();
    CHECK_MESSAGE(std::signbit(b) == std::signbit(d), s);
    CHECK_MESSAGE(b == d, s);
  }
  CHECK(Json(0.1).dump() == "0.1");  // the shortest form that round-trips
  CHECK(Json(2.0).dump() == "2.0");
  CHECK(Json::parse("1e2").as_double() == 100.0);
  CHECK(Json::parse("1e2").as_int() == 100);  // integral doubles are accepted as integers
  CHECK(Json::parse("-0").as_int() == 0);
  CHECK(Json::parse("123456789012345678901234567890").as_double() == doctest::Approx(1.2345678901234568e29));
  CHECK_THROWS_AS(Json(std::nan("")).dump(), Error);  // JSON has no NaN: refuse, never write null
}

TEST_CASE("json: strings: escapes, \\u, surrogate pairs, UTF-8") {
  CHECK(Json::parse(R"("a\"b\\c\/d\b\f\n\r\t")").as_string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(Json::parse(R"("\u00e9\u20AC")").as_string() == "\xC3\xA9\xE2\x82\xAC");  // é €
  CHECK(Json::parse(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");     // U+1F600
  CHECK(Json::parse("\"\xC3\xA9 raw UTF-8 \xF0\x9F\x98\x80\"").as_string() == "\xC3\xA9 raw UTF-8 \xF0\x9F\x98\x80");
  CHECK(Json::parse(R"("\u0000")").as_string() == std::string(1, '\0'));
  const std::string tricky = std::string("q\"b\\n\n t\t c\x01 nul") + '\0' + "\x7F \xC3\xA9";
  CHECK(Json(tricky).dump() == "\"q\\\"b\\\\n\\n t\\t c\\u0001 nul\\u0000\x7F \xC3\xA9\"");
  CHECK(Json::parse(Json(tricky).dump()).as_string() == tricky);
}

TEST_CASE("json: parse errors are user errors naming the byte offset and what was expected") {
  struct Bad { const char* text; size_t offset; const char* expected; };
  const Bad cases[] = {
      {"", 0, "a value"},
      {"{\"a\" 1}", 5, "':' after an object key"},
      {"{\"a\":1,}", 7, "a string key"},
      {"[1 2]", 3, "',' or ']'"},
      {"{\"a\":1", 6, "',' or '}'"},
      {"[1,]", 3, "a value"},
      {"tru", 0, "a value"},
      {"01", 1, "the end of the document"},
      {"1.", 2, "a digit after the decimal point"},
      {"-", 1, "a digit"},
      {"1e+", 3, "a digit in the exponent"},
      {"1e999", 0, "within the range of a double"},
      {"\"abc", 4, "a closing '\"'"},
      {"\"a\nb\"", 2, "raw control character"},
      {"\"\\x\"", 2, "an escape"},
      {"\"\\u12G4\"", 5, "4 hex digits"},
      {"\"\\ud83d\"", 7, "low surrogate"},
      {"\"\\ud83d\\u0041\"", 7, "low surrogate"},
      {"\"\\ude00\"", 1, "high surrogate"},
      {"\"\xC3\"", 1, "valid UTF-8"},
      {"\"\xC0\xAF\"", 1, "valid UTF-8"},          // overlong '/'
      {"\"\xED\xA0\x80\"", 1, "valid UTF-8"},      // an encoded surrogate
      {"{\"k\":1,\"k\":2}", 7, "duplicate key \"k\""},
      {"NaN", 0, "a value"},
      {"[1] x", 4, "the end of the document"},
  };
  for (const Bad& b : cases) {
    const std::string msg = user_error_of([&] { Json::parse(b.text, "cfg.json"); });
    CHECK_MESSAGE(contains(msg, "cfg.json: invalid JSON at byte " + std::to_string(b.offset) + ":"), std::string(b.text), " -> ", msg);
    CHECK_MESSAGE(contains(msg, b.expected), std::string(b.text), " -> ", msg);
  }
  // Deep nesting is refused before it can overflow the stack.
  CHECK(contains(user_error_of([] { Json::parse(std::string(100000, '[')); }), "levels of nesting"));
  CHECK(Json::parse(std::string(200, '[') + std::string(200, ']')).is_array());
}

TEST_CASE("json: typed accessors name the key path and the actual type") {
  const Json j = Json::parse(R"({"lr": "0.1", "model": {"layers": [1, 2.5], "layer1.0.w": null}})");
  std::string msg = user_error_of([&] { j.at("lr").as_double(); });
  CHECK(msg == "JSON value at .lr is a string, expected a number");
  msg = user_error_of([&] { j.at("model").at("layers").at(1).as_int(); });
  CHECK(msg == "JSON value at .model.layers[1] is 2.5, expected an integer");
  msg = user_error_of([&] { j.at("model").at("layer1.0.w").as_string(); });
  CHECK(msg == "JSON value at .model[\"layer1.0.w\"] is null, expected a string");
  msg = user_error_of([&] { j.at("model").at("epochs"); });
  CHECK(msg == "JSON object at .model has no key \"epochs\"");
  CHECK(contains(user_error_of([&] { j.at("model").at("layers").at(2); }), "index 2 is out of range"));
  CHECK(contains(user_error_of([&] { j.at(0); }), "is an object, expected an array"));
  CHECK(user_error_of([&] { j.as_bool(); }) == "JSON value is an object, expected a boolean");
  CHECK(j.find("nope") == nullptr);
  CHECK(j.contains("lr"));
  CHECK(j.at("model").at("layers").at(0).as_int() == 1);
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("sha256: FIPS 180-4 test vectors, streamed in uneven pieces") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string v448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(v448) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1000000, 'a');
  const char* want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  CHECK(sha256_hex(million) == want);
  Sha256 h;  // block boundaries fall in every position of the buffer
  for (size_t done = 0, step = 1; done < million.size(); done += step, step = step % 131 + 1)
    h.update(million.data() + done, std::min(step, million.size() - done));
  CHECK(h.final_hex() == want);
  CHECK_THROWS_AS(h.update("x"), Error);  // spent after final()

  TempDir dir;
  write_file_atomic(dir.file("abc.txt"), "abc");
  CHECK(sha256_file(dir.file("abc.txt")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(contains(user_error_of([&] { sha256_file(dir.file("missing")); }), dir.file("missing")));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("io: read_file and write_file_atomic") {
  TempDir dir;
  const std::string p = dir.file("a.bin");
  const std::string bytes = std::string("binary\0data\n", 12) + std::string(200000, 'z');
  write_file_atomic(p, bytes);
  CHECK(read_file(p) == bytes);
  write_file_atomic(p, "short");  // replaces, never appends
  CHECK(read_file(p) == "short");
  write_file_atomic(p, "");
  CHECK(read_file(p).empty());
  // No temp file is left behind.
  const auto files = std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator());
  CHECK(files == 1);

  std::string msg = user_error_of([&] { read_file(dir.file("missing.bin")); });
  CHECK(contains(msg, dir.file("missing.bin")));
  CHECK(contains(msg, "No such file or directory"));
  msg = user_error_of([&] { read_file(dir.path); });
  CHECK(contains(msg, "is a directory"));
  msg = user_error_of([&] { write_file_atomic(dir.file("no/such/dir/x.json"), "{}"); });
  CHECK(contains(msg, "the directory " + dir.file("no/such/dir") + " does not exist"));
  // The target is a directory: rename fails, and the temp file is cleaned up.
  std::filesystem::create_directory(dir.file("sub"));
  msg = user_error_of([&] { write_file_atomic(dir.file("sub"), "x"); });
  CHECK(contains(msg, dir.file("sub")));
  CHECK(!std::filesystem::exists(dir.file("sub") + ".tmp." + std::to_string(getpid())));
}

// ---------------------------------------------------------------------------------------------
TEST_CASE("safetensors: F32/F64/I32 round trip with metadata, 0-d and empty tensors, views") {
  TempDir dir;
  const std::string p = dir.file("m.safetensors");
  const Tensor w = Tensor::from_vector({1, -2, 3.5, 4, 5, 6}, {2, 3});
  const Tensor wt = w.transpose(0, 1);  // a non-contiguous view: written as its contiguous copy
  const Tensor d = Tensor::from_vector({0.1, 1e-300, -7}, {3}, DType::F64);
  const Tensor labels = Tensor::from_vector({0, -1, 2147483647}, {3}, DType::I32);
  const Tensor scalar = Tensor::from_vector({42.5}, {});
  const Tensor empty = Tensor::zeros({2, 0, 3});
  const std::map<std::string, std::string> meta = {{"arch", "resnet18"}, {"mean", "[0.485, 0.456, 0.406]"},
                                                   {"note", "quote \" and é"}};
  write_safetensors(p, {{"z.weight", w}, {"a.t", wt}, {"d", d}, {"labels", labels}, {"s", scalar}, {"e", empty}}, meta);

  const std::string raw = read_file(p);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(raw[size_t(i)]);
  CHECK(n % 8 == 0);  // padded with spaces, so the data starts 8-byte aligned
  CHECK(raw.compare(8, 17, "{\"__metadata__\":{") == 0);
  CHECK(raw.size() == 8 + n + 4 * 6 + 4 * 6 + 8 * 3 + 4 * 3 + 4);

  const SafetensorsFile f = read_safetensors(p);
  CHECK(f.order == std::vector<std::string>{"z.weight", "a.t", "d", "labels", "s", "e"});
  CHECK(f.metadata == meta);
  CHECK(f.tensors.at("z.weight").shape() == Shape{2, 3});
  CHECK(f.tensors.at("z.weight").to_vector() == w.to_vector());
  CHECK(f.tensors.at("a.t").shape() == Shape{3, 2});
  CHECK(f.tensors.at("a.t").to_vector() == std::vector<double>{1, 4, -2, 5, 3.5, 6});
  CHECK(f.tensors.at("d").dtype() == DType::F64);
  CHECK(f.tensors.at("d").to_vector() == d.to_vector());
  CHECK(f.tensors.at("labels").dtype() == DType::I32);
  CHECK(f.tensors.at("labels").to_vector() == labels.to_vector());
  CHECK(f.tensors.at("s").shape().empty());
  CHECK(f.tensors.at("s").item() == 42.5);
  CHECK(f.tensors.at("e").shape() == Shape{2, 0, 3});
  CHECK(f.source_dtype.at("labels") == "I32");

  // No metadata: the key is left out entirely; no tensors at all is a valid file too.
  write_safetensors(p, {{"x", scalar}});
  CHECK(read_file(p).find("__metadata__") == std::string::npos);
  CHECK(read_safetensors(p).metadata.empty());
  write_safetensors(p, {});
  CHECK(read_safetensors(p).tensors.empty());
  CHECK_THROWS_AS(write_safetensors(p, {{"x", w}, {"x", w}}), Error);  // duplicate names
  CHECK_THROWS_AS(write_safetensors(p, {{"x", Tensor::zeros({2}, DType::F16)}}), Error);
}

TEST_CASE("safetensors: F16, BF16 and I64 written byte by byte are converted exactly") {
  TempDir dir;
  const std::string p = dir.file("conv.safetensors");
  // F16: 1, -2, 65504 (largest), 2^-24 (smallest subnormal), -0, inf.
  // BF16: 1, -0.5, 3.140625 (0x4049). I64: -5, INT32_MAX, INT32_MIN. Deliberately out of
  // offset order in the header, to check that `order` follows the data.
  const std::string data = le16s({0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00}) + le16s({0x3F80, 0xBF00, 0x4049}) +
                           le64s({-5, 2147483647, -2147483648LL});
  const std::string header =
      R"({"idx":{"dtype":"I64","shape":[3],"data_offsets":[18,42]},)"
      R"("h":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},"__metadata__":{"source":"hand"}})";
  write_file_atomic(p, st_bytes(header, data));
  const SafetensorsFile f = read_safetensors(p);
  CHECK(f.order == std::vector<std::string>{"h", "b", "idx"});
  const Tensor& h = f.tensors.at("h");
  CHECK(h.dtype() == DType::F32);
  CHECK(h.shape() == Shape{2, 3});
  const std::vector<double> hv = h.to_vector();
  CHECK(hv[0] == 1.0);
  CHECK(hv[1] == -2.0);
  CHECK(hv[2] == 65504.0);
  CHECK(hv[3] == std::ldexp(1.0, -24));
  CHECK((hv[4] == 0.0 && std::signbit(hv[4])));
  CHECK(std::isinf(hv[5]));
  CHECK(f.tensors.at("b").to_vector() == std::vector<double>{1.0, -0.5, 3.140625});
  CHECK(f.tensors.at("idx").dtype() == DType::I32);
  CHECK(f.tensors.at("idx").to_vector() == std::vector<double>{-5, 2147483647, -2147483648.0});
  CHECK(f.source_dtype.at("h") == "F16");
  CHECK(f.source_dtype.at("b") == "BF16");
  CHECK(f.source_dtype.at("idx") == "I64");
  CHECK(f.metadata.at("source") == "hand");

  write_file_atomic(p, st_bytes(R"({"big":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", le64s({1, 1LL << 31})));
  const std::string msg = user_error_of([&] { read_safetensors(p); });
  CHECK(contains(msg, p));
  CHECK(contains(msg, "tensor \"big\": element 1 = 2147483648 does not fit int32"));
}

TEST_CASE("safetensors: corrupt files are user errors naming the file and the tensor") {
  TempDir dir;
  const std::string p = dir.file("bad.safetensors");
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data8(8, '\0');
  struct Bad { const char* what; std::string bytes; const char* expected; };
  const std::vector<Bad> cases = {
      {"empty file", "", "too short for the 8-byte header length"},
      {"7 bytes", std::string(7, '\0'), "too short"},
      {"header length too large", st_bytes("{}", "").substr(0, 9), "larger than the rest of the file"},
      {"huge header length", std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8) + "{}", "larger than the rest"},
      {"header not JSON", st_bytes("{\"w\":", data8), "the JSON header: invalid JSON at byte 5"},
      {"header not an object", st_bytes("[1,2]", ""), "expected an object"},
      {"unknown dtype", st_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab"),
       "tensor \"w\": dtype \"F8_E4M3\" is not supported"},
      {"missing dtype", st_bytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", data8), "JSON object at .w has no key \"dtype\""},
      {"shape not an array", st_bytes(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", data8),
       ".w.shape is a number, expected an array"},
      {"negative dim", st_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8),
       "tensor \"w\": negative dimension -2"},
      {"one offset", st_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", data8), "[begin, end]"},
      {"begin > end", st_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data8),
       "0 <= begin <= end"},
      {"past the end (truncated data)", st_bytes("{" + ok_entry + "}", "1234"), "run past the end of the data (4 bytes)"},
      {"size mismatch", st_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8),
       "hold 8 bytes, but shape (3,) of F32 needs 12 bytes"},
      {"shape overflows", st_bytes(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", data8),
       "needs more bytes"},
      {"overlap", st_bytes("{" + ok_entry + R"(,"v":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}})", data8),
       "tensors \"w\" [0, 8] and \"v\" [4, 8] overlap"},
      {"metadata not strings", st_bytes(R"({"__metadata__":{"epochs":3}})", ""), ".__metadata__.epochs is a number"},
  };
  for (const Bad& b : cases) {
    write_file_atomic(p, b.bytes);
    const std::string msg = user_error_of([&] { read_safetensors(p); });
    CHECK_MESSAGE(contains(msg, p + ": "), std::string(b.what), " -> ", msg);
    CHECK_MESSAGE(contains(msg, b.expected), std::string(b.what), " -> ", msg);
  }
  CHECK(contains(user_error_of([&] { read_safetensors(dir.file("missing")); }), "No such file"));

  // Every truncation and a sweep of byte corruptions of a valid file: a user error or a clean
  // read, never a crash (these matter most under ASan).
  write_safetensors(p, {{"a", Tensor::from_vector({1, 2, 3}, {3})}, {"b", Tensor::from_vector({4, 5}, {2}, DType::F64)}},
                    {{"k", "v"}});
  const std::string good = read_file(p);
  const std::string q = dir.file("mutant.safetensors");
  for (size_t len = 0; len < good.size(); ++len) {
    write_file_atomic(q, good.substr(0, len));
    CHECK_MESSAGE(contains(user_error_of([&] { read_safetensors(q); }), q), "truncated to ", len);
  }
  for (size_t i = 0; i < good.size(); ++i)
    for (const char c : {'\0', '9', '"', '\xff', '-', ' ', '['}) {
      std::string m = good;
      m[i] = c;
      write_file_atomic(q, m);
      try {
        read_safetensors(q);
      } catch (const Error& e) {
        CHECK_MESSAGE(e.user_error(), "byte ", i, " = ", int(c), ": ", e.what());
      }
    }
}

}  // TEST_SUITE
