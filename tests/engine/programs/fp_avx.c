/* fp_avx: floating-point and vector register state across a checkpoint.
 * Three (four) threads run long tight loops that keep their whole state in
 * registers, so the checkpoint signal lands mid-loop:
 *   - x87 (long double) and scalar SSE2 under a non-default rounding mode
 *     (MXCSR and the x87 control word must come back),
 *   - AVX2: ymm registers (upper halves!), float chaotic maps + integer
 *     xorshift lanes,
 *   - AVX-512 when the CPU has it: zmm and opmask registers.
 * The maps are chaotic or bijective, so any corrupted bit changes the
 * printed digests.
 *
 * usage: fp_avx [CHUNKS]   (default 100)
 * exit 3 if the CPU lacks AVX2: this test must never pass without it. */
#define _GNU_SOURCE
#include <fenv.h>
#include <immintrin.h>
#include <pthread.h>

#include "common.h"

static long g_chunks;
enum { kScalarSteps = 2500000, kAvx2Steps = 4000000, kAvx512Steps = 4000000 };

static uint64_t bits_of(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

/* --- x87 + SSE2 scalar, rounding toward -inf ---------------------------- */
struct ScalarResult {
  uint64_t digest;
  int rounding_ok;
};

static void* scalar_thread(void* arg) {
  struct ScalarResult* result = (struct ScalarResult*)arg;
  if (fesetround(FE_DOWNWARD) != 0) die("fesetround");
  long double lx = 0.1234567890123456789L;
  long double ls = 0.0L;
  double x0 = 0.21, x1 = 0.43, x2 = 0.65, x3 = 0.87;
  double s = 0.0;
  uint64_t digest = 0;
  for (long chunk = 0; chunk < g_chunks; ++chunk) {
    for (int i = 0; i < kScalarSteps; ++i) {
      x0 = 3.99 * x0 * (1.0 - x0);
      x1 = 3.97 * x1 * (1.0 - x1);
      x2 = 3.95 * x2 * (1.0 - x2);
      x3 = 3.93 * x3 * (1.0 - x3);
      s += x0 - x1 + x2 - x3;
      if ((i & 7) == 0) {
        lx = 3.999L * lx * (1.0L - lx);
        ls += lx;
      }
    }
    digest = digest_add(digest, bits_of(x0) ^ bits_of(x1) ^ bits_of(x2) ^ bits_of(x3));
    digest = digest_add(digest, bits_of(s));
    digest = digest_add(digest, bits_of((double)lx));
    digest = digest_add(digest, bits_of((double)ls));
    if (chunk % 10 == 0) progress("fp_avx scalar chunk", chunk);
  }
  result->digest = digest;
  result->rounding_ok = fegetround() == FE_DOWNWARD;
  return NULL;
}

/* --- AVX2 --------------------------------------------------------------- */
__attribute__((target("avx2"))) static void* avx2_thread(void* arg) {
  uint64_t* out = (uint64_t*)arg;
  __m256d x0 = _mm256_set_pd(0.11, 0.12, 0.13, 0.14);
  __m256d x1 = _mm256_set_pd(0.31, 0.32, 0.33, 0.34);
  __m256d x2 = _mm256_set_pd(0.51, 0.52, 0.53, 0.54);
  __m256d sum = _mm256_setzero_pd();
  const __m256d r = _mm256_set_pd(3.99, 3.98, 3.97, 3.96);
  const __m256d one = _mm256_set1_pd(1.0);
  __m256i v = _mm256_set_epi64x(1, 2, 3, 4);
  __m256i w = _mm256_set_epi64x(0x1234567887654321ll, 5, 6, 7);
  uint64_t digest = 0;
  for (long chunk = 0; chunk < g_chunks; ++chunk) {
    for (int i = 0; i < kAvx2Steps; ++i) {
      x0 = _mm256_mul_pd(_mm256_mul_pd(r, x0), _mm256_sub_pd(one, x0));
      x1 = _mm256_mul_pd(_mm256_mul_pd(r, x1), _mm256_sub_pd(one, x1));
      x2 = _mm256_mul_pd(_mm256_mul_pd(r, x2), _mm256_sub_pd(one, x2));
      sum = _mm256_add_pd(sum, _mm256_sub_pd(x0, _mm256_add_pd(x1, x2)));
      v = _mm256_xor_si256(v, _mm256_slli_epi64(v, 13));
      v = _mm256_xor_si256(v, _mm256_srli_epi64(v, 7));
      v = _mm256_xor_si256(v, _mm256_slli_epi64(v, 17));
      w = _mm256_add_epi64(w, v);
    }
    double lanes[16];
    _mm256_storeu_pd(lanes, x0);
    _mm256_storeu_pd(lanes + 4, x1);
    _mm256_storeu_pd(lanes + 8, x2);
    _mm256_storeu_pd(lanes + 12, sum);
    digest = digest_bytes(digest, lanes, sizeof lanes);
    uint64_t ints[8];
    _mm256_storeu_si256((__m256i*)ints, v);
    _mm256_storeu_si256((__m256i*)(ints + 4), w);
    digest = digest_bytes(digest, ints, sizeof ints);
    if (chunk % 10 == 0) progress("fp_avx avx2 chunk", chunk);
  }
  *out = digest;
  return NULL;
}

/* --- AVX-512 (when present) --------------------------------------------- */
__attribute__((target("avx512f"))) static void* avx512_thread(void* arg) {
  uint64_t* out = (uint64_t*)arg;
  __m512d x0 = _mm512_set_pd(0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17, 0.18);
  __m512d x1 = _mm512_set_pd(0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68);
  __m512d sum = _mm512_setzero_pd();
  const __m512d r = _mm512_set1_pd(3.99);
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d half = _mm512_set1_pd(0.5);
  __m512i v = _mm512_set_epi64(1, 2, 3, 4, 5, 6, 7, 8);
  uint64_t digest = 0;
  for (long chunk = 0; chunk < g_chunks; ++chunk) {
    for (int i = 0; i < kAvx512Steps; ++i) {
      x0 = _mm512_mul_pd(_mm512_mul_pd(r, x0), _mm512_sub_pd(one, x0));
      x1 = _mm512_mul_pd(_mm512_mul_pd(r, x1), _mm512_sub_pd(one, x1));
      __mmask8 high = _mm512_cmp_pd_mask(x0, half, _CMP_GT_OQ); /* opmask register */
      sum = _mm512_mask_add_pd(sum, high, sum, x1);
      v = _mm512_xor_si512(v, _mm512_slli_epi64(v, 13));
      v = _mm512_xor_si512(v, _mm512_srli_epi64(v, 7));
      v = _mm512_xor_si512(v, _mm512_slli_epi64(v, 17));
    }
    double lanes[24];
    _mm512_storeu_pd(lanes, x0);
    _mm512_storeu_pd(lanes + 8, x1);
    _mm512_storeu_pd(lanes + 16, sum);
    digest = digest_bytes(digest, lanes, sizeof lanes);
    uint64_t ints[8];
    _mm512_storeu_si512(ints, v);
    digest = digest_bytes(digest, ints, sizeof ints);
    if (chunk % 10 == 0) progress("fp_avx avx512 chunk", chunk);
  }
  *out = digest;
  return NULL;
}

int main(int argc, char** argv) {
  g_chunks = argc > 1 ? parse_count(argv[1], "CHUNKS") : 100;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) {
    fprintf(stderr, "fp_avx: this CPU (or kernel) does not support AVX2; the test cannot run\n");
    return kExitNoCpuFeature;
  }
  const int have_avx512 = __builtin_cpu_supports("avx512f");

  struct ScalarResult scalar = {0, 0};
  uint64_t avx2_digest = 0, avx512_digest = 0;
  pthread_t threads[3];
  if (pthread_create(&threads[0], NULL, scalar_thread, &scalar) != 0) die("pthread_create");
  if (pthread_create(&threads[1], NULL, avx2_thread, &avx2_digest) != 0) die("pthread_create");
  if (have_avx512 && pthread_create(&threads[2], NULL, avx512_thread, &avx512_digest) != 0) {
    die("pthread_create");
  }
  pthread_join(threads[0], NULL);
  pthread_join(threads[1], NULL);
  if (have_avx512) pthread_join(threads[2], NULL);

  int failures = 0;
  printf("chunks %ld\n", g_chunks);
  printf("scalar x87+sse2 digest %016llx\n", (unsigned long long)scalar.digest);
  printf("scalar rounding mode kept %s\n", verdict(scalar.rounding_ok, &failures));
  printf("main rounding mode kept %s\n", verdict(fegetround() == FE_TONEAREST, &failures));
  printf("avx2 digest %016llx\n", (unsigned long long)avx2_digest);
  if (have_avx512) {
    printf("avx512 digest %016llx\n", (unsigned long long)avx512_digest);
  } else {
    printf("avx512 not available\n");
  }
  printf("result %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : kExitCheckFailed;
}
