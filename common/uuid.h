/* UUIDs in their 36-character text form: random ones (version 4) for new things, and
 * name-based ones (version 8, the first 16 bytes of SHA-256 over a name) where the same name
 * must always give the same uid, such as an entry message's AMQP message_id. */
#ifndef WEFT_UUID_H
#define WEFT_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define WEFT_UUID_LEN 36

/* Writes a new random UUID and its terminating NUL into out (caller's buffer). */
void weft_uuid_new(char out[WEFT_UUID_LEN + 1]);

/* Writes the UUID that name (len bytes, borrowed) always maps to: SHA-256 of the name with
 * the version (8) and variant bits set, so distinct names collide only as SHA-256 does. */
void weft_uuid_from_name(const void *name, size_t len, char out[WEFT_UUID_LEN + 1]);

/* True when s is a UUID in 8-4-4-4-12 hex form (any version, either case). */
bool weft_uuid_valid(const char *s);

/* Writes n random bytes (from the kernel) into buf. */
void weft_random_bytes(void *buf, unsigned n);

#endif
