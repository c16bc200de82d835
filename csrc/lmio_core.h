/* lmio's native core: plain C11, no Python.h. The binding is src/lmio/tokenizer/_native.c. */
#ifndef LMIO_CORE_H
#define LMIO_CORE_H

#define LMIO_CORE_ABI_VERSION 1

int lmio_core_abi_version(void);

#endif
