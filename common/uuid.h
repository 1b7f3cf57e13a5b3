/* Random (version 4) UUIDs in their 36-character text form. */
#ifndef WEFT_UUID_H
#define WEFT_UUID_H

#include <stdbool.h>

#define WEFT_UUID_LEN 36

/* Writes a new random UUID and its terminating NUL into out (caller's buffer). */
void weft_uuid_new(char out[WEFT_UUID_LEN + 1]);

/* True when s is a UUID in 8-4-4-4-12 hex form (any version, either case). */
bool weft_uuid_valid(const char *s);

/* Writes n random bytes (from the kernel) into buf. */
void weft_random_bytes(void *buf, unsigned n);

#endif
