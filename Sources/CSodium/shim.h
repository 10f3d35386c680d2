#ifndef PROFFER_CSODIUM_SHIM_H
#define PROFFER_CSODIUM_SHIM_H

#include <sodium.h>
#include <sys/prctl.h>

/* prctl is variadic, which Swift cannot call: this makes the process undumpable, so no core file or ptrace attach by
   another user's process reads its keys. */
static inline int proffer_disable_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
static inline int proffer_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#endif
