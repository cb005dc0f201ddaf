// safetensors.cpp: reader and writer for engine/io/safetensors.h.
// The reader trusts nothing in the file: the header length is checked against the file size,
// every entry's dtype, shape and offsets are validated (in range, not overlapping, exactly
// shape x dtype bytes) before anything is allocated, and tensors are read straight from the
// file into their storage, so memory use is one copy of the weights.
// Tested in tests/ops/test_io.cpp (-tc="safetensors*").
#include "engine/io/float16.h"
#include "engine/io/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "engine/io/file.h"
#include "engine/io/json.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied as-is: big-endian hosts need byte swaps");

namespace cudistill {

namespace {

// The reference implementation refuses headers over 100 MB; so do we, before allocating one.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct StDtype {
  const char* name;  // as the format spells it
  size_t bytes;      // per element, in the file
  DType to;          // what the engine keeps
};
constexpr StDtype kDtypes[] = {{"F32", 4, DType::F32}, {"F64", 8, DType::F64}, {"I32", 4, DType::I32},
                               {"I64", 8, DType::I32}, {"F16", 2, DType::F32}, {"BF16", 2, DType::F32}};

const StDtype* find_dtype(const std::string& name) {
  for (const StDtype& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}


struct Entry {
  std::string name;
  const StDtype* dtype;
  Shape shape;
  uint64_t begin, end;  // relative to the start of the data section
};

std::string range_str(const Entry& e) {
  return "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
}

// One header entry, checked against the size of the data section. Errors name the tensor;
// the caller adds the file.
Entry parse_entry(const std::string& name, const Json& j, uint64_t data_bytes) {
  const std::string who = "tensor " + json_quote(name) + ": ";
  Entry e{name, nullptr, {}, 0, 0};
  const std::string& dt = j.at("dtype").as_string();
  e.dtype = find_dtype(dt);
  USER_CHECK(e.dtype, who, "dtype ", json_quote(dt), " is not supported (supported: F32, F64, I32, I64, F16, BF16)");

  // Element count, capped by what the data section could hold, so that it cannot overflow.
  uint64_t numel = 1;
  for (const Json& d : j.at("shape").as_array()) {
    const int64_t n = d.as_int();
    USER_CHECK(n >= 0, who, "negative dimension ", n, " in shape ", j.at("shape").dump());
    e.shape.push_back(n);
    if (numel != 0 && n != 0 && uint64_t(n) > data_bytes / numel)
      numel = std::numeric_limits<uint64_t>::max();  // more than the file holds: caught below
    else
      numel *= uint64_t(n);
  }
  const Json& offs = j.at("data_offsets");
  USER_CHECK(offs.size() == 2, who, "data_offsets must be [begin, end], got ", offs.dump());
  const int64_t b = offs.at(0).as_int(), en = offs.at(1).as_int();
  USER_CHECK(b >= 0 && b <= en, who, "data_offsets ", offs.dump(), " must satisfy 0 <= begin <= end");
  e.begin = uint64_t(b), e.end = uint64_t(en);
  USER_CHECK(e.end <= data_bytes, who, "data_offsets ", range_str(e), " run past the end of the data (",
             data_bytes, " bytes): the file is truncated or the header is wrong");
  USER_CHECK(numel <= data_bytes && numel * e.dtype->bytes == e.end - e.begin, who, "data_offsets ",
             range_str(e), " hold ", e.end - e.begin, " bytes, but shape ", shape_str(e.shape), " of ",
             e.dtype->name, " needs ", numel <= data_bytes ? std::to_string(numel * e.dtype->bytes) : "more",
             " bytes");
  return e;
}

// Reads one entry's bytes (already validated against the file size) into a new CPU tensor.
Tensor read_tensor(FILE* f, uint64_t data_start, const Entry& e) {
  Tensor t = Tensor::empty(e.shape, e.dtype->to);
  const size_t n = size_t(e.end - e.begin);
  const size_t count = n / e.dtype->bytes;
  // Same layout in the file and in memory: read straight into the storage.
  const bool direct = dtype_size(e.dtype->to) == e.dtype->bytes;
  std::vector<uint8_t> staging(direct ? 0 : n);
  uint8_t* dst = direct ? static_cast<uint8_t*>(t.raw_data()) : staging.data();
  USER_CHECK(n == 0 || (fseeko(f, off_t(data_start + e.begin), SEEK_SET) == 0 && std::fread(dst, 1, n, f) == n),
             "tensor ", json_quote(e.name), ": cannot read its ", n, " bytes (the file is truncated or changed)");
  if (direct) return t;
  const std::string kind = e.dtype->name;
  if (kind == "I64") {
    int32_t* out = t.data<int32_t>();
    for (size_t i = 0; i < count; ++i) {
      int64_t v;
      std::memcpy(&v, dst + 8 * i, 8);
      USER_CHECK(v >= INT32_MIN && v <= INT32_MAX, "tensor ", json_quote(e.name), ": element ", i, " = ", v,
                 " does not fit int32, the engine's integer type");
      out[i] = int32_t(v);
    }
  } else {  // F16 or BF16
    float* out = t.data<float>();
    for (size_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, dst + 2 * i, 2);
      out[i] = kind == "F16" ? half_to_float(h) : bf16_to_float(h);
    }
  }
  return t;
}

SafetensorsFile read_impl(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  USER_CHECK(f, "cannot open: ", std::strerror(errno));
  struct stat st;
  USER_CHECK(::fstat(fileno(f.get()), &st) == 0 && S_ISREG(st.st_mode), "not a regular file");
  const uint64_t file_bytes = uint64_t(st.st_size);
  uint8_t len_bytes[8];
  USER_CHECK(file_bytes >= 8 && std::fread(len_bytes, 1, 8, f.get()) == 8, "truncated: ", file_bytes,
             " bytes, too short for the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  USER_CHECK(header_len <= file_bytes - 8, "the header length ", header_len, " is larger than the rest of the file (",
             file_bytes - 8, " bytes): truncated, or not a safetensors file");
  USER_CHECK(header_len <= kMaxHeaderBytes, "the header length ", header_len, " exceeds the ", kMaxHeaderBytes,
             "-byte limit: not a safetensors file?");
  std::string text(size_t(header_len), '\0');
  USER_CHECK(std::fread(&text[0], 1, text.size(), f.get()) == text.size(), "cannot read the header");
  const Json header = Json::parse(text, "the JSON header");
  USER_CHECK(header.is_object(), "the JSON header is ", header.dump().substr(0, 40), "..., expected an object");

  const uint64_t data_start = 8 + header_len, data_bytes = file_bytes - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.as_object()) {
    if (name == "__metadata__") {
      for (const auto& [k, v] : value.as_object()) out.metadata[k] = v.as_string();
      continue;
    }
    entries.push_back(parse_entry(name, value, data_bytes));
  }
  // File order; a zero-byte tensor can sit anywhere, but two non-empty ranges must not share bytes.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    if (e.begin == e.end) continue;
    USER_CHECK(!prev || e.begin >= prev->end, "tensors ", json_quote(prev->name), " ", range_str(*prev), " and ",
               json_quote(e.name), " ", range_str(e), " overlap");
    prev = &e;
  }
  for (const Entry& e : entries) {
    out.order.push_back(e.name);
    out.source_dtype[e.name] = e.dtype->name;
    out.tensors[e.name] = read_tensor(f.get(), data_start, e);
  }
  return out;
}

const char* st_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    default: return nullptr;
  }
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  try {
    return read_impl(path);
  } catch (const Error& e) {  // one place adds the file name to every message
    throw Error(path + ": " + e.what(), e.user_error());
  }
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json& meta = header["__metadata__"];
    meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
  }
  std::vector<Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t0] : tensors) {
    ENGINE_CHECK(!name.empty() && name != "__metadata__", "write_safetensors: invalid tensor name ", json_quote(name));
    ENGINE_CHECK(!header.contains(name), "write_safetensors: duplicate tensor name ", json_quote(name));
    ENGINE_CHECK(t0.defined(), "write_safetensors: tensor ", json_quote(name), " is undefined");
    ENGINE_CHECK(t0.is_cpu(), "write_safetensors: tensor ", json_quote(name),
                 " is on CUDA; move it to the CPU first (.to(Device::CPU))");
    const char* dt = st_name(t0.dtype());
    ENGINE_CHECK(dt, "write_safetensors: tensor ", json_quote(name), " has dtype ", dtype_name(t0.dtype()),
                 "; only float32, float64 and int32 are written");
    const Tensor t = t0.detach().contiguous();
    const uint64_t bytes = uint64_t(t.numel()) * dtype_size(t.dtype());
    Json& e = header[name];
    e["dtype"] = dt;
    e["shape"] = Json::array();
    for (int64_t d : t.shape()) e["shape"].push_back(d);
    e["data_offsets"] = Json::array({Json(offset), Json(offset + bytes)});
    offset += bytes;
    data.push_back(t);
  }
  // Pad with spaces to a multiple of 8 (as the reference writer does), so the data is aligned.
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string bytes;
  bytes.reserve(8 + text.size() + size_t(offset));
  for (int i = 0; i < 8; ++i) bytes += char(uint64_t(text.size()) >> (8 * i) & 0xFF);
  bytes += text;
  for (const Tensor& t : data)
    if (t.numel() > 0)  // an empty tensor may have no storage pointer at all
      bytes.append(static_cast<const char*>(t.raw_data()), size_t(t.numel()) * dtype_size(t.dtype()));
  write_file_atomic(path, bytes);
}

}  // namespace cudistill
