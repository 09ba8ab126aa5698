/* heat: a small multi-threaded heat-diffusion solver, the application of the
 * ckpt demo. It knows nothing about checkpointing.
 *
 * A SIZE x SIZE plate (doubles) starts cold; its top edge is held at 100
 * degrees and two heaters inside switch on and off every 250 steps. Each
 * step is an explicit 5-point stencil; THREADS pthreads share the rows and
 * meet at a barrier after every step. Every SAMPLE steps the threads hash
 * their rows and thread 0 records the total heat and a 64-bit hash of the
 * whole plate.
 *
 * The result is deterministic: every cell is computed by the same
 * arithmetic whatever the number of threads, and the per-row sums and hashes
 * are folded in row order. So an uninterrupted run and a run that was
 * checkpointed, killed and restarted must print byte-identical stdout.
 *
 * Output: progress on stderr ("heat: step N/STEPS (P%)") every SAMPLE steps;
 * the recorded samples and the final hash on stdout, all at the end (a
 * restarted run writes to a new stdout, so nothing is printed there before
 * the computation is done).
 *
 * usage: heat [-n SIZE] [-t THREADS] [-s STEPS]
 *   defaults: -n 1024 -t 4 -s 6000 (about 10 s on two 3 GHz cores)
 * exit status: 0 done, 2 bad arguments, 1 out of memory or thread failure. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kSamples = 20, kMaxThreads = 256, kHeaterPeriod = 250 };

static const double kAlpha = 0.2;  /* diffusion number; stable below 0.25 */
static const double kEdge = 100.0; /* temperature of the top edge */
static const double kHeater = 2.5; /* degrees added per step by a heater */

struct sample {
  long step;
  double heat;
  uint64_t hash;
};

struct plate {
  long size;
  long steps;
  long sample_every;
  int threads;
  double* grid[2]; /* grid[step % 2] holds the plate after `step` steps */
  double* row_sum; /* per row, filled by the row's thread at a sample */
  uint64_t* row_hash;
  pthread_barrier_t barrier;
  struct sample samples[kSamples + 1];
  int sample_count;
};

struct worker {
  struct plate* plate;
  int index;
  long first_row; /* rows [first_row, end_row) of the interior */
  long end_row;
};

/* FNV-1a over 64-bit words: cheap, order-sensitive, and written out here so
 * the example needs nothing but libc. */
static uint64_t fnv_word(uint64_t hash, uint64_t word) {
  return (hash ^ word) * UINT64_C(0x100000001b3);
}

static uint64_t hash_row(const double* row, long size) {
  uint64_t hash = UINT64_C(0xcbf29ce484222325);
  for (long j = 0; j < size; ++j) {
    uint64_t bits;
    memcpy(&bits, &row[j], sizeof bits);
    hash = fnv_word(hash, bits);
  }
  return hash;
}

static double sum_row(const double* row, long size) {
  double sum = 0.0;
  for (long j = 0; j < size; ++j) sum += row[j];
  return sum;
}

/* One step over this worker's rows: from `from` (after step-1) into `to`. */
static void diffuse(const struct plate* plate, const struct worker* worker, const double* from,
                    double* to, long step) {
  const long n = plate->size;
  const int heaters_on = (step / kHeaterPeriod) % 2 == 0;
  for (long i = worker->first_row; i < worker->end_row; ++i) {
    const double* up = from + (i - 1) * n;
    const double* mid = from + i * n;
    const double* down = from + (i + 1) * n;
    double* out = to + i * n;
    for (long j = 1; j < n - 1; ++j) {
      out[j] = mid[j] + kAlpha * (up[j] + down[j] + mid[j - 1] + mid[j + 1] - 4.0 * mid[j]);
    }
    if (heaters_on && i == n / 3) out[n / 4] += kHeater;
    if (heaters_on && i == 2 * n / 3) out[3 * n / 4] += kHeater;
  }
}

static void record_sample(struct plate* plate, long step) {
  double heat = 0.0;
  uint64_t hash = UINT64_C(0xcbf29ce484222325);
  for (long i = 0; i < plate->size; ++i) {
    heat += plate->row_sum[i];
    hash = fnv_word(hash, plate->row_hash[i]);
  }
  struct sample* sample = &plate->samples[plate->sample_count++];
  sample->step = step;
  sample->heat = heat;
  sample->hash = hash;
  fprintf(stderr, "heat: step %ld/%ld (%ld%%)\n", step, plate->steps, step * 100 / plate->steps);
}

static void* work(void* argument) {
  struct worker* worker = argument;
  struct plate* plate = worker->plate;
  const long n = plate->size;
  for (long step = 1; step <= plate->steps; ++step) {
    const double* from = plate->grid[(step - 1) % 2];
    double* to = plate->grid[step % 2];
    diffuse(plate, worker, from, to, step);
    pthread_barrier_wait(&plate->barrier);
    if (step % plate->sample_every == 0 || step == plate->steps) {
      /* Worker 0 also takes the two edge rows, which never change. */
      const long first = worker->index == 0 ? 0 : worker->first_row;
      const long end = worker->index == plate->threads - 1 ? n : worker->end_row;
      for (long i = first; i < end; ++i) {
        plate->row_sum[i] = sum_row(to + i * n, n);
        plate->row_hash[i] = hash_row(to + i * n, n);
      }
      pthread_barrier_wait(&plate->barrier);
      if (worker->index == 0) record_sample(plate, step);
      /* Nobody touches row_sum/row_hash again before the next sample, which
       * is at least one step (and so one barrier) away. */
    }
  }
  return NULL;
}

static long parse_number(const char* text, const char* what, long low, long high) {
  char* end = NULL;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
    fprintf(stderr, "heat: %s must be a number from %ld to %ld, not '%s'\n", what, low, high, text);
    exit(2);
  }
  return value;
}

static void usage_error(void) {
  fprintf(stderr, "usage: heat [-n SIZE] [-t THREADS] [-s STEPS]\n");
  exit(2);
}

int main(int argc, char** argv) {
  struct plate plate;
  memset(&plate, 0, sizeof plate);
  plate.size = 1024;
  plate.threads = 4;
  plate.steps = 6000;
  for (int option; (option = getopt(argc, argv, "n:t:s:")) != -1;) {
    switch (option) {
      case 'n':
        plate.size = parse_number(optarg, "SIZE", 16, 16384);
        break;
      case 't':
        plate.threads = (int)parse_number(optarg, "THREADS", 1, kMaxThreads);
        break;
      case 's':
        plate.steps = parse_number(optarg, "STEPS", 1, 100000000);
        break;
      default:
        usage_error();
    }
  }
  if (optind != argc) usage_error();
  if (plate.threads > plate.size - 2) plate.threads = (int)(plate.size - 2);
  plate.sample_every = (plate.steps + kSamples - 1) / kSamples; /* at most kSamples + 1 */

  const size_t cells = (size_t)plate.size * (size_t)plate.size;
  plate.grid[0] = calloc(cells, sizeof(double));
  plate.grid[1] = calloc(cells, sizeof(double));
  plate.row_sum = calloc((size_t)plate.size, sizeof(double));
  plate.row_hash = calloc((size_t)plate.size, sizeof(uint64_t));
  if (!plate.grid[0] || !plate.grid[1] || !plate.row_sum || !plate.row_hash) {
    fprintf(stderr, "heat: out of memory for a %ld x %ld plate\n", plate.size, plate.size);
    return 1;
  }
  for (long j = 0; j < plate.size; ++j) plate.grid[0][j] = plate.grid[1][j] = kEdge;

  fprintf(stderr, "heat: %ld x %ld plate, %d threads, %ld steps\n", plate.size, plate.size,
          plate.threads, plate.steps);
  pthread_barrier_init(&plate.barrier, NULL, (unsigned)plate.threads);
  pthread_t threads[kMaxThreads];
  struct worker workers[kMaxThreads];
  const long interior = plate.size - 2;
  for (int t = 0; t < plate.threads; ++t) {
    workers[t].plate = &plate;
    workers[t].index = t;
    workers[t].first_row = 1 + interior * t / plate.threads;
    workers[t].end_row = 1 + interior * (t + 1) / plate.threads;
    const int error = pthread_create(&threads[t], NULL, work, &workers[t]);
    if (error != 0) {
      fprintf(stderr, "heat: pthread_create: %s\n", strerror(error));
      return 1;
    }
  }
  for (int t = 0; t < plate.threads; ++t) pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&plate.barrier);

  printf("heat: %ld x %ld plate, %ld steps\n", plate.size, plate.size, plate.steps);
  for (int s = 0; s < plate.sample_count; ++s) {
    printf("step %6ld  heat %.12e  hash %016" PRIx64 "\n", plate.samples[s].step,
           plate.samples[s].heat, plate.samples[s].hash);
  }
  printf("final hash %016" PRIx64 "\n", plate.samples[plate.sample_count - 1].hash);
  free(plate.grid[0]);
  free(plate.grid[1]);
  free(plate.row_sum);
  free(plate.row_hash);
  return 0;
}
