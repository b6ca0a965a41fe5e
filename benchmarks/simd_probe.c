/* A planning probe, not part of simkit: would a kernel that samples 8 draws at once in
 * AVX-512 lanes be faster than simkit's one-draw-at-a-time kernel, and where?
 *
 *   gcc -O2 -march=native -o /tmp/simd_probe benchmarks/simd_probe.c -lm && /tmp/simd_probe [REPEATS]
 *
 * Needs an x86-64 CPU with AVX-512 (F, DQ). Times the two sampler shapes that take most of
 * the reference model's kernel, each one draw at a time (scalar, as simkit's numba kernel
 * does) and 8 draws in the lanes of one register, on the same numbers:
 *   1. a motion's wins: inversion through a table of the pmf (+-3 sd around the mode, an
 *      unnormalised cdf and a guide table), 1,024 draws x 60 months, n = 2,000, p 8-12%;
 *   2. a segment's churn at n q from 5 to 22: sequential-search inversion with 32 steps
 *      taken without a branch, the customer count changing every month.
 * Uniforms are SFC64 in both versions; every lane is seeded as its scalar draw is, so the
 * two versions must print the same checksum (a lane computes the same IEEE operations); the
 * exit code is 1 when they do not. REPEATS (default 400) passes over the 1,024 draws a timing. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAP 128
#define LANES 8
#define DRAWS 1024
#define MONTHS 60
#define STEPS 32

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct { uint64_t a, b, c, w; } sfc64;
static inline uint64_t sfc64_next(sfc64 *s) {
  uint64_t out = s->a + s->b + s->w;
  s->a = s->b ^ (s->b >> 11);
  s->b = s->c + (s->c << 3);
  s->c = ((s->c << 24) | (s->c >> 40)) + out;
  s->w++;
  return out;
}
static inline double sfc64_uniform(sfc64 *s) { return (double)(sfc64_next(s) >> 11) * 0x1.0p-53; }
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* 8 SFC64 streams in the lanes of four registers. */
typedef struct { __m512i a, b, c, w; } sfc64x8;
static inline __m512d sfc64x8_uniform(sfc64x8 *s) {
  __m512i out = _mm512_add_epi64(_mm512_add_epi64(s->a, s->b), s->w);
  s->a = _mm512_xor_si512(s->b, _mm512_srli_epi64(s->b, 11));
  s->b = _mm512_add_epi64(s->c, _mm512_slli_epi64(s->c, 3));
  s->c = _mm512_add_epi64(_mm512_rol_epi64(s->c, 24), out);
  s->w = _mm512_add_epi64(s->w, _mm512_set1_epi64(1));
  return _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64(out, 11)), _mm512_set1_pd(0x1.0p-53));
}

/* Binomial(n, q) from 3 sd below the mode to 3 above: unnormalised cdf (2.0 past the end),
 * guide table; returns the entries. */
static int64_t fill_table(int n, double q, double *cdf, int64_t *guide, double *scale) {
  int mode = (int)((n + 1) * q), reach = (int)ceil(3 * sqrt(n * q * (1 - q))) + 1;
  int first = mode - reach < 0 ? 0 : mode - reach, last = mode + reach > n ? n : mode + reach;
  int entries = last - first + 1;
  double ratio = q / (1 - q), pmf[CAP];
  double f = exp(lgamma(n + 1.0) - lgamma(mode + 1.0) - lgamma(n - mode + 1.0) + mode * log(q) + (n - mode) * log1p(-q));
  pmf[mode - first] = f;
  for (int k = mode; k > first; k--) { f *= k / ((n - k + 1) * ratio); pmf[k - 1 - first] = f; }
  f = pmf[mode - first];
  for (int k = mode; k < last; k++) { f *= (n - k) * ratio / (k + 1); pmf[k + 1 - first] = f; }
  double total = 0;
  for (int i = 0; i < entries; i++) { total += pmf[i]; cdf[i] = total; }
  for (int i = entries; i < CAP; i++) cdf[i] = 2.0;
  *scale = entries / total;
  int j = 0;
  for (int i = 0; i < entries; i++)
    while (j < entries && j < cdf[i] * *scale + 1e-6) guide[j++] = i;
  while (j < CAP) guide[j++] = entries - 1;
  return entries;
}

static uint64_t seeds[4][DRAWS] __attribute__((aligned(64)));
static uint64_t state[4][DRAWS] __attribute__((aligned(64)));
static void reset_streams(void) { memcpy(state, seeds, sizeof(state)); }

int main(int argc, char **argv) {
  static double cdf[DRAWS * CAP] __attribute__((aligned(64)));
  static int64_t guide[DRAWS * CAP] __attribute__((aligned(64)));
  static double scale[DRAWS] __attribute__((aligned(64))), churn[DRAWS] __attribute__((aligned(64)));
  static double customers[DRAWS] __attribute__((aligned(64)));
  static int64_t entries[DRAWS] __attribute__((aligned(64))), offset[DRAWS] __attribute__((aligned(64)));
  double reciprocal[STEPS + 1];
  uint64_t x = 1;
  for (int k = 1; k <= STEPS; k++) reciprocal[k] = 1.0 / k;
  for (int d = 0; d < DRAWS; d++) {
    double conversion = 0.08 + 0.04 * (double)(splitmix64(&x) >> 11) * 0x1.0p-53;
    entries[d] = fill_table(2000, conversion, cdf + d * CAP, guide + d * CAP, scale + d);
    offset[d] = (int64_t)d * CAP;
    churn[d] = 0.008 + 0.004 * (double)(splitmix64(&x) >> 11) * 0x1.0p-53;
    customers[d] = 500.0 + (double)(splitmix64(&x) % 1500);
    for (int i = 0; i < 3; i++) seeds[i][d] = splitmix64(&x);
    seeds[3][d] = 1;
  }
  const int repeats = argc > 1 ? atoi(argv[1]) : 400;
  int differ = 0;
  printf("%-42s %10s %10s %7s %s\n", "sampler (ns a variate, best of 3)", "scalar", "8 lanes", "ratio", "checksums scalar / lanes");
  for (int shape = 0; shape < 2; shape++) {
    double best_scalar = 1e30, best_lanes = 1e30;
    long sum_scalar = 0, sum_lanes = 0;
    for (int trial = 0; trial < 3; trial++) {
      sum_scalar = 0;
      double t0 = now();
      for (int rep = 0; rep < repeats; rep++) {
        reset_streams();
        for (int d = 0; d < DRAWS; d++) {
          sfc64 s = {state[0][d], state[1][d], state[2][d], state[3][d]};
          if (shape == 0) {
            const double *table = cdf + offset[d];
            const int64_t *bins = guide + offset[d];
            for (int m = 0; m < MONTHS; m++) {
              double u = sfc64_uniform(&s);
              int64_t bin = (int64_t)(u * scale[d]);
              int64_t i = bins[bin < entries[d] ? bin : entries[d]];
              i += table[i] <= u;
              i += table[i] <= u;
              while (table[i] <= u) i++;
              sum_scalar += i;
            }
          } else {
            double q = churn[d], ratio = q / (1 - q), log_survival = log1p(-q);
            for (int m = 0; m < MONTHS; m++) {
              double n = customers[d] + m, u = sfc64_uniform(&s), f = exp(n * log_survival);
              long k = 0;
              for (int i = 0; i < STEPS; i++) { k += u > f; u -= f; f *= (n - i) * reciprocal[i + 1] * ratio; }
              sum_scalar += k;
            }
          }
        }
      }
      double t = now() - t0;
      if (t < best_scalar) best_scalar = t;

      sum_lanes = 0;
      t0 = now();
      for (int rep = 0; rep < repeats; rep++) {
        reset_streams();
        for (int d = 0; d < DRAWS; d += LANES) {
          sfc64x8 s = {_mm512_load_si512(state[0] + d), _mm512_load_si512(state[1] + d),
                       _mm512_load_si512(state[2] + d), _mm512_load_si512(state[3] + d)};
          __m512i total = _mm512_setzero_si512(), one = _mm512_set1_epi64(1);
          if (shape == 0) {
            __m512i base = _mm512_load_si512(offset + d), last = _mm512_load_si512(entries + d);
            __m512d bins_per_unit = _mm512_load_pd(scale + d);
            for (int m = 0; m < MONTHS; m++) {
              __m512d u = sfc64x8_uniform(&s);
              __m512i bin = _mm512_min_epi64(_mm512_cvttpd_epi64(_mm512_mul_pd(u, bins_per_unit)), last);
              __m512i i = _mm512_i64gather_epi64(_mm512_add_epi64(base, bin), guide, 8);
              for (int step = 0; step < 2; step++) {
                __m512d c = _mm512_i64gather_pd(_mm512_add_epi64(base, i), cdf, 8);
                i = _mm512_mask_add_epi64(i, _mm512_cmp_pd_mask(c, u, _CMP_LE_OQ), i, one);
              }
              __mmask8 more = _mm512_cmp_pd_mask(_mm512_i64gather_pd(_mm512_add_epi64(base, i), cdf, 8), u, _CMP_LE_OQ);
              if (more) { /* rare: the lanes whose search goes on finish one by one */
                int64_t index[LANES];
                double uniform[LANES];
                _mm512_storeu_si512(index, i);
                _mm512_storeu_pd(uniform, u);
                for (int l = 0; l < LANES; l++)
                  if (more >> l & 1) while (cdf[offset[d + l] + index[l]] <= uniform[l]) index[l]++;
                i = _mm512_loadu_si512(index);
              }
              total = _mm512_add_epi64(total, i);
            }
          } else {
            __m512d q = _mm512_load_pd(churn + d), n0 = _mm512_load_pd(customers + d);
            __m512d ratio = _mm512_div_pd(q, _mm512_sub_pd(_mm512_set1_pd(1.0), q));
            double log_survival[LANES];
            for (int l = 0; l < LANES; l++) log_survival[l] = log1p(-churn[d + l]);
            for (int m = 0; m < MONTHS; m++) {
              __m512d n = _mm512_add_pd(n0, _mm512_set1_pd((double)m)), u = sfc64x8_uniform(&s);
              double start[LANES]; /* libm's exp lane by lane: the same bits as the scalar version */
              for (int l = 0; l < LANES; l++) start[l] = exp((customers[d + l] + m) * log_survival[l]);
              __m512d f = _mm512_loadu_pd(start);
              __m512i k = _mm512_setzero_si512();
              for (int i = 0; i < STEPS; i++) {
                k = _mm512_mask_add_epi64(k, _mm512_cmp_pd_mask(u, f, _CMP_GT_OQ), k, one);
                u = _mm512_sub_pd(u, f);
                __m512d factor = _mm512_mul_pd(_mm512_sub_pd(n, _mm512_set1_pd((double)i)), _mm512_set1_pd(reciprocal[i + 1]));
                f = _mm512_mul_pd(f, _mm512_mul_pd(factor, ratio));
              }
              total = _mm512_add_epi64(total, k);
            }
          }
          sum_lanes += _mm512_reduce_add_epi64(total);
        }
      }
      t = now() - t0;
      if (t < best_lanes) best_lanes = t;
    }
    double per = (double)repeats * DRAWS * MONTHS / 1e9;
    printf("%-42s %10.2f %10.2f %7.2f %ld / %ld%s\n",
           shape == 0 ? "1. wins: table lookup, guide table" : "2. churn: inversion, 32 branch-free steps",
           best_scalar / per, best_lanes / per, best_scalar / best_lanes, sum_scalar, sum_lanes,
           sum_scalar == sum_lanes ? "" : "  DIFFER");
    differ |= sum_scalar != sum_lanes;
  }
  return differ;
}
