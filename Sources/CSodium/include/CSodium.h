// The three libsodium functions the dispatch link uses, declared here without any
// system header: a module that includes <sodium.h> drags in <sys/types.h>, and clang
// refuses two modules (this one and Foundation's, or CLinux) that see fd_set through
// different feature macros. shim.c includes the real <sodium.h> too, so a mismatch
// with these declarations is a compile error, never a silent ABI difference.
#ifndef PLUMB_CSODIUM_H
#define PLUMB_CSODIUM_H

int sodium_init(void);

int crypto_aead_chacha20poly1305_ietf_encrypt_detached(
    unsigned char *c, unsigned char *mac, unsigned long long *maclen_p,
    const unsigned char *m, unsigned long long mlen,
    const unsigned char *ad, unsigned long long adlen,
    const unsigned char *nsec, const unsigned char *npub, const unsigned char *k);

int crypto_aead_chacha20poly1305_ietf_decrypt_detached(
    unsigned char *m, unsigned char *nsec,
    const unsigned char *c, unsigned long long clen, const unsigned char *mac,
    const unsigned char *ad, unsigned long long adlen,
    const unsigned char *npub, const unsigned char *k);

#endif
