#ifndef PROFFER_CSODIUM_SHIM_H
#define PROFFER_CSODIUM_SHIM_H

#include <sodium.h>

#endif
