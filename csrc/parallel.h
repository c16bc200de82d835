/* A minimal fork-join helper over pthreads: run one function on N threads, the caller being one
 * of them. Work is shared by the function itself (an atomic counter over items), which balances
 * documents of very different lengths without a scheduler. */
#ifndef LMIO_PARALLEL_H
#define LMIO_PARALLEL_H

typedef void (*lmio_task_fn)(void *ctx, int thread_index);

/* More threads than this are never started, whatever the caller asks. */
#define LMIO_MAX_THREADS 1024

/* Runs fn(ctx, 0) .. fn(ctx, nthreads - 1) concurrently and waits for all. If some threads
 * cannot be created, fewer run (the function must not depend on how many do); returns how
 * many ran. */
int lmio_parallel(int nthreads, lmio_task_fn fn, void *ctx);

/* A sensible default thread count: the online CPUs (at least 1). */
int lmio_cpu_count(void);

#endif
