// One request per connection, from N threads with blocking sockets: the way N concurrent CLI
// clients (oidc-token, `kms-agent token`) use an agent. A blocking connect() waits in the kernel
// while the agent's listen backlog is full (oidc-agent listens with a backlog of 5), so no retry
// policy of ours shapes the result. The same binary drives both agents.
//
//   connload SOCKET AGENT(kms|oidc) REQUEST_JSON THREADS WARMUP_MS DURATION_MS   closed loop
//   connload SOCKET AGENT REQUEST_JSON THREADS burst       one request each, all at once
//   connload SOCKET AGENT REQUEST_JSON THREADS count=N     closed loop until N answers
//
// Prints one JSON line: requests, errors, elapsed_ms, p50_ms, p99_ms, max_ms, client_cpu_s.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *socket_path;
static int is_kms;
static const char *request;
static size_t request_len;
static atomic_int measuring;
static atomic_int running = 1;
static atomic_int go;
static atomic_long first_error_set;
static atomic_long answered;
static atomic_long failed;
static long count_target;
static char first_error[256];

typedef struct {
  double *lat;
  size_t n, cap;
  long errors;
  double last_done;
  int burst;
} worker_t;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void note_error(const char *what) {
  if (atomic_fetch_add(&first_error_set, 1) == 0) {
    snprintf(first_error, sizeof first_error, "%s", what);
  }
}

/* kms-agent: one line. oidc-agent: one JSON object, no terminator; done when its braces close. */
static int reply_complete(const char *buf, size_t len) {
  if (is_kms) return memchr(buf, '\n', len) != NULL;
  int depth = 0, in_str = 0, esc = 0, seen = 0;
  for (size_t i = 0; i < len; i++) {
    char c = buf[i];
    if (in_str) {
      if (esc) esc = 0;
      else if (c == '\\') esc = 1;
      else if (c == '"') in_str = 0;
    } else if (c == '"') in_str = 1;
    else if (c == '{') depth++, seen = 1;
    else if (c == '}' && --depth == 0 && seen) return 1;
  }
  return 0;
}

static int reply_ok(const char *buf) {
  if (is_kms) return strstr(buf, "\"result\":{") && strstr(buf, "\"token\":\"");
  return strstr(buf, "\"status\":\"success\"") && strstr(buf, "\"access_token\":\"");
}

static int one_request(char *buf, size_t cap) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return note_error("socket() failed"), -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, socket_path, sizeof addr.sun_path - 1);
  int rc;
  do rc = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    char what[64];
    snprintf(what, sizeof what, "connect: %s", strerror(errno));
    note_error(what);
    close(fd);
    return -1;
  }
  size_t off = 0;
  while (off < request_len) {
    ssize_t w = write(fd, request + off, request_len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      note_error("write failed");
      close(fd);
      return -1;
    }
    off += (size_t)w;
  }
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    len += (size_t)r;
    buf[len] = 0;
    if (reply_complete(buf, len) || len >= cap - 1) break;
  }
  buf[len] = 0;
  close(fd);
  if (len == 0 || !reply_ok(buf)) {
    char what[200];
    const char *got = len ? buf : "(connection closed, nothing read)";
    snprintf(what, sizeof what, "bad reply: %.150s", got);
    note_error(what);
    return -1;
  }
  return 0;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  char *buf = malloc(65536);
  while (!atomic_load(&go)) sched_yield();
  do {
    double t0 = now_ms();
    int rc = one_request(buf, 65536);
    double t1 = now_ms();
    if (!atomic_load(&measuring)) continue;
    if (rc < 0) {
      w->errors++;
      // A dead or refusing agent: stop instead of spinning.
      if (atomic_fetch_add(&failed, 1) >= 1000) atomic_store(&running, 0);
      continue;
    }
    if (count_target && atomic_fetch_add(&answered, 1) + 1 >= count_target) {
      atomic_store(&running, 0);
    }
    if (w->n == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 4096;
      w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
    }
    w->lat[w->n++] = t1 - t0;
    w->last_done = t1;
  } while (!w->burst && atomic_load(&running));
  free(buf);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p) {
  if (n == 0) return -1;
  size_t rank = (size_t)(p / 100.0 * n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return v[rank - 1];
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double seconds = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec;
  return seconds + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr,
            "usage: connload SOCKET kms|oidc REQUEST THREADS "
            "(WARMUP_MS DURATION_MS | burst | count=N)\n");
    return 2;
  }
  socket_path = argv[1];
  is_kms = strcmp(argv[2], "kms") == 0;
  request = argv[3];
  request_len = strlen(request);
  int threads = atoi(argv[4]);
  int burst = strcmp(argv[5], "burst") == 0;
  if (strncmp(argv[5], "count=", 6) == 0) count_target = atol(argv[5] + 6);
  int closed = burst || count_target;  // ends by itself, not after a duration
  if (!closed && argc < 7) {
    fprintf(stderr, "connload: WARMUP_MS DURATION_MS expected\n");
    return 2;
  }
  long warmup = closed ? 0 : atol(argv[5]);
  long duration = closed ? 0 : atol(argv[6]);

  worker_t *ws = calloc((size_t)threads, sizeof *ws);
  pthread_t *ts = calloc((size_t)threads, sizeof *ts);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (int i = 0; i < threads; i++) {
    ws[i].burst = burst;
    if (pthread_create(&ts[i], &attr, worker_main, &ws[i]) != 0) {
      fprintf(stderr, "connload: cannot start thread %d\n", i);
      return 1;
    }
  }
  atomic_store(&measuring, warmup == 0);
  double t_start = now_ms();
  double cpu_start = cpu_s();
  atomic_store(&go, 1);
  if (warmup > 0) {
    usleep((useconds_t)warmup * 1000);
    t_start = now_ms();
    cpu_start = cpu_s();
    atomic_store(&measuring, 1);
  }
  double t_end = 0;
  if (!closed) {
    usleep((useconds_t)duration * 1000);
    atomic_store(&measuring, 0);
    t_end = now_ms();
    atomic_store(&running, 0);
  }
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
  double cpu = cpu_s() - cpu_start;

  size_t total = 0;
  long errors = 0;
  double last = t_start;
  for (int i = 0; i < threads; i++) {
    total += ws[i].n;
    errors += ws[i].errors;
    if (ws[i].last_done > last) last = ws[i].last_done;
  }
  if (closed) t_end = last;
  double *all = malloc((total ? total : 1) * sizeof *all);
  size_t k = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
    k += ws[i].n;
  }
  qsort(all, total, sizeof *all, cmp);
  double elapsed = t_end - t_start;
  printf("{\"requests\":%zu,\"errors\":%ld,\"elapsedMs\":%.3f,\"tokensPerSec\":%.1f,",
         total, errors, elapsed, total / (elapsed / 1000.0));
  printf("\"p50Ms\":%.4f,\"p99Ms\":%.4f,\"maxMs\":%.4f,\"clientCpuSeconds\":%.3f",
         pct(all, total, 50), pct(all, total, 99), total ? all[total - 1] : -1, cpu);
  if (first_error_set) {
    printf(",\"firstError\":\"");
    for (const char *p = first_error; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar((unsigned char)*p < 0x20 ? ' ' : *p);
    }
    putchar('"');
  }
  printf("}\n");
  return 0;
}
