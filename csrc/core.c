#include "lmio_core.h"

int lmio_core_abi_version(void) { return LMIO_CORE_ABI_VERSION; }
