#include "uuid.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

void weft_random_bytes(void *buf, unsigned n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0) {
            perror("weft: getrandom");
            abort();
        }
        p += got;
        n -= (unsigned)got;
    }
}

/* The text form of 16 bytes, with the given version and the RFC 4122 variant set. */
static void format_uuid(unsigned char b[16], int version, char out[WEFT_UUID_LEN + 1])
{
    b[6] = (unsigned char)((b[6] & 0x0f) | (version << 4));
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, WEFT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void weft_uuid_new(char out[WEFT_UUID_LEN + 1])
{
    unsigned char b[16];
    weft_random_bytes(b, sizeof b);
    format_uuid(b, 4, out);
}

void weft_uuid_from_name(const void *name, size_t len, char out[WEFT_UUID_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(name, len, digest, &n, EVP_sha256(), NULL) || n < 16) {
        fputs("weft: SHA-256 unavailable\n", stderr);
        abort();
    }
    format_uuid(digest, 8, out);
}

bool weft_uuid_valid(const char *s)
{
    if (!s || strlen(s) != WEFT_UUID_LEN)
        return false;
    for (int i = 0; i < WEFT_UUID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}
