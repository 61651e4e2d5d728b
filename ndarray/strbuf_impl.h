/* A growing string, shared by the writers that build text in memory: array
 * printing (ndarray/print.c), symbol JSON (symbol/json.c) and the profiler's
 * trace (ndarray/profiler.c).  Zero-initialise to start empty, or start in
 * the caller's bytes with {.s = buf, .cap = sizeof(buf)} (heap false): the
 * first growth moves the text to malloc'd memory.  After an allocation
 * failure oom is set and further writes are dropped; the text so far stays
 * NUL-terminated. */
#ifndef AMBER_STRBUF_IMPL_H
#define AMBER_STRBUF_IMPL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct am_strbuf {
    char *s;         /* malloc'd when heap, else the caller's bytes (or NULL) */
    size_t n, cap;   /* length (without the NUL) and room */
    bool heap, oom;
} am_strbuf;

/* Makes room for more bytes (and the NUL). */
void am_sb_grow(am_strbuf *b, size_t more);
void am_sb_put(am_strbuf *b, const char *s, size_t len);
void am_sb_puts(am_strbuf *b, const char *s);
void am_sb_printf(am_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees a heap string (not the caller's bytes). */
void am_sb_free(am_strbuf *b);

#endif /* AMBER_STRBUF_IMPL_H */
