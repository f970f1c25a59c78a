// libsodium for the dispatch link: ChaCha20-Poly1305 (IETF) and random bytes. Kept
// apart from CLinux so the link's protocol code needs nothing but this.
#ifndef PLUMB_CSODIUM_H
#define PLUMB_CSODIUM_H
#include <sodium.h>
#endif
