/* The few parts of S3's XML answers that the s3 tasks read: a ListObjectsV2 page
 * (IsTruncated, NextContinuationToken, and each Contents' Key, Size and ETag) and an
 * error's Code and Message. Not a general XML parser, and no XML library for it: S3 writes
 * these elements without attributes and never nests an element inside one of the same
 * name, so an element runs from its start tag to the first end tag of its name. Comments,
 * processing instructions and CDATA sections are stepped over while searching (a '<' in
 * them is not a tag); text is decoded (the five named entities, numeric character
 * references, CDATA). A text that holds an element, a bad reference or a NUL is malformed.
 * Everything works on a borrowed buffer of known length, which need not end in a NUL. */
#ifndef WEFT_S3_XML_H
#define WEFT_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

/* Finds the next element named name in [*pos, end). On true, [*body, *body + *body_len)
 * is its content (borrowed from the buffer; empty for <name/>) and *pos is past it; false
 * when there is none or its end tag is missing. */
bool weft_s3_xml_next(const char **pos, const char *end, const char *name, const char **body,
                      size_t *body_len);

/* The decoded text of the first element named name in [xml, xml + len): a new string
 * (caller frees), or NULL when there is no such element or its text is malformed. */
char *weft_s3_xml_text(const char *xml, size_t len, const char *name);

#endif
