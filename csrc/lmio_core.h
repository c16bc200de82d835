/* lmio's native core: plain C11, no Python.h. The one binding is src/lmio/tokenizer/_native.c.
 *
 *   unicode.h    Unicode class tables (generated)      utf8.h      UTF-8 decoding
 *   pretok.h     the four pre-tokenization scanners     hash.h      hashing and hash tables
 *   specials.h   finding special-token strings          bpe.h       the BPE encoder / decoder
 *   parallel.h   fork-join over pthreads                batch.h     batch encoding on threads
 *   wordcount.h  training step 1: counting words        train.h     training step 2: merges
 *   prepare.h    `lmio prepare`'s pass over lines       jsonl.h     a JSON line's text field
 *   clean.h      cleaning as lmio.text.Cleaner does     digest.h    the dedup digest (XXH3-128)
 */
#ifndef LMIO_CORE_H
#define LMIO_CORE_H

#define LMIO_CORE_ABI_VERSION 4

#include "batch.h"
#include "bpe.h"
#include "clean.h"
#include "common.h"
#include "digest.h"
#include "jsonl.h"
#include "parallel.h"
#include "prepare.h"
#include "pretok.h"
#include "train.h"
#include "wordcount.h"

int lmio_core_abi_version(void);

#endif
