/* lmio's native core: plain C11, no Python.h. The one binding is src/lmio/tokenizer/_native.c.
 *
 *   unicode.h    Unicode class tables (generated)      utf8.h      UTF-8 decoding
 *   pretok.h     the four pre-tokenization scanners     hash.h      hashing and hash tables
 *   specials.h   finding special-token strings          bpe.h       the BPE encoder / decoder
 *   parallel.h   fork-join over pthreads                batch.h     batch encoding on threads
 *   wordcount.h  training step 1: counting words        train.h     training step 2: merges
 */
#ifndef LMIO_CORE_H
#define LMIO_CORE_H

#define LMIO_CORE_ABI_VERSION 2

#include "batch.h"
#include "bpe.h"
#include "common.h"
#include "parallel.h"
#include "pretok.h"
#include "train.h"
#include "wordcount.h"

int lmio_core_abi_version(void);

#endif
