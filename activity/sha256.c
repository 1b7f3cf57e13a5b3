#include "sha256.h"

#include "alloc.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SHA256_READ_BLOCK (256 * 1024)

/* libcrypto fails here only when it cannot allocate: the one policy of alloc.h. */
static void crypto_failed(void)
{
    fputs("weft: SHA-256 unavailable (libcrypto)\n", stderr);
    abort();
}

void weft_sha256_init(weft_sha256 *h)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
        crypto_failed();
    h->md = md;
}

void weft_sha256_update(weft_sha256 *h, const void *data, size_t n)
{
    if (n && !EVP_DigestUpdate(h->md, data, n))
        crypto_failed();
}

void weft_sha256_final_hex(weft_sha256 *h, char out[WEFT_SHA256_HEX_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(h->md, digest, &n) || n * 2 != WEFT_SHA256_HEX_LEN)
        crypto_failed();
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[WEFT_SHA256_HEX_LEN] = '\0';
    weft_sha256_finish(h);
}

void weft_sha256_finish(weft_sha256 *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

bool weft_sha256_fd_hex(int fd, char out[WEFT_SHA256_HEX_LEN + 1], long long *bytes)
{
    char *block = weft_xmalloc(SHA256_READ_BLOCK);
    weft_sha256 h;
    weft_sha256_init(&h);
    *bytes = 0;
    for (;;) {
        ssize_t got = read(fd, block, SHA256_READ_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            weft_sha256_finish(&h);
            free(block);
            errno = e;
            return false;
        }
        if (got == 0)
            break;
        weft_sha256_update(&h, block, (size_t)got);
        *bytes += got;
    }
    free(block);
    weft_sha256_final_hex(&h, out);
    return true;
}
