/* SHA-256 over data that arrives in pieces (a download, a file read in blocks), so that no
 * whole object is held in memory to digest it. libcrypto computes it.
 *
 * States: started (weft_sha256_init) → fed any number of times (weft_sha256_update) →
 * ended by weft_sha256_final_hex, which writes the digest and frees what init took; a
 * digest abandoned half-way is ended by weft_sha256_finish instead. The caller owns the
 * struct (stack or heap); libcrypto failing to allocate aborts the process, as every
 * allocation failure in weft does (alloc.h). */
#ifndef WEFT_SHA256_H
#define WEFT_SHA256_H

#include <stdbool.h>
#include <stddef.h>

/* The hex digest's length, without its NUL. */
#define WEFT_SHA256_HEX_LEN 64

typedef struct {
    void *md; /* libcrypto's EVP_MD_CTX; NULL once ended */
} weft_sha256;

/* Starts a digest in h (the caller's memory). */
void weft_sha256_init(weft_sha256 *h);

/* Adds n bytes of data (borrowed) to the digest. */
void weft_sha256_update(weft_sha256 *h, const void *data, size_t n);

/* Ends the digest: writes its lowercase hex form and a NUL into out. */
void weft_sha256_final_hex(weft_sha256 *h, char out[WEFT_SHA256_HEX_LEN + 1]);

/* Ends a digest without a result; accepts one already ended. */
void weft_sha256_finish(weft_sha256 *h);

/* The digest of the file open at fd, read from its current offset to its end in blocks,
 * into out; also its length in *bytes. False with errno set when a read failed. */
bool weft_sha256_fd_hex(int fd, char out[WEFT_SHA256_HEX_LEN + 1], long long *bytes);

#endif
