/* text.replace and text.summary: pure functions of the input's `content`. */
#include "task_impl.h"

#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>

/* Largest text text.replace will produce: the output is stored as one JSON value. */
#define TEXT_MAX_OUTPUT_BYTES (64u * 1024u * 1024u)
#define TEXT_TOP_WORDS 5

/* The string argument key with its length (it may hold NUL bytes); false if not a string. */
static bool text_arg(const weft_task_ctx *ctx, const char *key, const char **s, size_t *n)
{
    const json_t *v = weft_task_arg(ctx, key);
    if (!json_is_string(v))
        return false;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return true;
}

weft_task_result weft_task_text_replace(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                        size_t errlen)
{
    const char *content, *from, *to;
    size_t n, from_n, to_n;
    if (!text_arg(ctx, "content", &content, &n))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.replace: 'content' must be a string");
    if (!text_arg(ctx, "from", &from, &from_n) || from_n == 0)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.replace: 'from' must be a non-empty string");
    if (!text_arg(ctx, "to", &to, &to_n))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.replace: 'to' must be a string");

    size_t count = 0;
    for (const char *p = content, *end = content + n;
         (p = memmem(p, (size_t)(end - p), from, from_n)) != NULL; p += from_n)
        count++;

    /* kept + count * to_n, refused only when the text grows past the limit */
    size_t kept = n - count * from_n;
    if (to_n > from_n && count > 0 &&
        (kept > TEXT_MAX_OUTPUT_BYTES || count > (TEXT_MAX_OUTPUT_BYTES - kept) / to_n))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.replace: the result would be over %u bytes",
                               TEXT_MAX_OUTPUT_BYTES);
    size_t out_n = kept + count * to_n;

    char *out = weft_xmalloc(out_n + 1), *o = out;
    const char *p = content, *end = content + n;
    for (const char *hit; (hit = memmem(p, (size_t)(end - p), from, from_n)) != NULL;
         p = hit + from_n) {
        memcpy(o, p, (size_t)(hit - p));
        o += hit - p;
        memcpy(o, to, to_n);
        o += to_n;
    }
    memcpy(o, p, (size_t)(end - p));
    o += end - p;

    /* UTF-8 in, UTF-8 out: a `from` cutting a character in two could still break it */
    json_t *s = json_stringn(out, (size_t)(o - out));
    free(out);
    if (!s)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.replace: the result is not valid UTF-8");
    *output = json_object();
    json_object_set_new(*output, "content", s);
    json_object_set_new(*output, "replacements", json_integer((json_int_t)count));
    return WEFT_TASK_OK;
}

/* ---- text.summary ---- */

typedef struct {
    char *word; /* NULL: empty slot */
    size_t count;
} word_slot;

typedef struct {
    word_slot *slots;
    size_t cap, used; /* cap is a power of two */
} word_table;

static uint64_t hash_word(const char *w, size_t n)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 1099511628211u;
    return h;
}

static void table_grow(word_table *t)
{
    word_table bigger = {weft_xcalloc(t->cap * 2, sizeof(word_slot)), t->cap * 2, t->used};
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].word)
            continue;
        size_t j = hash_word(t->slots[i].word, strlen(t->slots[i].word)) & (bigger.cap - 1);
        while (bigger.slots[j].word)
            j = (j + 1) & (bigger.cap - 1);
        bigger.slots[j] = t->slots[i];
    }
    free(t->slots);
    *t = bigger;
}

/* Counts one occurrence of the lowercase word w[0..n). */
static void table_add(word_table *t, const char *w, size_t n)
{
    if ((t->used + 1) * 4 > t->cap * 3)
        table_grow(t);
    size_t j = hash_word(w, n) & (t->cap - 1);
    for (; t->slots[j].word; j = (j + 1) & (t->cap - 1)) {
        if (strncmp(t->slots[j].word, w, n) == 0 && t->slots[j].word[n] == '\0') {
            t->slots[j].count++;
            return;
        }
    }
    t->slots[j] = (word_slot){weft_xstrndup(w, n), 1};
    t->used++;
}

/* Most frequent first, then alphabetical; empty slots last. */
static int slot_order(const void *a, const void *b)
{
    const word_slot *x = a, *y = b;
    if (!x->word || !y->word)
        return !x->word - !y->word;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->word, y->word);
}

static bool is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* lines: '\n' count, plus one for an unterminated last line. words: runs of non-whitespace,
 * as wc -w counts them. chars: code points. top_words: runs of ASCII letters and digits,
 * lowercased, most frequent first, ties alphabetical. */
weft_task_result weft_task_text_summary(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                        size_t errlen)
{
    const char *content;
    size_t n;
    if (!text_arg(ctx, "content", &content, &n))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "text.summary: 'content' must be a string");

    size_t lines = 0, words = 0, chars = 0;
    bool in_word = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)content[i];
        lines += c == '\n';
        chars += (c & 0xC0) != 0x80;
        words += !in_word && !is_space(c);
        in_word = !is_space(c);
    }
    if (n > 0 && content[n - 1] != '\n')
        lines++;

    word_table t = {weft_xcalloc(64, sizeof(word_slot)), 64, 0};
    char *lower = weft_xmalloc(n + 1);
    for (size_t i = 0; i < n;) {
        if (!is_word_char((unsigned char)content[i])) {
            i++;
            continue;
        }
        size_t start = i;
        for (; i < n && is_word_char((unsigned char)content[i]); i++) {
            char c = content[i];
            lower[i - start] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        table_add(&t, lower, i - start);
    }
    free(lower);

    qsort(t.slots, t.cap, sizeof(word_slot), slot_order);
    json_t *top = json_array();
    for (size_t i = 0; i < t.used && i < TEXT_TOP_WORDS; i++)
        json_array_append_new(top, json_pack("{s:s, s:I}", "word", t.slots[i].word, "count",
                                             (json_int_t)t.slots[i].count));
    for (size_t i = 0; i < t.used; i++)
        free(t.slots[i].word);
    free(t.slots);

    *output = json_pack("{s:I, s:I, s:I, s:o}", "lines", (json_int_t)lines, "words",
                        (json_int_t)words, "chars", (json_int_t)chars, "top_words", top);
    return WEFT_TASK_OK;
}
