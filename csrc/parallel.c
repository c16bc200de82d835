#define _POSIX_C_SOURCE 200809L
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
    lmio_task_fn fn;
    void *ctx;
    int index;
} worker_arg;

static void *worker_main(void *p) {
    worker_arg *a = p;
    a->fn(a->ctx, a->index);
    return NULL;
}

int lmio_parallel(int nthreads, lmio_task_fn fn, void *ctx) {
    if (nthreads <= 1) {
        fn(ctx, 0);
        return 1;
    }
    pthread_t *threads = malloc((size_t)nthreads * sizeof(pthread_t));
    worker_arg *args = malloc((size_t)nthreads * sizeof(worker_arg));
    int started = 0;
    if (threads && args) {
        for (int t = 1; t < nthreads; t++) {
            args[started] = (worker_arg){fn, ctx, started + 1};
            if (pthread_create(&threads[started], NULL, worker_main, &args[started])) break;
            started++;
        }
    }
    fn(ctx, 0);
    for (int t = 0; t < started; t++) pthread_join(threads[t], NULL);
    free(threads);
    free(args);
    return started + 1;
}

int lmio_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
