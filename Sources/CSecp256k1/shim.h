#ifndef PROFFER_CSECP256K1_SHIM_H
#define PROFFER_CSECP256K1_SHIM_H

/* libsecp256k1 0.2 (Debian's libsecp256k1-dev), with the modules Nostr needs: BIP-340 Schnorr signatures, x-only keys
   and key pairs, and ECDH. Only ProfferCrypto imports this. */
#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#endif
