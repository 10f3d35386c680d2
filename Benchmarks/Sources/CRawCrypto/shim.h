#ifndef PROFFER_BENCH_RAW_CRYPTO_H
#define PROFFER_BENCH_RAW_CRYPTO_H

/* The C libraries under ProfferCrypto, called directly by the benchmarks to measure the ceiling: what the same work
   costs with nothing of Proffer's around it. */
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#endif
