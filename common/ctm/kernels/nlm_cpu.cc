// The CTM's deep neuron-level models as one fused CPU kernel (XLA FFI): forward and backward of
//
//   u1 = (x . w1 + b1) / t1,  h = GLU(u1),  u2 = (h . w2 + b2) / t2,  z = GLU(u2)
//
// per neuron d, in the tick's 'dib' layout: x (D, M, B), w1 (D, M, 2H), b1 (D, 2H), w2 (D, H, 2), b2 (D, 2), t1 and
// t2 scalars, z (D, B); GLU(u) = first half * sigmoid(second half). common/ctm/fused_nlm.py builds and calls it.
//
// Why: XLA runs these as a dozen separate loops per tick that each stream the (D, 2H, B) activations through memory
// (the first layer's output alone is 1 MB a tick at parity-16), and their weight gradients as a batched matmul of D
// tiny blocks. Here the work runs in blocks of one neuron and 16 examples (one 16-float vector, V below): the block's
// activations live in a few dozen vectors in L1, from the first layer to the output, and the backward pass
// recomputes them instead of reading saved ones. The weight gradients are accumulated per lane over the neuron's
// blocks and summed across lanes once per neuron, 16 sums at a time (reduce_lanes).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

constexpr int V = 16;  // lanes: the batch is processed 16 examples at a time (one AVX-512 register; two AVX2 ones)
typedef float vf __attribute__((vector_size(V * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(V * sizeof(int32_t))));
typedef float vf_unaligned __attribute__((vector_size(V * sizeof(float)), aligned(4)));

inline vf splat(float a) { return vf{} + a; }

// Loads V floats from p (n <= V valid; the rest 0) and stores the first n lanes of a to p.
inline vf load(const float* p, int n) {
  if (n == V) return *reinterpret_cast<const vf_unaligned*>(p);
  vf a{};
  std::memcpy(&a, p, n * sizeof(float));
  return a;
}
inline void store(float* p, vf a, int n) {
  if (n == V) {
    *reinterpret_cast<vf_unaligned*>(p) = a;
  } else {
    std::memcpy(p, &a, n * sizeof(float));
  }
}

// exp(x): Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2 (n rounded to nearest by the 1.5 * 2^23 trick),
// and a degree-6 polynomial for exp(r) (the classic single-precision minimax coefficients), about 1 ulp; x is
// clamped to the float range first.
inline vf exp_approx(vf x) {
  x = x < splat(-87.3365447505f) ? splat(-87.3365447505f) : x;
  x = x > splat(88.3762626647f) ? splat(88.3762626647f) : x;
  const vf n = (x * 1.44269504089f + 12582912.0f) - 12582912.0f;
  const vf r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;  // 2^n
  vf scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

inline vf sigmoid(vf x) { return 1.0f / (1.0f + exp_approx(-x)); }

// out[k] = sum of the lanes of acc[k] for k < n: 16 vectors at a time through a tree of shuffles and adds (each
// level halves the lanes per vector and doubles the vectors per register), the rest one by one.
void reduce_lanes(const vf* acc, int64_t n, float* out) {
  int64_t k = 0;
  for (; k + V <= n; k += V) {
    vf a[8], b[4], c[2];
    for (int i = 0; i < 8; ++i) {
      const vf lo = __builtin_shufflevector(acc[k + 2 * i], acc[k + 2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18,
                                            19, 20, 21, 22, 23);
      const vf hi = __builtin_shufflevector(acc[k + 2 * i], acc[k + 2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24,
                                            25, 26, 27, 28, 29, 30, 31);
      a[i] = lo + hi;  // lanes 0-7: vector 2i's partial sums, 8-15: vector 2i + 1's
    }
    for (int i = 0; i < 4; ++i) {
      const vf lo = __builtin_shufflevector(a[2 * i], a[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25,
                                            26, 27);
      const vf hi = __builtin_shufflevector(a[2 * i], a[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28,
                                            29, 30, 31);
      b[i] = lo + hi;  // four groups of 4 lanes: vectors 4i .. 4i + 3
    }
    for (int i = 0; i < 2; ++i) {
      const vf lo = __builtin_shufflevector(b[2 * i], b[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25,
                                            28, 29);
      const vf hi = __builtin_shufflevector(b[2 * i], b[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26,
                                            27, 30, 31);
      c[i] = lo + hi;  // eight groups of 2 lanes: vectors 8i .. 8i + 7
    }
    const vf lo = __builtin_shufflevector(c[0], c[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const vf hi = __builtin_shufflevector(c[0], c[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    store(out + k, lo + hi, V);
  }
  for (; k < n; ++k) {
    float s = 0.0f;
    for (int l = 0; l < V; ++l) s += acc[k][l];
    out[k] = s;
  }
}

// Runs work(c) for c in [0, chunks) on the calling thread and XLA's intra-op thread pool. Chunks are claimed from a
// shared counter, so a helper task that starts late (its threads busy with other ops) finds nothing left and the
// caller, having done the rest itself, waits only for chunks a helper is running. The state is shared-owned because
// a helper may start after the call has returned.
struct ParallelState {
  std::atomic<int64_t> next{0}, done{0};
  int64_t chunks;
  std::function<void(int64_t)> work;
  void drain() {
    for (int64_t c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      work(c);
      done.fetch_add(1, std::memory_order_release);
    }
  }
};

void parallel_for(ffi::ThreadPool& pool, int64_t chunks, std::function<void(int64_t)> work) {
  auto state = std::make_shared<ParallelState>();
  state->chunks = chunks;
  state->work = std::move(work);
  const int64_t helpers = std::min<int64_t>(pool.num_threads(), chunks) - 1;
  for (int64_t h = 0; h < helpers; ++h) pool.Schedule([state] { state->drain(); });
  state->drain();
  while (state->done.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
  state->work = nullptr;  // a late helper finds no chunk and must not touch the caller's (gone) frame
}

// Neurons per parallel chunk: enough work per chunk to amortise claiming it.
constexpr int64_t kNeuronsPerChunk = 32;

struct Shapes {
  int64_t d, m, h, b;  // neurons, memory length (the first layer's inputs), hidden width H, batch
};

// One block's activations (vectors over its 16 examples): inputs xs (M), first layer u1 (2H), sigmoid of its gate
// half s1 (H), hidden h (H); the second layer's u2_0 and s2 = sigmoid(u2_1) are returned through u20, s2.
struct Block {
  std::vector<vf> xs, u1, s1, h;
  explicit Block(const Shapes& s) : xs(s.m), u1(2 * s.h), s1(s.h), h(s.h) {}
};

inline void block_forward(const Shapes& s, const float* w1, const float* b1, float t1, const float* w2,
                          const float* b2, float t2, Block& k, vf& u20, vf& s2) {
  const int64_t M = s.m, H2 = 2 * s.h, H = s.h;
  const float r1 = 1.0f / t1, r2 = 1.0f / t2;
  int64_t o = 0;
  for (; o + 8 <= H2; o += 8) {  // eight outputs at a time: each input vector is loaded once for eight products
    vf a[8];
    for (int q = 0; q < 8; ++q) a[q] = k.xs[0] * w1[o + q];
    for (int64_t i = 1; i < M; ++i) {
      const vf xi = k.xs[i];
      const float* w = w1 + i * H2 + o;
      for (int q = 0; q < 8; ++q) a[q] += xi * w[q];
    }
    for (int q = 0; q < 8; ++q) k.u1[o + q] = (a[q] + b1[o + q]) * r1;
  }
  for (; o < H2; ++o) {
    vf acc = k.xs[0] * w1[o];
    for (int64_t i = 1; i < M; ++i) acc += k.xs[i] * w1[i * H2 + o];
    k.u1[o] = (acc + b1[o]) * r1;
  }
  vf v0 = {}, v1 = {};
  for (int64_t j = 0; j < H; ++j) {
    k.s1[j] = sigmoid(k.u1[H + j]);
    k.h[j] = k.u1[j] * k.s1[j];
    v0 += k.h[j] * w2[2 * j];
    v1 += k.h[j] * w2[2 * j + 1];
  }
  u20 = (v0 + b2[0]) * r2;
  s2 = sigmoid((v1 + b2[1]) * r2);
}

void load_block(const Shapes& s, const float* x, int64_t b0, int n, Block& k) {
  for (int64_t i = 0; i < s.m; ++i) k.xs[i] = load(x + i * s.b + b0, n);
}

ffi::Error check(const Shapes& s, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w1, ffi::Buffer<ffi::F32> b1,
                 ffi::Buffer<ffi::F32> w2, ffi::Buffer<ffi::F32> b2) {
  auto xd = x.dimensions(), w1d = w1.dimensions(), w2d = w2.dimensions();
  if (xd.size() != 3 || w1d.size() != 3 || w2d.size() != 3 || w1d[0] != s.d || w1d[1] != s.m ||
      w1d[2] != 2 * s.h || w2d[0] != s.d || w2d[2] != 2 || b1.element_count() != static_cast<size_t>(s.d * 2 * s.h) ||
      b2.element_count() != static_cast<size_t>(s.d * 2)) {
    return ffi::Error::InvalidArgument("brainnets NLM kernel: shapes do not match x (D, M, B), w1 (D, M, 2H), "
                                       "b1 (D, 2H), w2 (D, H, 2), b2 (D, 2)");
  }
  return ffi::Error::Success();
}

Shapes shapes_of(ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w2) {
  auto xd = x.dimensions(), w2d = w2.dimensions();
  return Shapes{xd[0], xd[1], w2d.size() == 3 ? w2d[1] : 0, xd[2]};
}

ffi::Error NlmForward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w1,
                      ffi::Buffer<ffi::F32> b1, ffi::Buffer<ffi::F32> t1, ffi::Buffer<ffi::F32> w2,
                      ffi::Buffer<ffi::F32> b2, ffi::Buffer<ffi::F32> t2, ffi::ResultBuffer<ffi::F32> z) {
  const Shapes s = shapes_of(x, w2);
  if (ffi::Error e = check(s, x, w1, b1, w2, b2); e.failure()) return e;
  const float temp1 = t1.typed_data()[0], temp2 = t2.typed_data()[0];
  auto neurons = [&](int64_t chunk) {
    Block k(s);
    const int64_t end = std::min(s.d, (chunk + 1) * kNeuronsPerChunk);
    for (int64_t d = chunk * kNeuronsPerChunk; d < end; ++d) {
      const float* xd = x.typed_data() + d * s.m * s.b;
      for (int64_t b0 = 0; b0 < s.b; b0 += V) {
        const int n = static_cast<int>(s.b - b0 < V ? s.b - b0 : V);
        load_block(s, xd, b0, n, k);
        vf u20, s2;
        block_forward(s, w1.typed_data() + d * s.m * 2 * s.h, b1.typed_data() + d * 2 * s.h, temp1,
                      w2.typed_data() + d * s.h * 2, b2.typed_data() + d * 2, temp2, k, u20, s2);
        store(z->typed_data() + d * s.b + b0, u20 * s2, n);
      }
    }
  };
  parallel_for(pool, (s.d + kNeuronsPerChunk - 1) / kNeuronsPerChunk, neurons);
  return ffi::Error::Success();
}

// dw1 (M, 2H) of one neuron from its blocks' inputs xs (blocks x M vectors) and first-layer output gradients g1
// (blocks x 2H vectors): dw1[i, o] = sum over blocks and lanes of xs[i] g1[o]. Tiles of 2 inputs x 8 outputs keep
// their 16 sums in registers over the blocks (10 loads for 16 products) and are summed across lanes together; the
// rows and columns left over when M or 2H do not divide are summed one by one.
void first_layer_weight_grad(const vf* xs, const vf* g1, int64_t blocks, int64_t M, int64_t H2, float* dw1) {
  float sums[V];
  int64_t i = 0;
  for (; i + 2 <= M; i += 2) {
    int64_t o = 0;
    for (; o + 8 <= H2; o += 8) {
      vf acc[16] = {};
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const vf x0 = xs[blk * M + i], x1 = xs[blk * M + i + 1];
        const vf* g = g1 + blk * H2 + o;
        for (int q = 0; q < 8; ++q) {
          acc[q] += x0 * g[q];
          acc[8 + q] += x1 * g[q];
        }
      }
      reduce_lanes(acc, 16, sums);
      std::memcpy(dw1 + i * H2 + o, sums, 8 * sizeof(float));
      std::memcpy(dw1 + (i + 1) * H2 + o, sums + 8, 8 * sizeof(float));
    }
    for (; o < H2; ++o) {
      vf acc[2] = {};
      for (int64_t blk = 0; blk < blocks; ++blk) {
        acc[0] += xs[blk * M + i] * g1[blk * H2 + o];
        acc[1] += xs[blk * M + i + 1] * g1[blk * H2 + o];
      }
      reduce_lanes(acc, 2, sums);
      dw1[i * H2 + o] = sums[0];
      dw1[(i + 1) * H2 + o] = sums[1];
    }
  }
  for (; i < M; ++i) {
    for (int64_t o = 0; o < H2; ++o) {
      vf acc = {};
      for (int64_t blk = 0; blk < blocks; ++blk) acc += xs[blk * M + i] * g1[blk * H2 + o];
      reduce_lanes(&acc, 1, dw1 + i * H2 + o);
    }
  }
}

// Gradients of z with respect to x, w1, b1, w2, b2 given gz = dL/dz (D, B). The temperatures' gradients are not
// computed here: fused_nlm.py takes them from these as -(sum(w * dw) + sum(b * db)) / t. Per neuron, a first pass
// over its blocks recomputes the activations, writes dx and keeps each block's inputs and first-layer gradients (a
// few KB, in L1); dw1 is then summed over them in register tiles.
ffi::Error NlmBackward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> x, ffi::Buffer<ffi::F32> w1,
                       ffi::Buffer<ffi::F32> b1, ffi::Buffer<ffi::F32> t1, ffi::Buffer<ffi::F32> w2,
                       ffi::Buffer<ffi::F32> b2, ffi::Buffer<ffi::F32> t2, ffi::Buffer<ffi::F32> gz,
                       ffi::ResultBuffer<ffi::F32> dx, ffi::ResultBuffer<ffi::F32> dw1,
                       ffi::ResultBuffer<ffi::F32> db1, ffi::ResultBuffer<ffi::F32> dw2,
                       ffi::ResultBuffer<ffi::F32> db2) {
  const Shapes s = shapes_of(x, w2);
  if (ffi::Error e = check(s, x, w1, b1, w2, b2); e.failure()) return e;
  const int64_t B = s.b, M = s.m, H = s.h, H2 = 2 * s.h, blocks = (s.b + V - 1) / V;
  const float temp1 = t1.typed_data()[0], temp2 = t2.typed_data()[0];
  const float r1 = 1.0f / temp1, r2 = 1.0f / temp2;  // the divisions by t as products, as in block_forward
  auto neurons = [&](int64_t chunk) {
    Block k(s);
    std::vector<vf> xs(blocks * M), g1(blocks * H2);
    // Per-lane accumulators of the small gradients, in the parameters' layouts: b1 (2H), w2 (H, 2), b2 (2), so that
    // one reduce_lanes call sums them all.
    std::vector<vf> acc(H2 + H * 2 + 2);
    std::vector<float> sums(acc.size());
    const int64_t end = std::min(s.d, (chunk + 1) * kNeuronsPerChunk);
    for (int64_t d = chunk * kNeuronsPerChunk; d < end; ++d) {
      const float* xd = x.typed_data() + d * M * B;
      const float* w1d = w1.typed_data() + d * M * H2;
      const float* w2d = w2.typed_data() + d * H * 2;
      std::fill(acc.begin(), acc.end(), vf{});
      vf* a_b1 = acc.data();
      vf* a_w2 = a_b1 + H2;
      vf* a_b2 = a_w2 + H * 2;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t b0 = blk * V;
        const int n = static_cast<int>(B - b0 < V ? B - b0 : V);
        load_block(s, xd, b0, n, k);
        vf u20, s2;
        block_forward(s, w1d, b1.typed_data() + d * H2, temp1, w2d, b2.typed_data() + d * 2, temp2, k, u20, s2);
        // z = u2_0 s2: dz/du2_0 = s2, dz/du2_1 = u2_0 s2 (1 - s2); then through the division by t2. Lanes past the
        // batch's end load 0 from gz, so they add nothing to the sums.
        const vf g = load(gz.typed_data() + d * B + b0, n);
        const vf gv0 = g * s2 * r2;
        const vf gv1 = g * u20 * s2 * (1.0f - s2) * r2;
        a_b2[0] += gv0;
        a_b2[1] += gv1;
        vf* gb = g1.data() + blk * H2;
        for (int64_t j = 0; j < H; ++j) {
          a_w2[2 * j] += k.h[j] * gv0;
          a_w2[2 * j + 1] += k.h[j] * gv1;
          // dh_j, then through the first GLU (h_j = u1_j s1_j) and the division by t1.
          const vf dh = gv0 * w2d[2 * j] + gv1 * w2d[2 * j + 1];
          gb[j] = dh * k.s1[j] * r1;
          gb[H + j] = dh * k.u1[j] * k.s1[j] * (1.0f - k.s1[j]) * r1;
        }
        for (int64_t o = 0; o < H2; ++o) a_b1[o] += gb[o];
        float* dxd = dx->typed_data() + d * M * B + b0;
        int64_t i = 0;
        for (; i + 4 <= M; i += 4) {  // dx[i] = sum_o w1[i, o] g1[o], four inputs at a time (one load of g1[o])
          vf a[4] = {};
          for (int64_t o = 0; o < H2; ++o) {
            for (int r = 0; r < 4; ++r) a[r] += gb[o] * w1d[(i + r) * H2 + o];
          }
          for (int r = 0; r < 4; ++r) store(dxd + (i + r) * B, a[r], n);
        }
        for (; i < M; ++i) {
          vf a = {};
          for (int64_t o = 0; o < H2; ++o) a += gb[o] * w1d[i * H2 + o];
          store(dxd + i * B, a, n);
        }
        std::copy(k.xs.begin(), k.xs.end(), xs.begin() + blk * M);
      }
      first_layer_weight_grad(xs.data(), g1.data(), blocks, M, H2, dw1->typed_data() + d * M * H2);
      reduce_lanes(acc.data(), static_cast<int64_t>(acc.size()), sums.data());
      std::memcpy(db1->typed_data() + d * H2, sums.data(), H2 * sizeof(float));
      std::memcpy(dw2->typed_data() + d * H * 2, sums.data() + H2, H * 2 * sizeof(float));
      std::memcpy(db2->typed_data() + d * 2, sums.data() + H2 + H * 2, 2 * sizeof(float));
    }
  };
  parallel_for(pool, (s.d + kNeuronsPerChunk - 1) / kNeuronsPerChunk, neurons);
  return ffi::Error::Success();
}

}  // namespace

// Both handlers take XLA's thread pool and the seven inputs x, w1, b1, t1, w2, b2, t2 (all float32).
static auto bind_inputs() {
  using F32 = ffi::Buffer<ffi::F32>;
  return ffi::Ffi::Bind()
      .Ctx<ffi::ThreadPool>()
      .Arg<F32>()  // x
      .Arg<F32>()  // w1
      .Arg<F32>()  // b1
      .Arg<F32>()  // t1
      .Arg<F32>()  // w2
      .Arg<F32>()  // b2
      .Arg<F32>();  // t2
}

// Forward: -> z. Backward: the cotangent gz -> dx, dw1, db1, dw2, db2.
XLA_FFI_DEFINE_HANDLER_SYMBOL(BrainnetsNlmForward, NlmForward, bind_inputs().Ret<ffi::Buffer<ffi::F32>>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(BrainnetsNlmBackward, NlmBackward,
                              bind_inputs()
                                  .Arg<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>()
                                  .Ret<ffi::Buffer<ffi::F32>>());
