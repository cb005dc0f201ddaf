// conv_cudnn.cu: the CUDA twin of kernels/cpu/conv.cpp, built on the cuDNN 9 graph (backend) API.
//   x: (N, C, H, W), w: (O, C/G, KH, KW), b: (O) or null, y: (N, O, HO, WO); G = groups
// Forward writes y. Backward ACCUMULATES (+=) into whichever of dx, dw, db is non-null, exactly like
// the CPU oracle: cuDNN's beta = 1 does it for dx and dw, a small reduction kernel for db.
// What it isn't: no fusion (the bias is a separate small kernel), no NHWC, no dilation, no timing-based
// autotuning (heuristics mode A ranks the engines); the legacy cudnnConvolutionForward family is
// deprecated in cuDNN 9 and deliberately not used.
// Test: the CUDA doctest suite (tests/cuda, needs a GPU) against cpu::conv2d_fwd/bwd. How the pieces
// fit: docs/kernels/conv_cudnn.md.
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cuda/common.cuh"

namespace cudistill::cuda {
namespace {

using cpu::ConvShape;

// cudnnBackendSetAttribute under CUDNN_CHECK. A macro, not a function, so that a failure message
// quotes the attribute's name: a helper function would only ever print its parameter's name.
#define SET_ATTR(desc, name, type, count, ptr) \
  CUDNN_CHECK(cudnnBackendSetAttribute((desc), name, type, (count), (ptr)))

// --- RAII for backend descriptors ---------------------------------------------------------------
// Every backend object (tensor, op, graph, plan, ...) is a cudnnBackendDescriptor_t that must be
// destroyed exactly once; this owns one. Move-only.
class BackendDesc {
 public:
  BackendDesc() = default;
  explicit BackendDesc(cudnnBackendDescriptorType_t type) {
    CUDNN_CHECK(cudnnBackendCreateDescriptor(type, &d_));
  }
  ~BackendDesc() { reset(); }
  BackendDesc(BackendDesc&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  BackendDesc& operator=(BackendDesc&& o) noexcept {
    if (this != &o) {
      reset();
      d_ = std::exchange(o.d_, nullptr);
    }
    return *this;
  }
  BackendDesc(const BackendDesc&) = delete;
  BackendDesc& operator=(const BackendDesc&) = delete;

  cudnnBackendDescriptor_t get() const { return d_; }
  // SetAttribute with CUDNN_TYPE_BACKEND_DESCRIPTOR takes an array of descriptors: this is a
  // one-element array.
  const cudnnBackendDescriptor_t* addr() const { return &d_; }

 private:
  // A destructor must not throw, so the status is dropped: the worst case is a leaked descriptor.
  void reset() {
    if (d_) cudnnBackendDestroyDescriptor(d_);
    d_ = nullptr;
  }
  cudnnBackendDescriptor_t d_ = nullptr;
};

enum class ConvOp : int { Fwd = 0, BwdData = 1, BwdFilter = 2 };

const char* op_name(ConvOp op) {
  switch (op) {
    case ConvOp::Fwd: return "forward";
    case ConvOp::BwdData: return "backward-data";
    default: return "backward-filter";
  }
}

// The three tensors of every convolution op, by shape: the x-shaped one (x or dx), the w-shaped
// one (w or dw) and the y-shaped one (y or dy). Their unique ids tie the graph's tensor descriptors
// to the pointers of the variant pack.
constexpr int64_t kUidX = 1, kUidW = 2, kUidY = 3;

std::string describe(const ConvShape& s) {
  return ::cudistill::detail::concat("x (", s.N, ", ", s.C, ", ", s.H, ", ", s.W, "), w (", s.O, ", ",
                        s.groups > 0 ? s.C / s.groups : 0, ", ", s.KH, ", ", s.KW, "), y (", s.N,
                        ", ", s.O, ", ", s.HO, ", ", s.WO, "), stride ", s.stride, ", pad ", s.pad,
                        ", groups ", s.groups);
}

// cuDNN checks the same relations, but its message would not name our shape.
void check_shape(const ConvShape& s) {
  ENGINE_CHECK(s.N >= 0 && s.C > 0 && s.H > 0 && s.W > 0 && s.O > 0 && s.KH > 0 && s.KW > 0 &&
                   s.stride > 0 && s.pad >= 0 && s.groups > 0,
               "conv2d: bad shape ", describe(s));
  ENGINE_CHECK(s.C % s.groups == 0 && s.O % s.groups == 0, "conv2d: groups must divide C and O: ",
               describe(s));
  ENGINE_CHECK(s.HO == (s.H + 2 * s.pad - s.KH) / s.stride + 1 &&
                   s.WO == (s.W + 2 * s.pad - s.KW) / s.stride + 1 && s.HO > 0 && s.WO > 0,
               "conv2d: HO/WO do not match (H + 2*pad - KH) / stride + 1: ", describe(s));
}

// The alignment cuDNN may assume for a pointer: the largest power of two (at most 16 bytes) that
// divides its address. Claiming 16 for a tensor that starts at an odd float offset would let an
// engine issue misaligned vector loads, so the real value goes into the tensor descriptor (and
// into the cache key, since the plan depends on it).
int64_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int64_t al = 16;
  while (al > 1 && (a % uintptr_t(al)) != 0) al /= 2;
  return al;
}

// One device-properties descriptor per process, made from the context's handle. cuDNN 9.19 marks
// CUDNN_ATTR_OPERATIONGRAPH_HANDLE and CUDNN_ATTR_EXECUTION_PLAN_HANDLE deprecated; since cuDNN 9.8
// the device an op graph is planned for is given instead by this descriptor, attached to the
// heuristics query and to each execution plan (the handle itself is only needed to execute).
// Never destroyed: it lives as long as the plans that point at it.
cudnnBackendDescriptor_t device_props() {
  static BackendDesc* props = [] {
    ENGINE_CHECK(cudnnGetVersion() >= 90800, "cuDNN ", cudnnGetVersion(),
                 " is too old: cudistill's convolutions need cuDNN >= 9.8 (device-property "
                 "descriptors); install a current cuDNN 9");
    auto d = std::make_unique<BackendDesc>(CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR);
    cudnnHandle_t handle = cudnn_handle();
    SET_ATTR(d->get(), CUDNN_ATTR_DEVICEPROP_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    CUDNN_CHECK(cudnnBackendFinalize(d->get()));
    return d.release();
  }();
  return props->get();
}

// A packed NCHW float tensor: dims d, strides (d1*d2*d3, d2*d3, d3, 1).
BackendDesc make_tensor(int64_t uid, const std::array<int64_t, 4>& d, int64_t align) {
  BackendDesc t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  const std::array<int64_t, 4> strides = {d[1] * d[2] * d[3], d[2] * d[3], d[3], 1};
  const cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  SET_ATTR(t.get(), CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dtype);
  SET_ATTR(t.get(), CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, d.data());
  SET_ATTR(t.get(), CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data());
  SET_ATTR(t.get(), CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
  SET_ATTR(t.get(), CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
  CUDNN_CHECK(cudnnBackendFinalize(t.get()));
  return t;
}

// --- engine choice --------------------------------------------------------------------------
// The engine configs the heuristics propose for a finalized graph, best first; empty (with the
// reason in *why) when this heuristic mode has nothing for the graph, so the caller can try the next.
std::vector<BackendDesc> engine_configs(cudnnBackendDescriptor_t graph, cudnnBackendHeurMode_t mode,
                                        std::string* why) {
  BackendDesc heur(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  cudnnBackendDescriptor_t props = device_props();
  SET_ATTR(heur.get(), CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
  SET_ATTR(heur.get(), CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
  SET_ATTR(heur.get(), CUDNN_ATTR_ENGINEHEUR_DEVICEPROP, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &props);
  char msg[512] = "";
  if (cudnnBackendFinalize(heur.get()) != CUDNN_STATUS_SUCCESS) {
    cudnnGetLastErrorString(msg, sizeof msg);
    *why = ::cudistill::detail::concat("heuristics mode ", int(mode), " did not finalize: ", msg);
    return {};
  }
  // First ask how many results there are, then hand cuDNN that many empty ENGINECFG descriptors to
  // fill: GetAttribute of descriptor type writes into descriptors the caller created.
  int64_t count = 0;
  CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  std::vector<BackendDesc> cfgs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    cfgs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    raw.push_back(cfgs.back().get());
  }
  int64_t got = 0;
  if (count > 0)
    CUDNN_CHECK(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                         CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got, raw.data()));
  cfgs.resize(size_t(got < count ? got : count));
  if (cfgs.empty()) *why = ::cudistill::detail::concat("heuristics mode ", int(mode), " proposed no engine");
  return cfgs;
}

// With TF32 off, the CUDA path must match the float32 CPU oracle to float32 tolerances, so an
// engine is refused when its numerical notes say it computes in anything but plain fp32:
//   TENSOR_CORE / DOWN_CONVERT_INPUTS / REDUCED_PRECISION_REDUCTION: TF32 (10-bit mantissa) inputs
//     or narrower accumulation, i.e. ~1e-3 relative error instead of ~1e-6;
//   FFT / WINOGRAD*: fp32 throughout, but a transformed arithmetic whose error grows with the tile
//     and the image size, well above a direct sum's.
// NONDETERMINISTIC (atomics in the backward ops) is accepted: it changes the summation order, not
// the precision. With TF32 on (set_tf32(true): speed over exactness) every engine is allowed.
bool fp32_exact(cudnnBackendDescriptor_t cfg) {
  BackendDesc engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t e = engine.get();
  int64_t n = 0;
  CUDNN_CHECK(cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                       1, &n, &e));
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  CUDNN_CHECK(cudnnBackendGetAttribute(e, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                       CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes));
  for (int64_t i = 0; i < n && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; ++i) {
    switch (notes[i]) {
      case CUDNN_NUMERICAL_NOTE_TENSOR_CORE:
      case CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS:
      case CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION:
      case CUDNN_NUMERICAL_NOTE_FFT:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_4x4:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_6x6:
      case CUDNN_NUMERICAL_NOTE_WINOGRAD_TILE_13x13: return false;
      default: break;
    }
  }
  return true;
}

// --- the plan cache -------------------------------------------------------------------------
// A finalized execution plan, with every descriptor it was built from. The backend may keep
// references from the plan into the graph and its tensors, so they live exactly as long as the
// plan. Members are destroyed in reverse order: the plan goes first.
struct Plan {
  std::vector<BackendDesc> parts;
  BackendDesc plan;
  int64_t workspace_bytes = 0;
};

// Everything the plan depends on: the op, the whole shape, the pointers' alignments and the TF32
// switch (flipping set_tf32 must not reuse an engine chosen under the other setting).
using Key = std::array<int64_t, 17>;
struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields
    for (int64_t v : k) {
      h ^= uint64_t(v);
      h *= 1099511628211ull;
    }
    return size_t(h);
  }
};

std::unique_ptr<Plan> build_plan(ConvOp op, const ConvShape& s, const int64_t align[3], bool tf32) {
  // Groups: the graph API has no group-count attribute. The count is implied by the shapes: the
  // filter tensor carries C/G input channels, and cuDNN takes G = C(x) / C(w), with O a multiple of
  // G (this is how the backend guide's grouped-convolution use case sets it up). Depthwise is G = C:
  // w is (O, 1, KH, KW).
  const int64_t Cg = s.C / s.groups;
  BackendDesc xt = make_tensor(kUidX, {s.N, s.C, s.H, s.W}, align[0]);
  BackendDesc wt = make_tensor(kUidW, {s.O, Cg, s.KH, s.KW}, align[1]);
  BackendDesc yt = make_tensor(kUidY, {s.N, s.O, s.HO, s.WO}, align[2]);

  // Cross-correlation (no filter flip) is what the CPU reference and PyTorch call convolution.
  // Symmetric padding: pre = post = pad reproduces HO = (H + 2*pad - KH) / stride + 1.
  BackendDesc conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnDataType_t comp = CUDNN_DATA_FLOAT;
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t dims = 2;
  const int64_t strides[2] = {s.stride, s.stride}, pads[2] = {s.pad, s.pad}, dilations[2] = {1, 1};
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pads);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pads);
  SET_ATTR(conv.get(), CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilations);
  CUDNN_CHECK(cudnnBackendFinalize(conv.get()));

  // out = alpha * conv(...) + beta * out. Forward overwrites y (beta = 0: y is write-only, NaNs in
  // it are ignored); the backward ops accumulate into dx / dw (beta = 1), as the header promises.
  const float alpha = 1.f, beta = op == ConvOp::Fwd ? 0.f : 1.f;
  BackendDesc opd;
  switch (op) {
    case ConvOp::Fwd:
      opd = BackendDesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, xt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, wt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, yt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
               conv.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
      break;
    case ConvOp::BwdData:
      opd = BackendDesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, xt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, wt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, yt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
               conv.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
      break;
    case ConvOp::BwdFilter:
      opd = BackendDesc(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, xt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, wt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, yt.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
               conv.addr());
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
      SET_ATTR(opd.get(), CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
      break;
  }
  CUDNN_CHECK(cudnnBackendFinalize(opd.get()));

  // A graph of one node. (No CUDNN_ATTR_OPERATIONGRAPH_HANDLE: deprecated, see device_props.)
  BackendDesc graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  SET_ATTR(graph.get(), CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, opd.addr());
  CUDNN_CHECK(cudnnBackendFinalize(graph.get()));

  // Heuristics mode A ranks the engines for this graph; an engine config is only usable once an
  // execution plan built from it finalizes (a config can be proposed and still be unsupported for
  // this exact shape or beta), so configs are tried in rank order. Mode FALLBACK's generic engines
  // are the second line, e.g. for shapes where every mode-A engine needs TF32.
  auto out = std::make_unique<Plan>();
  cudnnBackendDescriptor_t props = device_props();
  std::string why;
  int tried = 0, refused = 0;
  for (cudnnBackendHeurMode_t hmode : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    std::vector<BackendDesc> cfgs = engine_configs(graph.get(), hmode, &why);
    for (BackendDesc& cfg : cfgs) {
      if (!tf32 && !fp32_exact(cfg.get())) {
        ++refused;
        continue;
      }
      ++tried;
      BackendDesc plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
      SET_ATTR(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, cfg.addr());
      SET_ATTR(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_DEVICEPROP, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &props);
      if (cudnnBackendFinalize(plan.get()) != CUDNN_STATUS_SUCCESS) {
        char msg[512] = "";
        cudnnGetLastErrorString(msg, sizeof msg);
        why = msg;
        continue;
      }
      int64_t n = 0;
      CUDNN_CHECK(cudnnBackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64,
                                           1, &n, &out->workspace_bytes));
      out->plan = std::move(plan);
      out->parts.push_back(std::move(cfg));
      out->parts.push_back(std::move(graph));
      out->parts.push_back(std::move(opd));
      out->parts.push_back(std::move(conv));
      out->parts.push_back(std::move(xt));
      out->parts.push_back(std::move(wt));
      out->parts.push_back(std::move(yt));
      return out;
    }
  }
  ENGINE_CHECK(false, "no cuDNN engine runs the conv2d ", op_name(op), " of ", describe(s), " (tf32 ",
               tf32 ? "on" : "off", "; ", tried, " engine configs failed to finalize, ", refused,
               " refused as not fp32-exact; last cuDNN message: ", why,
               "). Try set_tf32(true), or report the shape");
  return nullptr;  // not reached: ENGINE_CHECK(false) throws
}

// The plan for this op, shape, alignment and TF32 setting: built once, then reused. Building runs
// the heuristics and may compile kernels (runtime-compiled engines), which costs milliseconds to
// seconds; a training loop sees the same few shapes every step, so each is paid for once.
// Plans are never evicted (a network has a handful of conv shapes) and never destroyed: tearing
// them down in a static destructor would race the CUDA runtime's own teardown at exit.
const Plan& get_plan(ConvOp op, const ConvShape& s, const int64_t align[3]) {
  static std::mutex mu;
  static auto* cache = new std::unordered_map<Key, std::unique_ptr<Plan>, KeyHash>();
  const bool tf = tf32();
  const Key key = {int64_t(op), s.N,      s.C,      s.H,      s.W,  s.O,       s.KH,      s.KW,     s.stride,
                   s.pad,       s.groups, s.HO,     s.WO,     align[0], align[1], align[2], int64_t(tf)};
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(key);
  if (it == cache->end()) it = cache->emplace(key, build_plan(op, s, align, tf)).first;
  return *it->second;  // unordered_map never moves its nodes: the reference stays valid
}

// Runs the cached plan on these pointers: x-, w- and y-shaped, whatever the op reads or writes.
void execute(ConvOp op, const ConvShape& s, const float* xp, const float* wp, const float* yp) {
  const int64_t align[3] = {alignment(xp), alignment(wp), alignment(yp)};
  const Plan& plan = get_plan(op, s, align);
  void* ws = plan.workspace_bytes > 0 ? workspace(size_t(plan.workspace_bytes)) : nullptr;
  // The variant pack binds uids to this call's pointers; it is cheap, so it is built per call while
  // the plan is shared.
  BackendDesc vp(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
  const int64_t uids[3] = {kUidX, kUidW, kUidY};
  void* ptrs[3] = {const_cast<float*>(xp), const_cast<float*>(wp), const_cast<float*>(yp)};
  SET_ATTR(vp.get(), CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
  SET_ATTR(vp.get(), CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
  SET_ATTR(vp.get(), CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws);
  CUDNN_CHECK(cudnnBackendFinalize(vp.get()));
  // Runs on the handle's stream, which the context bound to cur_stream().
  CUDNN_CHECK(cudnnBackendExecute(cudnn_handle(), plan.plan.get(), vp.get()));
}

// --- bias ------------------------------------------------------------------------------------
// y: (N, O, P) with P = HO*WO; y[n, o, p] += b[o]. Grid-stride over all of y.
__global__ void add_channel_bias(float* __restrict__ y, const float* __restrict__ b, int64_t total, int O,
                                 int64_t P) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += b[(i / P) % O];
}

// dy: (N, O, P); db[o] += sum over n, p of dy[n, o, p]. One block per output channel, so each db[o]
// has one writer (no atomics, deterministic). Each thread sums its share in double, as the CPU
// oracle does, before the float block reduction of the 256 partial sums.
__global__ void channel_sum_add(float* __restrict__ db, const float* __restrict__ dy, int N, int O, int64_t P) {
  __shared__ float shared[32];
  const int o = blockIdx.x;
  const int64_t total = int64_t(N) * P;
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < total; i += blockDim.x) {
    const int64_t n = i / P, p = i - n * P;
    acc += double(dy[(n * O + o) * P + p]);
  }
  const float sum = block_sum(float(acc), shared);
  if (threadIdx.x == 0) db[o] += sum;
}

}  // namespace

void conv2d_fwd(float* y, const float* x, const float* w, const float* b, const cpu::ConvShape& s) {
  check_shape(s);
  if (s.N == 0) return;  // cuDNN rejects zero-sized dimensions; there is nothing to compute
  execute(ConvOp::Fwd, s, x, w, y);
  if (b) {
    const int64_t P = int64_t(s.HO) * s.WO, total = int64_t(s.N) * s.O * P;
    add_channel_bias<<<grid_for(total), 256, 0, cur_stream()>>>(y, b, total, s.O, P);
    CUDA_CHECK_LAUNCH();
  }
}

void conv2d_bwd(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w,
                const cpu::ConvShape& s) {
  check_shape(s);
  if (s.N == 0) return;  // every gradient is a sum over the batch: += 0
  if (dx) execute(ConvOp::BwdData, s, dx, w, dy);
  if (dw) execute(ConvOp::BwdFilter, s, x, dw, dy);
  if (db) {
    channel_sum_add<<<s.O, 256, 0, cur_stream()>>>(db, dy, s.N, s.O, int64_t(s.HO) * s.WO);
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace cudistill::cuda

#undef SET_ATTR
