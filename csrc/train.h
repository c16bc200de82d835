/* Training step 2: the BPE merge loop, emulating Hugging Face tokenizers' BpeTrainer
 * (tokenizers/src/models/bpe/trainer.rs and word.rs) exactly, quirks included, so that lmio
 * learns the same vocabulary and merges from the same words:
 *
 *  - a pair's count is the number of adjacent positions holding it (overlaps count: "aaa" has
 *    (a, a) twice) times the word's count;
 *  - a max-heap orders entries by count, then by (left id, right id) ascending; each entry
 *    carries its own set of word positions;
 *  - a popped entry whose count differs from the pair's current count is refreshed and pushed
 *    back; the loop stops when the count is < 1 or < min_frequency, or when the vocabulary has
 *    target_tokens tokens;
 *  - merging a word is left to right and non-overlapping, and its count deltas do not subtract
 *    the merged pair itself (so a merged pair keeps its count and can be merged again later);
 *  - after each merge every pair with a positive delta gets a new heap entry carrying only the
 *    positions of this step, with the pair's current total count;
 *  - a merge whose result already exists reuses its id (a "repeated merge").
 *
 * Counts are 64-bit: HF's are i32 and silently wrap past 2^31, where the two diverge.
 * Memory: words are uint32 symbol arrays, positions uint32 lists, no per-pair hash sets. */
#ifndef LMIO_TRAIN_H
#define LMIO_TRAIN_H

#include "wordcount.h"

typedef struct {
    uint32_t left, right, id;
} lmio_merge;

/* Called every `progress_every` merges with the number done; nonzero stops training with
 * LMIO_ECALLBACK. */
typedef int (*lmio_progress_fn)(void *ctx, size_t n_merges);

/* Learns merges from the counted words. byte_order[i] is the byte value of initial token i (a
 * permutation of 0..255); new tokens get ids 256, 257, ... On success *merges (free() it)
 * holds *n_merges merges (left, right, new id) in training order, repeated merges included. */
int lmio_train_bpe(const lmio_wordtable *words, const uint8_t byte_order[256], size_t target_tokens,
                   uint64_t min_frequency, lmio_progress_fn progress, void *ctx,
                   size_t progress_every, lmio_merge **merges, size_t *n_merges, char *err,
                   size_t errlen);

#endif
