// train/soft_labels.cpp: see soft_labels.h.
#include "apps/train/soft_labels.h"

#include <cstring>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/file.h"
#include "engine/io/sha256.h"

namespace cudistill::train {

namespace {
constexpr char kMagic[8] = {'C', 'D', 'S', 'O', 'F', 'T', 'L', 'B'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeader = 8 + 4 * 4 + 64 + 64;
constexpr size_t kViewBytes = 5 * 4;

void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
uint32_t get_u32(const std::string& s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
size_t record_bytes(size_t classes) { return kViewBytes + 4 * classes; }
}  // namespace

std::string SoftLabelKey::hex() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "aug scale %.9g %.9g ratio %.9g %.9g flip %.9g seed %llu views %d cache %dx%d master_size %d "
                "mean %.9g %.9g %.9g std %.9g %.9g %.9g\n",
                aug.scale_min, aug.scale_max, aug.ratio_min, aug.ratio_max, aug.flip_p, (unsigned long long)seed,
                views, cache_h, cache_w, master_size, mean[0], mean[1], mean[2], std[0], std[1], std[2]);
  return sha256_hex("cudistill soft labels v1\nfiles " + files_sha256 + "\nmaster " + master_sha256 + "\n" + buf);
}

void write_soft_labels(const std::string& path, const std::string& key, const SoftLabels& s) {
  ENGINE_CHECK(key.size() == 64, "soft-label key must be 64 hex digits");
  const size_t n = size_t(s.images) * size_t(s.views);
  ENGINE_CHECK(s.view_params.size() == n && s.logits.size() == n * size_t(s.classes), "soft labels: inconsistent sizes");
  std::string payload;
  payload.reserve(n * record_bytes(size_t(s.classes)));
  for (size_t r = 0; r < n; ++r) {
    const cpu::ViewParams& v = s.view_params[r];
    const float box[4] = {v.x0, v.y0, v.w, v.h};
    payload.append(reinterpret_cast<const char*>(box), 16);
    payload.append(reinterpret_cast<const char*>(&v.flip), 4);
    payload.append(reinterpret_cast<const char*>(s.logits.data() + r * size_t(s.classes)), 4 * size_t(s.classes));
  }
  std::string out(kMagic, 8);
  put_u32(out, kVersion);
  put_u32(out, uint32_t(s.images));
  put_u32(out, uint32_t(s.views));
  put_u32(out, uint32_t(s.classes));
  out += key;
  out += sha256_hex(payload);
  out += payload;
  write_file_atomic(path, out);
}

bool read_soft_labels(const std::string& path, const std::string& key, SoftLabels& out, std::string& why) {
  if (!std::filesystem::is_regular_file(path)) {
    why = "missing";
    return false;
  }
  const std::string f = read_file(path);
  if (f.size() < kHeader) {
    why = "truncated header (" + std::to_string(f.size()) + " bytes)";
    return false;
  }
  if (std::memcmp(f.data(), kMagic, 8) != 0) {
    why = "bad magic (not a soft-label file)";
    return false;
  }
  if (get_u32(f, 8) != kVersion) {
    why = "version " + std::to_string(get_u32(f, 8)) + ", expected " + std::to_string(kVersion);
    return false;
  }
  const size_t images = get_u32(f, 12), views = get_u32(f, 16), classes = get_u32(f, 20);
  const size_t expect = kHeader + images * views * record_bytes(classes);
  if (f.size() != expect) {
    why = "size " + std::to_string(f.size()) + " bytes, header says " + std::to_string(expect);
    return false;
  }
  if (f.compare(24, 64, key) != 0) {
    why = "key mismatch (data, master, augmentation or sizes changed)";
    return false;
  }
  if (f.compare(88, 64, sha256_hex(f.substr(kHeader))) != 0) {
    why = "checksum mismatch (corrupt payload)";
    return false;
  }
  out.images = int(images);
  out.views = int(views);
  out.classes = int(classes);
  out.view_params.resize(images * views);
  out.logits.resize(images * views * classes);
  const char* p = f.data() + kHeader;
  for (size_t r = 0; r < images * views; ++r) {
    float box[4];
    std::memcpy(box, p, 16);
    cpu::ViewParams& v = out.view_params[r];
    v.x0 = box[0], v.y0 = box[1], v.w = box[2], v.h = box[3];
    std::memcpy(&v.flip, p + 16, 4);
    std::memcpy(out.logits.data() + r * classes, p + kViewBytes, 4 * classes);
    p += record_bytes(classes);
  }
  return true;
}

std::vector<float> logits_on_views(Module& model, const data::ImageCache& cache, const std::vector<int>& idx,
                                   const std::vector<cpu::ViewParams>& views, int size, const float mean[3],
                                   const float std[3], int batch_size, Device device) {
  NoGrad no_grad;
  std::vector<float> out;
  for (size_t b0 = 0; b0 < idx.size(); b0 += size_t(batch_size)) {
    const size_t b1 = std::min(idx.size(), b0 + size_t(batch_size));
    const std::vector<int> bi(idx.begin() + long(b0), idx.begin() + long(b1));
    const std::vector<cpu::ViewParams> bv(views.begin() + long(b0), views.begin() + long(b1));
    const Tensor z =
        model.forward(data::make_batch(cache, bi, bv, size, size, mean, std, device)).to(Device::CPU).contiguous();
    out.insert(out.end(), z.data<float>(), z.data<float>() + z.numel());
  }
  return out;
}

SoftLabels build_soft_labels(Module& master, const data::ImageCache& cache, int views, uint64_t seed,
                             const data::ViewOptions& aug, int master_size, const float mean[3],
                             const float std[3], int batch_size, Device device) {
  master.eval();
  SoftLabels s;
  s.images = cache.n;
  s.views = views;
  const size_t total = size_t(cache.n) * size_t(views);
  // Records r = image * views + v, in that order (any order gives the same views).
  std::vector<int> idx(total);
  s.view_params.resize(total);
  for (size_t r = 0; r < total; ++r) {
    const int i = int(r / size_t(views)), v = int(r % size_t(views));
    idx[r] = i;
    s.view_params[r] = data::random_view(cache.h, cache.w, seed, v, i, aug);
  }
  s.logits = logits_on_views(master, cache, idx, s.view_params, master_size, mean, std, batch_size, device);
  s.classes = total > 0 ? int(s.logits.size() / total) : 0;
  return s;
}

}  // namespace cudistill::train
