/*
 * tfjs-zarr's compute kernels for wasm32 + SIMD128: 3D convolution (forward, input gradient via
 * the forward on a padded gradient, kernel and bias gradient), zero padding with an optional
 * ReLU mask, max pooling and nearest up-sampling with per-axis factors, and their gradients.
 *
 * Built by scripts/build-kernels.ts (clang for wasm32, -msimd128); src/kernels/kernels-wasm.ts
 * holds the result. Conventions:
 * - Tensors are float32, channels-last, C order: [b, z, y, x, c].
 * - Every entry point takes a pointer to its argument block (32-bit fields only, written by
 *   src/kernels/jobs.ts with the same layout) and a task index. The caller splits a job into
 *   tasks that threads claim one at a time; each task writes only its own part of the output, and
 *   what a task computes does not depend on how many threads run, so results are the same for
 *   every thread count.
 * - No globals and nothing on the shadow stack: all instances share one memory, one per thread.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef float f32;

INLINE int min_int(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------------------------------------ */
/* Zero padding, with an optional ReLU mask.                                                   */

typedef struct {
  const f32 *src;  /* [B, Z, Y, X, C] */
  const f32 *mask; /* same shape as src, or 0: dst = src where mask > 0, else 0 (ReLU gradient) */
  f32 *dst;        /* [B, Z + pz0 + pz1, Y + py0 + py1, X + px0 + px1, Cd], zero outside src */
  int B, Z, Y, X, C, Cd;
  int pz0, pz1, py0, py1, px0, px1;
} pad_args;

/* Task t: destination plane t (batch t / Zd, z t % Zd). */
EXPORT(pad_task)
void pad_task(const pad_args *a, int t) {
  const int Zd = a->Z + a->pz0 + a->pz1, Yd = a->Y + a->py0 + a->py1, Xd = a->X + a->px0 + a->px1;
  const int b = t / Zd, zd = t % Zd, z = zd - a->pz0, C = a->C, Cd = a->Cd;
  f32 *plane = a->dst + (long)t * Yd * Xd * Cd;
  if (z < 0 || z >= a->Z) {
    for (long i = 0, n = (long)Yd * Xd * Cd; i < n; i++) plane[i] = 0;
    return;
  }
  for (int yd = 0; yd < Yd; yd++) {
    f32 *row = plane + (long)yd * Xd * Cd;
    const int y = yd - a->py0;
    if (y < 0 || y >= a->Y) {
      for (long i = 0, n = (long)Xd * Cd; i < n; i++) row[i] = 0;
      continue;
    }
    for (long i = 0, n = (long)a->px0 * Cd; i < n; i++) row[i] = 0;
    for (long i = (long)(a->px0 + a->X) * Cd, n = (long)Xd * Cd; i < n; i++) row[i] = 0;
    const long at = (((long)b * a->Z + z) * a->Y + y) * a->X * C;
    const f32 *s = a->src + at;
    f32 *d = row + (long)a->px0 * Cd;
    const f32 *m = a->mask ? a->mask + at : 0;
    if (Cd == C && !m) {
      long n = (long)a->X * C, i = 0;
      for (; i + 4 <= n; i += 4) wasm_v128_store(d + i, wasm_v128_load(s + i));
      for (; i < n; i++) d[i] = s[i];
    } else if (Cd == C) {
      long n = (long)a->X * C, i = 0;
      const v128_t zero = wasm_f32x4_splat(0);
      for (; i + 4 <= n; i += 4) {
        v128_t keep = wasm_f32x4_gt(wasm_v128_load(m + i), zero);
        wasm_v128_store(d + i, wasm_v128_and(wasm_v128_load(s + i), keep));
      }
      for (; i < n; i++) d[i] = m[i] > 0 ? s[i] : 0;
    } else {
      for (int x = 0; x < a->X; x++) {
        for (int c = 0; c < C; c++) d[c] = (!m || m[c] > 0) ? s[c] : 0;
        for (int c = C; c < Cd; c++) d[c] = 0;
        s += C;
        d += Cd;
        if (m) m += C;
      }
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Convolution: y = act(sum over inputs and taps of x * w + bias), on zero-padded inputs.      */

#define MAX_SEGMENTS 4

typedef struct {
  /* Inputs ("segments", the channel concatenation of which is convolved), each padded:
     [B, Zp, Yp, Xp, cin[i]], with its weights packed by output-channel tile (see conv_tile). */
  int nseg;
  const f32 *in[MAX_SEGMENTS];
  int cin[MAX_SEGMENTS];
  const f32 *w[MAX_SEGMENTS];
  const f32 *bias; /* [coutp] or 0 */
  f32 *out;        /* [B, Zo, Yo, Xo, cout] */
  int B, Zp, Yp, Xp;
  int kz, ky, kx;
  int Zo, Yo, Xo;
  int cout, coutp; /* coutp: cout rounded up to a multiple of 4 */
  int relu;
  int rows_per_task; /* output rows (b, z, y) per task */
} conv_args;

/*
 * One tile of MR consecutive output voxels of a row by 4·NV output channels [co, co + 4·NV). The
 * reduction runs over (input, dz, dy) and, inside, over kx·cin contiguous values: with
 * channels-last data the input of taps dx = 0…kx−1 of voxel x + m is one run from (x + m)·cin.
 * A segment's weights hold, for each tile of 8 output channels (and a last one of 4 when coutp is
 * not a multiple of 8), its K = kz·ky·kx·cin rows of 4·NV values: the tile starts at co·K and its
 * rows are contiguous, so the loads use constant offsets.
 */
INLINE void conv_tile(const conv_args *a, int MR, int NV, int b, int oz, int oy, int ox, int co, f32 *orow) {
  v128_t acc[4][2];
  for (int v = 0; v < NV; v++) {
    v128_t init = a->bias ? wasm_v128_load(a->bias + co + 4 * v) : wasm_f32x4_splat(0);
    for (int m = 0; m < MR; m++) acc[m][v] = init;
  }
  const int W = 4 * NV;
  for (int s = 0; s < a->nseg; s++) {
    const int cin = a->cin[s], L = a->kx * cin;
    const f32 *wt = a->w[s] + (long)co * a->kz * a->ky * L;
    for (int dz = 0; dz < a->kz; dz++) {
      for (int dy = 0; dy < a->ky; dy++) {
        const f32 *ap = a->in[s] + (((long)(b * a->Zp + oz + dz) * a->Yp + oy + dy) * a->Xp + ox) * cin;
        const f32 *a0 = ap, *a1 = ap + cin, *a2 = ap + 2 * cin, *a3 = ap + 3 * cin;
        const f32 *wp = wt + (long)(dz * a->ky + dy) * L * W;
        for (int j = 0; j < L; j++) {
          v128_t w0 = wasm_v128_load(wp + j * W);
          v128_t w1 = NV > 1 ? wasm_v128_load(wp + j * W + 4) : w0;
#define CONV_MAC(m, p)                                                               \
  if (MR > m) {                                                                      \
    v128_t x = wasm_v128_load32_splat(p + j);                                        \
    acc[m][0] = wasm_f32x4_add(acc[m][0], wasm_f32x4_mul(x, w0));                    \
    if (NV > 1) acc[m][1] = wasm_f32x4_add(acc[m][1], wasm_f32x4_mul(x, w1));        \
  }
          CONV_MAC(0, a0)
          CONV_MAC(1, a1)
          CONV_MAC(2, a2)
          CONV_MAC(3, a3)
#undef CONV_MAC
        }
      }
    }
  }
  const int cout = a->cout;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int m = 0; m < MR; m++) {
    f32 *o = orow + (long)(ox + m) * cout + co;
    for (int v = 0; v < NV; v++) {
      v128_t r = a->relu ? wasm_f32x4_max(acc[m][v], zero) : acc[m][v];
      int left = cout - co - 4 * v;
      if (left >= 4) {
        wasm_v128_store(o + 4 * v, r);
      } else {
        if (left > 0) o[4 * v] = wasm_f32x4_extract_lane(r, 0);
        if (left > 1) o[4 * v + 1] = wasm_f32x4_extract_lane(r, 1);
        if (left > 2) o[4 * v + 2] = wasm_f32x4_extract_lane(r, 2);
      }
    }
  }
}

EXPORT(conv_task)
void conv_task(const conv_args *a, int t) {
  const int rows = a->B * a->Zo * a->Yo;
  const int r0 = t * a->rows_per_task, r1 = min_int(rows, r0 + a->rows_per_task);
  for (int r = r0; r < r1; r++) {
    const int oy = r % a->Yo, bz = r / a->Yo, oz = bz % a->Zo, b = bz / a->Zo;
    f32 *orow = a->out + (long)r * a->Xo * a->cout;
    int co = 0;
    for (; co + 8 <= a->coutp; co += 8) {
      int ox = 0;
      for (; ox + 4 <= a->Xo; ox += 4) conv_tile(a, 4, 2, b, oz, oy, ox, co, orow);
      for (; ox < a->Xo; ox++) conv_tile(a, 1, 2, b, oz, oy, ox, co, orow);
    }
    if (co < a->coutp) {
      int ox = 0;
      for (; ox + 4 <= a->Xo; ox += 4) conv_tile(a, 4, 1, b, oz, oy, ox, co, orow);
      for (; ox < a->Xo; ox++) conv_tile(a, 1, 1, b, oz, oy, ox, co, orow);
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Kernel and bias gradient: dW[tap, ci, co] = sum over output voxels v of x[v + tap, ci]·g[v, co], */
/* db[co] = sum over v of g[v, co]. Partial sums per chunk of output rows, added up in order by  */
/* filter_grad_reduce, so the result does not depend on the number of threads.                   */

typedef struct {
  const f32 *in; /* one padded input [B, Zp, Yp, Xp, cin] */
  int cin;
  int Zp, Yp, Xp;
  int kz, ky, kx;
  /* g: the output gradient of voxel (b, z, y, x) at g + b·gb + z·gz + y·gy + x·coutp */
  const f32 *g;
  int gb, gz, gy;
  int B, Zo, Yo, Xo;
  int coutp;
  f32 *partial;      /* [chunks][K + 1][coutp]: row K holds the bias gradient */
  int rows_per_chunk; /* output rows per chunk */
  int k_per_task;     /* rows of K per task (a multiple of 4) */
  int k_blocks;       /* tasks per chunk: ceil(K / k_per_task) */
  int with_bias;
} filter_grad_args;

#define FG_ROW_BLOCK 4

/*
 * Accumulates one K tile (4 rows of K at offsets off0…off3 from a voxel's tap-0 input) × 4·NV
 * channels over the output voxels of up to FG_ROW_BLOCK rows (row r: input row base a_r, output
 * gradient row base g_r), and adds the sums to dst.
 */
INLINE void filter_grad_tile(const filter_grad_args *a, int NV, int nrows, const f32 *ar0, const f32 *ar1,
                             const f32 *ar2, const f32 *ar3, const f32 *gr0, const f32 *gr1, const f32 *gr2,
                             const f32 *gr3, int off0, int off1, int off2, int off3, int co, f32 *dst, int krows) {
  v128_t acc[4][2];
  for (int m = 0; m < 4; m++) acc[m][0] = acc[m][1] = wasm_f32x4_splat(0);
  const int cin = a->cin;
  for (int r = 0; r < FG_ROW_BLOCK; r++) {
    if (r >= nrows) break;
    const f32 *ap = r == 0 ? ar0 : r == 1 ? ar1 : r == 2 ? ar2 : ar3;
    const f32 *gp = (r == 0 ? gr0 : r == 1 ? gr1 : r == 2 ? gr2 : gr3) + co;
    const f32 *a0 = ap + off0, *a1 = ap + off1, *a2 = ap + off2, *a3 = ap + off3;
    for (int ox = 0; ox < a->Xo; ox++) {
      v128_t g0 = wasm_v128_load(gp);
      v128_t g1 = NV > 1 ? wasm_v128_load(gp + 4) : g0;
      gp += a->coutp;
      v128_t x;
#define FG_MAC(m, p)                                                                 \
  x = wasm_v128_load32_splat(p);                                                     \
  acc[m][0] = wasm_f32x4_add(acc[m][0], wasm_f32x4_mul(x, g0));                      \
  if (NV > 1) acc[m][1] = wasm_f32x4_add(acc[m][1], wasm_f32x4_mul(x, g1));
      FG_MAC(0, a0)
      FG_MAC(1, a1)
      FG_MAC(2, a2)
      FG_MAC(3, a3)
#undef FG_MAC
      a0 += cin;
      a1 += cin;
      a2 += cin;
      a3 += cin;
    }
  }
  for (int m = 0; m < 4; m++) /* constant bounds keep acc in registers */
    for (int v = 0; v < NV; v++) {
      if (m >= krows) continue;
      f32 *p = dst + (long)m * a->coutp + co + 4 * v;
      wasm_v128_store(p, wasm_f32x4_add(wasm_v128_load(p), acc[m][v]));
    }
}

/* Input row base (tap 0) and output gradient row base of output row r. */
INLINE const f32 *fg_input_row(const filter_grad_args *a, int r) {
  const int oy = r % a->Yo, bz = r / a->Yo, oz = bz % a->Zo, b = bz / a->Zo;
  return a->in + (((long)(b * a->Zp + oz) * a->Yp + oy) * a->Xp) * a->cin;
}

INLINE const f32 *fg_gradient_row(const filter_grad_args *a, int r) {
  const int oy = r % a->Yo, bz = r / a->Yo, oz = bz % a->Zo, b = bz / a->Zo;
  return a->g + (long)b * a->gb + (long)oz * a->gz + (long)oy * a->gy;
}

/* Task t: chunk t / k_blocks of output rows, rows [kb·k_per_task, ...) of K (kb = t % k_blocks). */
EXPORT(filter_grad_task)
void filter_grad_task(const filter_grad_args *a, int t) {
  const int cin = a->cin, L = a->kx * cin, K = a->kz * a->ky * L, coutp = a->coutp;
  const int chunk = t / a->k_blocks, kb = t % a->k_blocks;
  const int rows = a->B * a->Zo * a->Yo;
  const int r0 = chunk * a->rows_per_chunk, r1 = min_int(rows, r0 + a->rows_per_chunk);
  const int k0 = kb * a->k_per_task, k1 = min_int(K, k0 + a->k_per_task);
  f32 *part = a->partial + (long)chunk * (K + 1) * coutp;
  for (long i = (long)k0 * coutp, n = (long)k1 * coutp; i < n; i++) part[i] = 0;
  const int bias = a->with_bias && kb == 0;
  if (bias)
    for (int c = 0; c < coutp; c++) part[(long)K * coutp + c] = 0;
  /* Row k of K is (dz, dy, j = dx·cin + ci); its input is at offset (dz·Yp + dy)·Xp·cin + j. */
  const int row_step = a->Xp * cin - L, plane_step = (a->Yp - a->ky) * a->Xp * cin;
  const int j_start = k0 % L, tap_start = k0 / L;
  const int off_start = ((tap_start / a->ky) * a->Yp + tap_start % a->ky) * a->Xp * cin + j_start;
  for (int rb = r0; rb < r1; rb += FG_ROW_BLOCK) {
    const int nrows = min_int(r1 - rb, FG_ROW_BLOCK);
    const f32 *ar0 = fg_input_row(a, rb), *gr0 = fg_gradient_row(a, rb);
    const f32 *ar1 = nrows > 1 ? fg_input_row(a, rb + 1) : ar0, *gr1 = nrows > 1 ? fg_gradient_row(a, rb + 1) : gr0;
    const f32 *ar2 = nrows > 2 ? fg_input_row(a, rb + 2) : ar0, *gr2 = nrows > 2 ? fg_gradient_row(a, rb + 2) : gr0;
    const f32 *ar3 = nrows > 3 ? fg_input_row(a, rb + 3) : ar0, *gr3 = nrows > 3 ? fg_gradient_row(a, rb + 3) : gr0;
    int j = j_start, dy = tap_start % a->ky, off = off_start;
    for (int k = k0; k < k1; k += 4) {
      /* Offsets of rows k…k+3, stepping the cursor (j, dy, off) one row at a time; rows past
         this task's last repeat it and are not stored. */
      int o[4];
      for (int m = 0; m < 4; m++) {
        o[m] = off;
        if (k + m + 1 < k1) {
          off++;
          if (++j == L) {
            j = 0;
            off += row_step;
            if (++dy == a->ky) {
              dy = 0;
              off += plane_step;
            }
          }
        }
      }
      const int krows = min_int(4, k1 - k);
      f32 *dst = part + (long)k * coutp;
      int co = 0;
      for (; co + 8 <= coutp; co += 8)
        filter_grad_tile(a, 2, nrows, ar0, ar1, ar2, ar3, gr0, gr1, gr2, gr3, o[0], o[1], o[2], o[3], co, dst, krows);
      if (co < coutp)
        filter_grad_tile(a, 1, nrows, ar0, ar1, ar2, ar3, gr0, gr1, gr2, gr3, o[0], o[1], o[2], o[3], co, dst, krows);
    }
    if (bias) {
      f32 *db = part + (long)K * coutp;
      for (int r = rb; r < rb + nrows; r++) {
        const f32 *gp = fg_gradient_row(a, r);
        for (int c = 0; c < coutp; c += 4) {
          v128_t s = wasm_f32x4_splat(0);
          for (int ox = 0; ox < a->Xo; ox++) s = wasm_f32x4_add(s, wasm_v128_load(gp + (long)ox * coutp + c));
          wasm_v128_store(db + c, wasm_f32x4_add(wasm_v128_load(db + c), s));
        }
      }
    }
  }
}

typedef struct {
  const f32 *partial; /* [chunks][K + 1][coutp] */
  int chunks, K, coutp, cout;
  f32 *dw;             /* [taps][cin_total][cout]; this input's rows start at channel ci0 */
  int cin, cin_total, ci0;
  f32 *db;             /* [cout] or 0 */
  int k_per_task;
} filter_grad_reduce_args;

/* Task t: rows [t·k_per_task, ...) of K (the last task also writes the bias gradient). */
EXPORT(filter_grad_reduce_task)
void filter_grad_reduce_task(const filter_grad_reduce_args *a, int t) {
  const int coutp = a->coutp, cout = a->cout;
  const long stride = (long)(a->K + 1) * coutp;
  const int k0 = t * a->k_per_task, k1 = min_int(a->K, k0 + a->k_per_task);
  for (int k = k0; k < k1; k++) {
    const int tap = k / a->cin, ci = k % a->cin;
    f32 *o = a->dw + ((long)tap * a->cin_total + a->ci0 + ci) * cout;
    for (int c = 0; c < cout; c++) {
      f32 s = 0;
      for (int p = 0; p < a->chunks; p++) s += a->partial[p * stride + (long)k * coutp + c];
      o[c] = s;
    }
  }
  if (a->db && k1 == a->K) {
    for (int c = 0; c < cout; c++) {
      f32 s = 0;
      for (int p = 0; p < a->chunks; p++) s += a->partial[p * stride + (long)a->K * coutp + c];
      a->db[c] = s;
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Max pooling (pool = stride = f per axis, 'valid') and its gradient; nearest up-sampling and  */
/* its gradient. Vectorised over channels.                                                     */

typedef struct {
  const f32 *fine;   /* [B, Z, Y, X, C]: the pooling input, the up-sampling output's gradient */
  const f32 *coarse; /* [B, Z/fz, Y/fy, X/fx, C]: the up-sampling input, the pooling output's gradient */
  f32 *out;          /* the fine or coarse result */
  int B, Z, Y, X, C; /* fine sizes */
  int fz, fy, fx;
} resample_args;

#define RS_DIMS                                                                      \
  const int C = a->C, fz = a->fz, fy = a->fy, fx = a->fx;                            \
  const int Zs = a->Z / fz, Ys = a->Y / fy, Xs = a->X / fx;                          \
  const int b = t / Zs, zs = t % Zs;                                                 \
  (void)b;                                                                           \
  (void)zs;

INLINE const f32 *rs_fine(const resample_args *a, const f32 *base, int b, int z, int y, int x) {
  return base + ((((long)b * a->Z + z) * a->Y + y) * a->X + x) * a->C;
}

/* Task t: coarse plane t. out (coarse) = the maximum of fine over each window. */
EXPORT(max_pool_task)
void max_pool_task(const resample_args *a, int t) {
  RS_DIMS
  f32 *o = a->out + (long)t * Ys * Xs * C;
  for (int ys = 0; ys < Ys; ys++)
    for (int xs = 0; xs < Xs; xs++, o += C) {
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        v128_t m = wasm_f32x4_splat(-__builtin_inff());
        for (int dz = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++)
              m = wasm_f32x4_max(m, wasm_v128_load(rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx) + c));
        wasm_v128_store(o + c, m);
      }
      for (; c < C; c++) {
        f32 m = -__builtin_inff();
        for (int dz = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++) {
              f32 v = rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx)[c];
              m = v > m ? v : m;
            }
        o[c] = m;
      }
    }
}

/*
 * Task t: fine planes of coarse plane t (and, for the last coarse plane, the fine planes past the
 * pooled region, which get zero). out (fine: the input's gradient) = coarse (the output's
 * gradient) at the last maximum of fine (the input) in each window, in z, y, x order (tfjs's cpu
 * backend's rule), 0 elsewhere.
 */
EXPORT(max_pool_grad_task)
void max_pool_grad_task(const resample_args *a, int t) {
  RS_DIMS
  /* Zero what no window covers: rows past Ys·fy, columns past Xs·fx, planes past Zs·fz. */
  for (int dz = 0; dz < fz; dz++) {
    const int z = zs * fz + dz;
    for (int y = 0; y < a->Y; y++) {
      f32 *row = (f32 *)rs_fine(a, a->out, b, z, y, 0);
      for (long i = y < Ys * fy ? (long)Xs * fx * C : 0, n = (long)a->X * C; i < n; i++) row[i] = 0;
    }
  }
  if (zs == Zs - 1) {
    for (int z = Zs * fz; z < a->Z; z++)
      for (int y = 0; y < a->Y; y++) {
        f32 *row = (f32 *)rs_fine(a, a->out, b, z, y, 0);
        for (long i = 0, n = (long)a->X * C; i < n; i++) row[i] = 0;
      }
  }
  const f32 *g = a->coarse + (long)t * Ys * Xs * C;
  const v128_t zero = wasm_f32x4_splat(0);
  for (int ys = 0; ys < Ys; ys++)
    for (int xs = 0; xs < Xs; xs++, g += C) {
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        v128_t m = wasm_f32x4_splat(-__builtin_inff());
        v128_t best = wasm_i32x4_splat(0);
        for (int dz = 0, p = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++, p++) {
              v128_t v = wasm_v128_load(rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx) + c);
              v128_t ge = wasm_f32x4_ge(v, m);
              m = wasm_v128_bitselect(v, m, ge);
              best = wasm_v128_bitselect(wasm_i32x4_splat(p), best, ge);
            }
        const v128_t gv = wasm_v128_load(g + c);
        for (int dz = 0, p = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++, p++) {
              f32 *o = (f32 *)rs_fine(a, a->out, b, zs * fz + dz, ys * fy + dy, xs * fx + dx) + c;
              wasm_v128_store(o, wasm_v128_bitselect(gv, zero, wasm_i32x4_eq(best, wasm_i32x4_splat(p))));
            }
      }
      for (; c < C; c++) {
        f32 m = -__builtin_inff();
        int best = 0;
        for (int dz = 0, p = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++, p++) {
              f32 v = rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx)[c];
              if (v >= m) {
                m = v;
                best = p;
              }
            }
        for (int dz = 0, p = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++, p++)
              ((f32 *)rs_fine(a, a->out, b, zs * fz + dz, ys * fy + dy, xs * fx + dx))[c] = p == best ? g[c] : 0;
      }
    }
}

/* Task t: coarse plane t. out (fine) = coarse repeated f times along each axis. */
EXPORT(upsample_task)
void upsample_task(const resample_args *a, int t) {
  RS_DIMS
  const f32 *src = a->coarse + (long)t * Ys * Xs * C;
  for (int dz = 0; dz < fz; dz++)
    for (int y = 0; y < a->Y; y++) {
      f32 *o = (f32 *)rs_fine(a, a->out, b, zs * fz + dz, y, 0);
      const f32 *s = src + (long)(y / fy) * Xs * C;
      for (int xs = 0; xs < Xs; xs++, s += C)
        for (int dx = 0; dx < fx; dx++, o += C) {
          int c = 0;
          for (; c + 4 <= C; c += 4) wasm_v128_store(o + c, wasm_v128_load(s + c));
          for (; c < C; c++) o[c] = s[c];
        }
    }
}

/* Task t: coarse plane t. out (coarse) = the sum of fine over each block. */
EXPORT(upsample_grad_task)
void upsample_grad_task(const resample_args *a, int t) {
  RS_DIMS
  f32 *o = a->out + (long)t * Ys * Xs * C;
  for (int ys = 0; ys < Ys; ys++)
    for (int xs = 0; xs < Xs; xs++, o += C) {
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        v128_t s = wasm_f32x4_splat(0);
        for (int dz = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++)
              s = wasm_f32x4_add(s, wasm_v128_load(rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx) + c));
        wasm_v128_store(o + c, s);
      }
      for (; c < C; c++) {
        f32 s = 0;
        for (int dz = 0; dz < fz; dz++)
          for (int dy = 0; dy < fy; dy++)
            for (int dx = 0; dx < fx; dx++) s += rs_fine(a, a->fine, b, zs * fz + dz, ys * fy + dy, xs * fx + dx)[c];
        o[c] = s;
      }
    }
}
