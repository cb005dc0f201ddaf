// pth.cpp: the PyTorch checkpoint reader declared in pth.h: a zip reader (stored entries only),
// a pickle VM restricted to the opcodes and globals that torch.save writes for state dicts, and
// the copy from raw storages into engine tensors.
// Not a general unpickler: anything outside that subset is refused by name, never executed.
// Every length, offset and index read from the file is checked before use, so a truncated or
// corrupt file throws a user error instead of reading out of bounds (the tests truncate and
// flip bytes under AddressSanitizer). Tested in tests/ops/test_pth.cpp.
#include "engine/io/float16.h"
#include "engine/io/pth.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "engine/error.h"

namespace cudistill {
namespace {

// ---------------------------------------------------------------------------------------------
// Element types as torch stores them. The storage-class and dtype globals both name one.
enum class Src : uint8_t { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };

struct SrcInfo {
  const char* name;  // torch's dtype name
  size_t size;       // bytes per element
  DType out;         // what read_pth returns
};

const SrcInfo& info(Src s) {
  static const SrcInfo table[] = {
      {"float32", 4, DType::F32}, {"float64", 8, DType::F64}, {"float16", 2, DType::F32},
      {"bfloat16", 2, DType::F32}, {"int64", 8, DType::I32},  {"int32", 4, DType::I32},
      {"int16", 2, DType::I32},   {"int8", 1, DType::I32},    {"uint8", 1, DType::I32},
      {"bool", 1, DType::I32}};
  return table[static_cast<int>(s)];
}

// "torch.FloatStorage" (and "torch.cuda.FloatStorage", which old files saved from a GPU use)
// or a dtype global such as "torch.float32" -> the element type; false if neither.
bool storage_type_of(const std::string& global, Src* out) {
  static const std::map<std::string, Src> names = {
      {"FloatStorage", Src::F32},   {"float32", Src::F32},   {"float", Src::F32},
      {"DoubleStorage", Src::F64},  {"float64", Src::F64},   {"double", Src::F64},
      {"HalfStorage", Src::F16},    {"float16", Src::F16},   {"half", Src::F16},
      {"BFloat16Storage", Src::BF16}, {"bfloat16", Src::BF16},
      {"LongStorage", Src::I64},    {"int64", Src::I64},     {"long", Src::I64},
      {"IntStorage", Src::I32},     {"int32", Src::I32},     {"int", Src::I32},
      {"ShortStorage", Src::I16},   {"int16", Src::I16},     {"short", Src::I16},
      {"CharStorage", Src::I8},     {"int8", Src::I8},
      {"ByteStorage", Src::U8},     {"uint8", Src::U8},
      {"BoolStorage", Src::Bool},   {"bool", Src::Bool}};
  std::string rest;
  if (global.rfind("torch.cuda.", 0) == 0 && global.size() > 18 &&
      global.compare(global.size() - 7, 7, "Storage") == 0)
    rest = global.substr(11);
  else if (global.rfind("torch.", 0) == 0)
    rest = global.substr(6);
  else
    return false;
  auto it = names.find(rest);
  if (it == names.end()) return false;
  *out = it->second;
  return true;
}

// Little-endian field readers for zip headers and the legacy counts (the file's byte order,
// whatever the host's).
uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | (uint32_t(le16(p + 2)) << 16); }
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

// CRC-32 (zip's polynomial). Verifying it is what turns a flipped bit inside a storage into an
// error instead of a silently wrong weight.
uint32_t crc32(const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}


// ---------------------------------------------------------------------------------------------
// The file, read by offset with every range checked against its size.
class File {
 public:
  explicit File(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    USER_CHECK(in_.good(), path, ": cannot open the file (check the path and permissions)");
    in_.seekg(0, std::ios::end);
    const std::streamoff end = in_.tellg();
    USER_CHECK(end >= 0, path, ": cannot determine the file size");
    size_ = uint64_t(end);
  }
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }

  // Reads [offset, offset + n); `what` names the part, for the message.
  void read(uint64_t offset, void* dst, uint64_t n, const char* what) {
    USER_CHECK(offset <= size_ && n <= size_ - offset, path_, ": truncated or corrupt: ", what,
               " needs bytes [", offset, ", ", offset + n, ") but the file has ", size_);
    if (n == 0) return;
    in_.clear();
    in_.seekg(std::streamoff(offset));
    in_.read(static_cast<char*>(dst), std::streamsize(n));
    USER_CHECK(in_.good(), path_, ": read error at byte ", offset);
  }
  std::vector<uint8_t> read(uint64_t offset, uint64_t n, const char* what) {
    USER_CHECK(offset <= size_ && n <= size_ - offset, path_, ": truncated or corrupt: ", what,
               " needs bytes [", offset, ", ", offset + n, ") but the file has ", size_);
    std::vector<uint8_t> v(static_cast<size_t>(n));
    read(offset, v.data(), n, what);
    return v;
  }

 private:
  std::string path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Zip: just enough for torch's archives. The central directory is the index (local headers can
// carry torch's alignment padding and zip64 sizes); only stored (uncompressed) entries are read.
struct ZipEntry {
  std::string name;
  uint64_t size = 0, comp_size = 0, local_offset = 0;
  uint32_t crc = 0;
  uint16_t method = 0, flags = 0;
};

std::vector<ZipEntry> read_central_directory(File& f) {
  const std::string& path = f.path();
  // End of central directory (EOCD): 22 bytes + a comment of up to 65535, at the very end.
  const uint64_t tail_n = std::min<uint64_t>(f.size(), 22 + 65535);
  const uint64_t tail_at = f.size() - tail_n;
  const std::vector<uint8_t> tail = f.read(tail_at, tail_n, "the zip end record");
  int64_t eocd = -1;
  for (int64_t i = int64_t(tail_n) - 22; i >= 0; --i)
    if (le32(&tail[size_t(i)]) == 0x06054b50u) { eocd = i; break; }
  USER_CHECK(eocd >= 0, path, ": truncated or corrupt zip: no end-of-central-directory record");
  const uint8_t* e = &tail[size_t(eocd)];
  uint64_t count = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    // zip64: a 20-byte locator sits just before the EOCD and points at the zip64 EOCD record.
    const uint64_t eocd_at = tail_at + uint64_t(eocd);
    USER_CHECK(eocd_at >= 20, path, ": corrupt zip64 archive: no zip64 locator");
    uint8_t loc[20];
    f.read(eocd_at - 20, loc, 20, "the zip64 locator");
    USER_CHECK(le32(loc) == 0x07064b50u, path, ": corrupt zip64 archive: bad locator signature");
    uint8_t rec[56];
    f.read(le64(loc + 8), rec, 56, "the zip64 end record");
    USER_CHECK(le32(rec) == 0x06064b50u, path, ": corrupt zip64 archive: bad end-record signature");
    count = le64(rec + 32);
    cd_size = le64(rec + 40);
    cd_offset = le64(rec + 48);
  }
  const std::vector<uint8_t> cd = f.read(cd_offset, cd_size, "the zip central directory");
  std::vector<ZipEntry> entries;
  size_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    USER_CHECK(cd.size() - p >= 46 && le32(&cd[p]) == 0x02014b50u, path,
               ": corrupt zip: central directory entry ", k, " is damaged");
    const uint8_t* h = &cd[p];
    ZipEntry z;
    z.flags = le16(h + 8);
    z.method = le16(h + 10);
    z.crc = le32(h + 16);
    z.comp_size = le32(h + 20);
    z.size = le32(h + 24);
    const size_t name_n = le16(h + 28), extra_n = le16(h + 30), comment_n = le16(h + 32);
    z.local_offset = le32(h + 42);
    USER_CHECK(cd.size() - p - 46 >= name_n + extra_n + comment_n, path,
               ": corrupt zip: central directory entry ", k, " runs past the directory");
    z.name.assign(reinterpret_cast<const char*>(h + 46), name_n);
    // zip64 extra field (id 1): 8-byte values for exactly those fields saturated at 0xFFFFFFFF,
    // in the order size, compressed size, local header offset.
    const uint8_t* x = h + 46 + name_n;
    for (size_t q = 0; q + 4 <= extra_n;) {
      const uint16_t id = le16(x + q), n = le16(x + q + 2);
      USER_CHECK(q + 4 + n <= extra_n, path, ": corrupt zip: bad extra field in '", z.name, "'");
      if (id == 1) {
        const uint8_t* v = x + q + 4;
        size_t used = 0;
        for (uint64_t* field : {&z.size, &z.comp_size, &z.local_offset}) {
          if (*field != 0xFFFFFFFFu) continue;
          USER_CHECK(used + 8 <= n, path, ": corrupt zip: short zip64 field in '", z.name, "'");
          *field = le64(v + used);
          used += 8;
        }
      }
      q += 4 + n;
    }
    entries.push_back(std::move(z));
    p += 46 + name_n + extra_n + comment_n;
  }
  return entries;
}

// The bytes of one stored entry, checked against its CRC.
std::vector<uint8_t> read_entry(File& f, const ZipEntry& z) {
  const std::string& path = f.path();
  USER_CHECK((z.flags & 1) == 0, path, ": zip entry '", z.name, "' is encrypted");
  USER_CHECK(z.method == 0, path, ": zip entry '", z.name, "' is compressed (method ", z.method,
             "); torch.save stores entries uncompressed, so this archive was re-zipped: load it "
             "in torch and save it again, or re-zip it with `zip -0`");
  USER_CHECK(z.comp_size == z.size, path, ": corrupt zip: entry '", z.name,
             "' is stored but its two sizes differ");
  uint8_t h[30];
  f.read(z.local_offset, h, 30, "a zip local header");
  USER_CHECK(le32(h) == 0x04034b50u, path, ": corrupt zip: bad local header for '", z.name, "'");
  const uint64_t name_n = le16(h + 26), extra_n = le16(h + 28);
  const std::vector<uint8_t> name = f.read(z.local_offset + 30, name_n, "a zip entry name");
  USER_CHECK(std::string(name.begin(), name.end()) == z.name, path,
             ": corrupt zip: local and central names differ for '", z.name, "'");
  // The local extra field holds torch's padding (so data starts 64-byte aligned), hence the
  // data offset comes from the local header, not the central one.
  std::vector<uint8_t> data = f.read(z.local_offset + 30 + name_n + extra_n, z.size, "zip data");
  USER_CHECK(crc32(data.data(), data.size()) == z.crc, path, ": corrupt zip: entry '", z.name,
             "' fails its CRC check (the file is damaged)");
  return data;
}

// ---------------------------------------------------------------------------------------------
// Pickle values. Containers live in an arena owned by the Unpickler and are referenced by index,
// so a corrupt pickle that makes a list contain itself leaks nothing and recurses nowhere.
enum class Kind : uint8_t { None, Bool, Int, BigInt, Float, Str, Global, Tuple, List, Dict,
                            Storage, Tensor };

const char* kind_name(Kind k) {
  static const char* names[] = {"None", "bool", "int", "big int", "float", "string", "global",
                                "tuple", "list", "dict", "storage", "tensor"};
  return names[static_cast<int>(k)];
}

// Globals the VM knows; storage/dtype globals are kGlobalStorage + int(Src).
enum : int64_t { kOrderedDict, kRebuildTensorV2, kRebuildParameter, kRebuildParameterWithState,
                 kGlobalStorage = 100 };

struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;   // Bool, Int, the Global's id, the container/storage/tensor's arena index
  double f = 0;    // Float
  std::string s;   // Str (also bytes), BigInt's little-endian bytes, the Global's dotted name
};

struct Obj {
  std::vector<Value> items;                                 // Tuple, List
  std::vector<std::pair<Value, Value>> entries;             // Dict, in insertion order
  std::unordered_map<std::string, size_t> str_index;        // Dict: string key -> entry
  // Storage: a run of elements of `type` in the record `key`, from `view_offset` on.
  std::string key;
  Src type = Src::F32;
  int64_t numel = 0, view_offset = 0;
  // Tensor: a view of the storage object `storage`.
  int64_t storage = -1, offset = 0;
  Shape size, stride;
};

// A byte source for the VM: a range of the file read through a buffer (legacy format), or a
// whole in-memory record (zip's data.pkl).
class Cursor {
 public:
  Cursor(File& f, uint64_t begin, uint64_t end, std::string what)
      : file_(&f), pos_(begin), end_(end), buf_pos_(begin), what_(std::move(what)) {}
  Cursor(std::vector<uint8_t> bytes, std::string what)
      : pos_(0), end_(bytes.size()), buf_(std::move(bytes)), buf_pos_(0), what_(std::move(what)) {}

  uint64_t pos() const { return pos_; }
  const std::string& what() const { return what_; }
  // The next n bytes; the pointer is valid until the next call.
  const uint8_t* take(uint64_t n, const std::string& path) {
    USER_CHECK(n <= end_ - pos_, path, ": truncated or corrupt: ", what_, " ends at byte ", end_,
               " but ", n, " more bytes are needed at byte ", pos_);
    if (pos_ < buf_pos_ || pos_ + n > buf_pos_ + buf_.size()) {
      const uint64_t len = std::min<uint64_t>(std::max<uint64_t>(n, 1 << 16), end_ - pos_);
      buf_.resize(size_t(len));
      file_->read(pos_, buf_.data(), len, what_.c_str());
      buf_pos_ = pos_;
    }
    const uint8_t* p = buf_.data() + (pos_ - buf_pos_);
    pos_ += n;
    return p;
  }

 private:
  File* file_ = nullptr;
  uint64_t pos_, end_;
  std::vector<uint8_t> buf_;
  uint64_t buf_pos_;
  std::string what_;
};

class Unpickler {
 public:
  explicit Unpickler(const std::string& path) : path_(path) {}

  std::vector<Obj> objs;  // the arena

  // Runs one pickle (up to its STOP) and returns its object. The arena persists across calls.
  Value load(Cursor& in) {
    std::vector<Value> stack;
    std::vector<size_t> marks;
    std::unordered_map<uint32_t, Value> memo;  // a map: a corrupt index must not allocate 4 GB
    for (;;) {
      const uint64_t at = in.pos();
      const uint8_t op = *in.take(1, path_);
      auto fail = [&](const std::string& why) -> void {
        std::ostringstream os;
        os << path_ << ": corrupt or unsupported pickle: " << why << " (opcode 0x" << std::hex
           << int(op) << std::dec << " at byte " << at << " of " << in.what() << ")";
        throw Error(os.str(), true);
      };
      // Like Python's metastack: items below the innermost MARK are not poppable.
      auto floor_of = [&]() { return marks.empty() ? size_t(0) : marks.back(); };
      auto pop = [&]() {
        if (stack.size() <= floor_of()) fail("stack underflow");
        Value v = std::move(stack.back());
        stack.pop_back();
        return v;
      };
      auto top = [&]() -> Value& {
        if (stack.size() <= floor_of()) fail("stack underflow");
        return stack.back();
      };
      auto pop_mark = [&]() {
        if (marks.empty()) fail("no MARK on the stack");
        std::vector<Value> items(std::make_move_iterator(stack.begin() + long(marks.back())),
                                 std::make_move_iterator(stack.end()));
        stack.resize(marks.back());
        marks.pop_back();
        return items;
      };
      auto str = [&](uint64_t n) {
        const uint8_t* p = in.take(n, path_);
        Value v;
        v.kind = Kind::Str;
        v.s.assign(reinterpret_cast<const char*>(p), size_t(n));
        return v;
      };
      auto integer = [&](int64_t x) {
        Value v;
        v.kind = Kind::Int;
        v.i = x;
        return v;
      };
      auto container = [&](Kind k, std::vector<Value> items) {
        objs.emplace_back();
        objs.back().items = std::move(items);
        Value v;
        v.kind = k;
        v.i = int64_t(objs.size() - 1);
        return v;
      };
      auto line = [&]() {  // GLOBAL's operands: text up to '\n'
        std::string s;
        for (;;) {
          const char c = char(*in.take(1, path_));
          if (c == '\n') return s;
          if (s.size() > 256) fail("GLOBAL name too long");
          s += c;
        }
      };
      auto memo_get = [&](uint32_t k) {
        auto it = memo.find(k);
        if (it == memo.end()) fail("memo key " + std::to_string(k) + " was never stored");
        stack.push_back(it->second);
      };
      auto memo_put = [&](uint32_t k) { memo[k] = top(); };

      switch (op) {
        case 0x80: {  // PROTO
          const int proto = *in.take(1, path_);
          if (proto > 5) fail("pickle protocol " + std::to_string(proto) + " is newer than 5");
          break;
        }
        case 0x95: in.take(8, path_); break;  // FRAME: a length hint; the stream is contiguous
        case '.': {                           // STOP
          if (stack.size() != 1 || !marks.empty()) fail("STOP with a malformed stack");
          return std::move(stack.back());
        }
        case '(': marks.push_back(stack.size()); break;  // MARK
        case '}': stack.push_back(container(Kind::Dict, {})); break;
        case ']': stack.push_back(container(Kind::List, {})); break;
        case ')': stack.push_back(container(Kind::Tuple, {})); break;
        case 'd': {  // DICT
          std::vector<Value> kv = pop_mark();
          stack.push_back(container(Kind::Dict, {}));
          set_items(stack.back(), kv, fail);
          break;
        }
        case 'l': stack.push_back(container(Kind::List, pop_mark())); break;   // LIST
        case 't': stack.push_back(container(Kind::Tuple, pop_mark())); break;  // TUPLE
        case 0x85: case 0x86: case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
          std::vector<Value> items(size_t(op - 0x84));
          for (size_t k = items.size(); k-- > 0;) items[k] = pop();
          stack.push_back(container(Kind::Tuple, std::move(items)));
          break;
        }
        // Strings and bytes (bytes only appear in extra state; kept as Str).
        case 'X': case 'B': stack.push_back(str(le32(in.take(4, path_)))); break;  // BINUNICODE, BINBYTES
        case 0x8c: case 'U': case 'C':  // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES
          stack.push_back(str(*in.take(1, path_)));
          break;
        case 0x8d: case 0x8e: stack.push_back(str(le64(in.take(8, path_)))); break;  // *8
        case 'T': {  // BINSTRING (protocol 1/2 py2 str): signed 4-byte length
          const int32_t n = int32_t(le32(in.take(4, path_)));
          if (n < 0) fail("negative string length");
          stack.push_back(str(uint64_t(n)));
          break;
        }
        case 'J': stack.push_back(integer(int32_t(le32(in.take(4, path_))))); break;  // BININT
        case 'K': stack.push_back(integer(*in.take(1, path_))); break;               // BININT1
        case 'M': stack.push_back(integer(le16(in.take(2, path_)))); break;          // BININT2
        case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement
          const uint64_t n = op == 0x8a ? *in.take(1, path_) : le32(in.take(4, path_));
          const uint8_t* p = in.take(n, path_);
          Value v;
          if (n <= 8) {
            uint64_t x = 0;
            for (uint64_t k = 0; k < n; ++k) x |= uint64_t(p[k]) << (8 * k);
            if (n > 0 && n < 8 && (p[n - 1] & 0x80)) x |= ~uint64_t(0) << (8 * n);  // sign
            v = integer(int64_t(x));
          } else {  // only the legacy magic number is this wide; compared as bytes
            v.kind = Kind::BigInt;
            v.s.assign(reinterpret_cast<const char*>(p), size_t(n));
          }
          stack.push_back(std::move(v));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const uint8_t* p = in.take(8, path_);
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[k];
          Value v;
          v.kind = Kind::Float;
          std::memcpy(&v.f, &bits, 8);
          stack.push_back(std::move(v));
          break;
        }
        case 'N': stack.push_back(Value{}); break;  // NONE
        case 0x88: case 0x89: {                    // NEWTRUE, NEWFALSE
          Value v;
          v.kind = Kind::Bool;
          v.i = op == 0x88;
          stack.push_back(std::move(v));
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          std::string module = line();
          stack.push_back(global(module, line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          Value name = pop(), module = pop();
          if (name.kind != Kind::Str || module.kind != Kind::Str) fail("STACK_GLOBAL of non-strings");
          stack.push_back(global(module.s, name.s));
          break;
        }
        case 'Q': {  // BINPERSID: torch's reference to a storage record
          Value pid = pop();
          stack.push_back(persistent_load(pid, fail));
          break;
        }
        case 'R': {  // REDUCE: callable(*args), for the few callables known above
          Value args = pop(), fn = pop();
          stack.push_back(call(fn, args, fail));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict gets here legitimately
          Value args = pop(), cls = pop();
          if (cls.kind != Kind::Global || cls.i != kOrderedDict) fail("NEWOBJ of " + cls.s);
          stack.push_back(container(Kind::Dict, {}));
          break;
        }
        case 'b': {  // BUILD: obj.__setstate__(state). For torch's OrderedDict the state is only
                     // the `_metadata` version table; never executed, so simply dropped.
          pop();
          top();
          break;
        }
        case 's': {  // SETITEM
          std::vector<Value> kv(2);
          kv[1] = pop();
          kv[0] = pop();
          set_items(top(), kv, fail);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<Value> kv = pop_mark();
          set_items(top(), kv, fail);
          break;
        }
        case 'a': case 'e': {  // APPEND, APPENDS
          std::vector<Value> items;
          if (op == 'a') items.push_back(pop()); else items = pop_mark();
          Value& list = top();
          if (list.kind != Kind::List) fail("APPEND to a " + std::string(kind_name(list.kind)));
          auto& dst = objs[size_t(list.i)].items;
          for (Value& v : items) dst.push_back(std::move(v));
          break;
        }
        case 'q': memo_put(*in.take(1, path_)); break;          // BINPUT
        case 'r': memo_put(le32(in.take(4, path_))); break;     // LONG_BINPUT
        case 0x94: memo_put(uint32_t(memo.size())); break;      // MEMOIZE
        case 'h': memo_get(*in.take(1, path_)); break;          // BINGET
        case 'j': memo_get(le32(in.take(4, path_))); break;     // LONG_BINGET
        case '0': pop(); break;                                 // POP
        case '1': pop_mark(); break;                            // POP_MARK
        case '2': stack.push_back(top()); break;                // DUP
        default: fail("unknown or unsupported opcode");
      }
    }
  }

  // The storage record key -> element type, as first referenced (legacy needs it to size data).
  std::map<std::string, Src> storage_types;

 private:
  std::string path_;

  // Resolves a GLOBAL against the allow-list; anything else is refused by name, because
  // resolving it is exactly how pickle.load ends up running code from the file.
  Value global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    Value v;
    v.kind = Kind::Global;
    v.s = full;
    Src src = Src::F32;
    if (full == "collections.OrderedDict") v.i = kOrderedDict;
    else if (full == "torch._utils._rebuild_tensor_v2") v.i = kRebuildTensorV2;
    else if (full == "torch._utils._rebuild_parameter") v.i = kRebuildParameter;
    else if (full == "torch._utils._rebuild_parameter_with_state") v.i = kRebuildParameterWithState;
    else if (storage_type_of(full, &src)) v.i = kGlobalStorage + int64_t(src);
    else {
      std::string hint = " It reads state dicts of tensors (torch.save(model.state_dict(), f)).";
      if (module.rfind("__torch__", 0) == 0)
        hint = " This looks like a TorchScript archive (torch.jit.save), not a state dict.";
      else if (module.rfind("torch.nn.modules", 0) == 0 || module.rfind("torchvision", 0) == 0)
        hint = " The file holds a whole pickled model: save model.state_dict() instead.";
      throw Error(path_ + ": the checkpoint needs the Python global '" + full +
                      "', which this reader does not support (it never runs code from the file, "
                      "so it is safe on untrusted files where pickle.load is not)." + hint,
                  true);
    }
    return v;
  }

  template <typename Fail>
  void set_items(Value& dict, std::vector<Value>& kv, Fail&& fail) {
    if (dict.kind != Kind::Dict) fail("SETITEM on a " + std::string(kind_name(dict.kind)));
    if (kv.size() % 2) fail("SETITEMS with an odd number of items");
    Obj& d = objs[size_t(dict.i)];
    for (size_t k = 0; k < kv.size(); k += 2) {
      if (kv[k].kind == Kind::Str) {  // replace as Python would: a later value for a key wins
        auto it = d.str_index.find(kv[k].s);
        if (it != d.str_index.end()) {
          d.entries[it->second].second = std::move(kv[k + 1]);
          continue;
        }
        d.str_index.emplace(kv[k].s, d.entries.size());
      }
      d.entries.emplace_back(std::move(kv[k]), std::move(kv[k + 1]));
    }
  }

  const std::vector<Value>& tuple(const Value& v) const { return objs[size_t(v.i)].items; }

  // pid = ('storage', storage_type, key, location, numel[, view_metadata]) -> a Storage value.
  // The zip format has 5 fields; legacy adds view_metadata: None, or (view_key, offset, numel)
  // for a storage that is a slice of its root (torch < 0.4).
  template <typename Fail>
  Value persistent_load(const Value& pid, Fail&& fail) {
    if (pid.kind != Kind::Tuple) fail("persistent id is not a tuple");
    const std::vector<Value> t = tuple(pid);
    if (t.size() < 5 || t.size() > 6 || t[0].kind != Kind::Str || t[0].s != "storage")
      fail("persistent id is not ('storage', ...)");
    if (t[1].kind != Kind::Global || t[1].i < kGlobalStorage)
      fail("persistent id names no storage type");
    if (t[2].kind != Kind::Str || t[3].kind != Kind::Str || t[4].kind != Kind::Int || t[4].i < 0)
      fail("malformed persistent id");
    Obj s;
    s.type = static_cast<Src>(t[1].i - kGlobalStorage);
    s.key = t[2].s;
    s.numel = t[4].i;
    if (t.size() == 6 && t[5].kind != Kind::None) {
      if (t[5].kind != Kind::Tuple) fail("malformed storage view metadata");
      const std::vector<Value>& vm = tuple(t[5]);
      if (vm.size() != 3 || vm[1].kind != Kind::Int || vm[2].kind != Kind::Int || vm[1].i < 0 ||
          vm[2].i < 0)
        fail("malformed storage view metadata");
      s.view_offset = vm[1].i;
      s.numel = vm[2].i;
    }
    auto known = storage_types.find(s.key);
    if (known == storage_types.end()) storage_types.emplace(s.key, s.type);
    else if (known->second != s.type) fail("storage '" + s.key + "' is used with two dtypes");
    objs.push_back(std::move(s));
    Value v;
    v.kind = Kind::Storage;
    v.i = int64_t(objs.size() - 1);
    return v;
  }

  template <typename Fail>
  Value call(const Value& fn, const Value& args_v, Fail&& fail) {
    if (fn.kind != Kind::Global) fail("REDUCE on a " + std::string(kind_name(fn.kind)));
    if (args_v.kind != Kind::Tuple) fail("REDUCE arguments are not a tuple");
    const std::vector<Value> args = tuple(args_v);
    Value out;
    switch (fn.i) {
      case kOrderedDict: {  // OrderedDict() or OrderedDict([(k, v), ...])
        objs.emplace_back();
        out.kind = Kind::Dict;
        out.i = int64_t(objs.size() - 1);
        if (args.empty()) return out;
        if (args.size() != 1 || args[0].kind != Kind::List) fail("unexpected OrderedDict arguments");
        std::vector<Value> kv;
        for (const Value& pair : tuple(args[0])) {
          if (pair.kind != Kind::Tuple || tuple(pair).size() != 2) fail("OrderedDict item not a pair");
          kv.push_back(tuple(pair)[0]);
          kv.push_back(tuple(pair)[1]);
        }
        set_items(out, kv, fail);
        return out;
      }
      case kRebuildTensorV2: {  // (storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
        if (args.size() < 6 || args.size() > 7 || args[0].kind != Kind::Storage ||
            args[1].kind != Kind::Int || args[2].kind != Kind::Tuple || args[3].kind != Kind::Tuple)
          fail("unexpected _rebuild_tensor_v2 arguments");
        Obj t;
        t.storage = args[0].i;
        t.offset = args[1].i;
        for (const Value& d : tuple(args[2])) {
          if (d.kind != Kind::Int) fail("tensor size is not a tuple of ints");
          t.size.push_back(d.i);
        }
        for (const Value& d : tuple(args[3])) {
          if (d.kind != Kind::Int) fail("tensor stride is not a tuple of ints");
          t.stride.push_back(d.i);
        }
        objs.push_back(std::move(t));
        out.kind = Kind::Tensor;
        out.i = int64_t(objs.size() - 1);
        return out;
      }
      case kRebuildParameter:           // (data, requires_grad, hooks)
      case kRebuildParameterWithState:  // (data, requires_grad, hooks, state)
        if (args.size() < 3 || args.size() > 4 || args[0].kind != Kind::Tensor)
          fail("unexpected _rebuild_parameter arguments");
        return args[0];
      default: fail("cannot call " + fn.s);
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// Copying a (possibly strided) view of raw storage bytes into a fresh contiguous engine tensor.

template <typename Out>
Out convert(Src s, const uint8_t* p, const std::string& path, const std::string& name) {
  switch (s) {
    case Src::F32: { float v; std::memcpy(&v, p, 4); return Out(v); }
    case Src::F64: { double v; std::memcpy(&v, p, 8); return Out(v); }
    case Src::F16: return Out(half_to_float(le16(p)));
    case Src::BF16: return Out(bf16_to_float(le16(p)));
    case Src::I64: {
      const int64_t v = int64_t(le64(p));
      USER_CHECK(v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max(),
                 path, ": tensor '", name, "' (int64) holds ", v,
                 ", outside int32: this engine keeps integer tensors as int32");
      return Out(v);
    }
    case Src::I32: return Out(int32_t(le32(p)));
    case Src::I16: return Out(int16_t(le16(p)));
    case Src::I8: return Out(int8_t(p[0]));
    case Src::U8: return Out(p[0]);
    case Src::Bool: return Out(p[0] != 0);
  }
  return Out(0);
}

template <typename Out>
void gather(Out* dst, const uint8_t* base, Src s, const Shape& size, const Shape& stride,
            int64_t offset, int64_t numel, const std::string& path, const std::string& name) {
  const size_t es = info(s).size;
  const int nd = int(size.size());
  Shape idx(size.size(), 0);
  int64_t src = offset;  // element index of the current position, walked like an odometer
  for (int64_t k = 0; k < numel; ++k) {
    dst[k] = convert<Out>(s, base + size_t(src) * es, path, name);
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < size[size_t(d)]) { src += stride[size_t(d)]; break; }
      src -= (size[size_t(d)] - 1) * stride[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
}

// Expanded views (stride 0) may address more elements than the storage holds; beyond this many
// extra elements we refuse rather than let a corrupt size ask for terabytes.
constexpr int64_t kMaxExpansion = int64_t(1) << 24;

Tensor materialise(const Obj& t, const Obj& st, const std::vector<uint8_t>& bytes,
                   const std::string& path, const std::string& name) {
  USER_CHECK(t.size.size() == t.stride.size(), path, ": tensor '", name, "' has ", t.size.size(),
             " sizes but ", t.stride.size(), " strides");
  const size_t es = info(st.type).size;
  // Elements available from this storage object: its view offset on, within the record.
  const int64_t record_n = int64_t(bytes.size() / es);
  USER_CHECK(st.view_offset <= record_n && st.numel <= record_n - st.view_offset, path,
             ": storage '", st.key, "' should hold ", st.numel, " ", info(st.type).name,
             " elements but its record has only ", record_n);
  USER_CHECK(t.offset >= 0 && t.offset <= st.numel, path, ": tensor '", name,
             "' has storage offset ", t.offset, " outside its storage of ", st.numel);
  const int64_t avail = st.numel - t.offset;  // elements from the tensor's first one on
  int64_t numel = 1, last = 0;                // last: the highest element index it touches
  bool overflow = false;
  for (size_t d = 0; d < t.size.size(); ++d) {
    USER_CHECK(t.size[d] >= 0 && t.stride[d] >= 0, path, ": tensor '", name,
               "' has a negative size or stride");
    if (t.size[d] == 0) { numel = 0; continue; }
    overflow |= __builtin_mul_overflow(numel, t.size[d], &numel);
    int64_t reach;
    overflow |= __builtin_mul_overflow(t.size[d] - 1, t.stride[d], &reach);
    overflow |= __builtin_add_overflow(last, reach, &last);
  }
  if (numel > 0) {
    USER_CHECK(!overflow && last < avail && numel <= avail + kMaxExpansion, path, ": tensor '",
               name, "' of shape ", shape_str(t.size), " (strides ", shape_str(t.stride),
               ", offset ", t.offset, ") does not fit its storage of ", st.numel, " elements");
  }
  const DType out = info(st.type).out;
  Tensor result = Tensor::empty(t.size, out);
  if (numel == 0) return result;
  const uint8_t* base = bytes.data() + size_t(st.view_offset) * es;
  const int64_t first = t.offset;
  if (out == DType::F32)
    gather(result.data<float>(), base, st.type, t.size, t.stride, first, numel, path, name);
  else if (out == DType::F64)
    gather(result.data<double>(), base, st.type, t.size, t.stride, first, numel, path, name);
  else
    gather(result.data<int32_t>(), base, st.type, t.size, t.stride, first, numel, path, name);
  return result;
}

// ---------------------------------------------------------------------------------------------

// The legacy magic number 0x1950a86a20f9469cfc6c as LONG1's little-endian bytes.
const std::string kLegacyMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);

// Picks the state dict out of the unpickled top-level object (see PthCheckpoint::root).
const Obj& find_state_dict(const Unpickler& u, const Value& top, const std::string& path,
                           std::string* root) {
  USER_CHECK(top.kind == Kind::Dict, path, ": the checkpoint holds a ", kind_name(top.kind),
             ", not a dict of tensors (a state dict)");
  const Obj& d = u.objs[size_t(top.i)];
  const bool all_tensors = std::all_of(d.entries.begin(), d.entries.end(),
                                       [](const auto& e) { return e.second.kind == Kind::Tensor; });
  if (all_tensors) return d;
  for (const char* key : {"state_dict", "model"}) {
    auto it = d.str_index.find(key);
    if (it != d.str_index.end() && d.entries[it->second].second.kind == Kind::Dict) {
      *root = key;
      return u.objs[size_t(d.entries[it->second].second.i)];
    }
  }
  return d;  // not all tensors: the caller names the first entry that is not one
}

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), file_(path), vm_(path) {}

  PthCheckpoint read() {
    USER_CHECK(file_.size() >= 4, path_, ": too short to be a PyTorch checkpoint (",
               file_.size(), " bytes)");
    uint8_t head[4];
    file_.read(0, head, 4, "the header");
    PthCheckpoint ck;
    Value top;
    if (le32(head) == 0x04034b50u) {
      ck.format = "zip";
      top = open_zip();
    } else if (head[0] == 0x80) {
      ck.format = "legacy";
      top = open_legacy();
    } else {
      std::ostringstream os;
      os << std::hex;
      for (uint8_t b : head) os << " " << int(b);
      throw Error(path_ + ": not a PyTorch checkpoint: it starts with bytes" + os.str() +
                      ", neither a zip archive (torch >= 1.6) nor a pickle (legacy torch.save)",
                  true);
    }
    const Obj& sd = find_state_dict(vm_, top, path_, &ck.root);
    // Count the tensors on each storage record so that a record is read once and dropped after
    // its last tensor (peak memory: the tensors plus one record).
    std::map<std::string, int> uses;
    for (const auto& e : sd.entries) {
      USER_CHECK(e.first.kind == Kind::Str, path_, ": a state-dict key is a ",
                 kind_name(e.first.kind), ", not a string");
      USER_CHECK(e.second.kind == Kind::Tensor, path_, ": entry '", e.first.s, "' is a ",
                 kind_name(e.second.kind), ", not a tensor");
      ++uses[vm_.objs[size_t(vm_.objs[size_t(e.second.i)].storage)].key];
    }
    std::map<std::string, std::vector<uint8_t>> cache;
    for (const auto& e : sd.entries) {
      const Obj& t = vm_.objs[size_t(e.second.i)];
      const Obj& st = vm_.objs[size_t(t.storage)];
      auto it = cache.find(st.key);
      if (it == cache.end()) it = cache.emplace(st.key, record(st.key)).first;
      PthTensor pt;
      pt.name = e.first.s;
      pt.source_dtype = info(st.type).name;
      pt.tensor = materialise(t, st, it->second, path_, pt.name);
      ck.tensors.push_back(std::move(pt));
      if (--uses[st.key] == 0) cache.erase(it);
    }
    return ck;
  }

 private:
  std::string path_;
  File file_;
  Unpickler vm_;
  // zip: record name -> entry; legacy: key -> (data offset, bytes)
  std::string prefix_;
  std::map<std::string, ZipEntry> entries_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> legacy_;

  Value open_zip() {
    for (ZipEntry& z : read_central_directory(file_)) entries_[z.name] = z;
    // The records sit under one top folder, named after the file by torch ("archive/" lately).
    for (const auto& kv : entries_) {
      const std::string& n = kv.first;
      const size_t slash = n.find('/');
      if (slash != std::string::npos && n.compare(slash, std::string::npos, "/data.pkl") == 0) {
        prefix_ = n.substr(0, slash + 1);
        break;
      }
    }
    USER_CHECK(!prefix_.empty(), path_, ": a zip archive without '<name>/data.pkl': not a "
               "torch.save checkpoint");
    auto bo = entries_.find(prefix_ + "byteorder");
    if (bo != entries_.end()) {
      const std::vector<uint8_t> b = read_entry(file_, bo->second);
      USER_CHECK(std::string(b.begin(), b.end()) == "little", path_,
                 ": a big-endian checkpoint; only little-endian files are supported");
    }
    Cursor in(read_entry(file_, entries_.at(prefix_ + "data.pkl")), prefix_ + "data.pkl");
    return vm_.load(in);
  }

  Value open_legacy() {
    Cursor in(file_, 0, file_.size(), "the file");
    const Value magic = vm_.load(in);
    USER_CHECK(magic.kind == Kind::BigInt && magic.s == kLegacyMagic, path_,
               ": starts with a pickle but not torch's magic number: not a PyTorch checkpoint");
    const Value proto = vm_.load(in);
    USER_CHECK(proto.kind == Kind::Int && proto.i == 1001, path_,
               ": unsupported legacy torch.save protocol (expected 1001)");
    const Value sys = vm_.load(in);
    USER_CHECK(sys.kind == Kind::Dict, path_, ": corrupt legacy header (sys info is not a dict)");
    const Obj& sys_d = vm_.objs[size_t(sys.i)];
    auto le = sys_d.str_index.find("little_endian");
    USER_CHECK(le == sys_d.str_index.end() || sys_d.entries[le->second].second.i == 1, path_,
               ": a big-endian checkpoint; only little-endian files are supported");
    const Value top = vm_.load(in);
    const Value keys = vm_.load(in);
    USER_CHECK(keys.kind == Kind::List, path_, ": corrupt legacy file (storage keys not a list)");
    // Then, for each key in that order: int64 element count, then the raw elements.
    uint64_t pos = in.pos();
    for (const Value& k : vm_.objs[size_t(keys.i)].items) {
      USER_CHECK(k.kind == Kind::Str, path_, ": corrupt legacy file (a storage key is not a string)");
      auto type = vm_.storage_types.find(k.s);
      USER_CHECK(type != vm_.storage_types.end(), path_, ": corrupt legacy file: storage '", k.s,
                 "' is listed but no tensor uses it");
      uint8_t n8[8];
      file_.read(pos, n8, 8, "a storage size");
      const uint64_t n = le64(n8), es = info(type->second).size;
      USER_CHECK(n <= (file_.size() - pos - 8) / es, path_, ": truncated or corrupt: storage '",
                 k.s, "' claims ", n, " elements at byte ", pos, " but the file has ",
                 file_.size(), " bytes");
      legacy_[k.s] = {pos + 8, n * es};
      pos += 8 + n * es;
    }
    return top;
  }

  // The raw bytes of one storage record.
  std::vector<uint8_t> record(const std::string& key) {
    if (!prefix_.empty()) {
      auto it = entries_.find(prefix_ + "data/" + key);
      USER_CHECK(it != entries_.end(), path_, ": corrupt checkpoint: storage record '", prefix_,
                 "data/", key, "' is missing from the archive");
      return read_entry(file_, it->second);
    }
    auto it = legacy_.find(key);
    USER_CHECK(it != legacy_.end(), path_, ": corrupt legacy file: storage '", key,
               "' is not in the storage list");
    return file_.read(it->second.first, it->second.second, "a storage");
  }
};

}  // namespace

PthCheckpoint read_pth(const std::string& path) { return Reader(path).read(); }

}  // namespace cudistill
