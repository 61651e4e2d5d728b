/* Bytes read in order from a file or from memory, and the two ways into a
 * reader built on them (a path or a buffer): what the .npy reader
 * (ndarray/npy.c) and the .params reader (hybrid/params_file.c) share. */
#include "ndarray_impl.h"

#include <errno.h>

am_status am_byte_src_read(am_byte_src *s, void *dst, uint64_t n)
{
    AM_ASSERT(n <= s->size - s->pos);
    if (n == 0) return AM_OK;
    if (s->f) {
        if (fread(dst, 1, (size_t)n, s->f) != (size_t)n)
            return am_fail(AM_ERR_IO, "%s: read failed: %s", s->name,
                           ferror(s->f) ? strerror(errno) : "the file shrank while reading");
    } else {
        memcpy(dst, s->mem + s->pos, (size_t)n);
    }
    s->pos += n;
    return AM_OK;
}

void *am_byte_src_load_file(const char *fn, const char *path, am_byte_loader load, void *ctx)
{
    am_err_ctx c;
    void *out = NULL;
    am_byte_src s = {.name = path};
    am_err_push(&c, fn, (am_site){NULL, 0});
    if (am_file_open_read(path, &s.f, &s.size) == AM_OK) {
        out = load(&s, ctx);
        fclose(s.f);
    }
    am_err_pop(&c);
    return out;
}

void *am_byte_src_load_buffer(const char *fn, const void *data, size_t size, am_byte_loader load,
                              void *ctx)
{
    am_err_ctx c;
    void *out = NULL;
    am_err_push(&c, fn, (am_site){NULL, 0});
    if (!data && size) {
        am_fail(AM_ERR_ARG, "data is NULL");
    } else {
        am_byte_src s = {.name = "<buffer>", .mem = data, .size = size};
        out = load(&s, ctx);
    }
    am_err_pop(&c);
    return out;
}
