/* The growing string of strbuf_impl.h. */
#include "strbuf_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void am_sb_grow(am_strbuf *b, size_t more)
{
    if (b->oom || b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) cap *= 2;
    char *s = b->heap ? realloc(b->s, cap) : malloc(cap);
    if (!s) {
        b->oom = true;
        return;
    }
    if (!b->heap && b->n) memcpy(s, b->s, b->n + 1);
    b->s = s;
    b->cap = cap;
    b->heap = true;
}

void am_sb_put(am_strbuf *b, const char *s, size_t len)
{
    am_sb_grow(b, len);
    if (b->oom) return;
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

void am_sb_puts(am_strbuf *b, const char *s)
{
    am_sb_put(b, s, strlen(s));
}

void am_sb_printf(am_strbuf *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len < sizeof(small)) {
        am_sb_put(b, small, (size_t)len);
        return;
    }
    am_sb_grow(b, (size_t)len);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)len + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)len;
}

void am_sb_free(am_strbuf *b)
{
    if (b->heap) free(b->s);
    *b = (am_strbuf){0};
}
