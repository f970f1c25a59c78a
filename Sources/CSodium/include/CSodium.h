// libsodium for the dispatch link: ChaCha20-Poly1305 (IETF) and random bytes. Kept
// apart from CLinux so the link's protocol code needs nothing but this.
#ifndef PLUMB_CSODIUM_H
#define PLUMB_CSODIUM_H
// Same feature macros as CLinux: both modules see the same system headers, and clang
// refuses two modules that define fd_set and friends differently.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <sodium.h>
#endif
