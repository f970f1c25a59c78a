// Checks CSodium.h's declarations against the real header: conflicting types fail here.
#include <sodium.h>
#include "CSodium.h"

_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "IETF nonce is 12 bytes");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == 16, "tag is 16 bytes");
_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32, "key is 32 bytes");
