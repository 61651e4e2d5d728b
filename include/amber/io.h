/* Reading and writing arrays in files: NumPy .npy and MXNet's .params
 * (NDArray list) files. */
#ifndef AMBER_IO_H
#define AMBER_IO_H

/* Example:
 *
 *     am_array *x = am_npy_load("input.npy");
 *     if (!x) { fprintf(stderr, "%s\n", am_last_error()); return 1; }
 *     am_array *y = am_relu(x);
 *     if (am_npy_save("output.npy", y) != AM_OK) return 1;
 *
 * .npy: format versions 1.0, 2.0 and 3.0, little-endian, C order, dtypes
 * <f4 <f8 <i4 <i8 |u1 (and |b1 read as uint8).  Anything else is an
 * AM_ERR_FORMAT error that says what was found.
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads a .npy file onto the CPU.  New reference, or NULL with AM_ERR_IO
 * (cannot open/read, or not a regular file: a FIFO or device is refused
 * without blocking) or AM_ERR_FORMAT (naming the file and the problem). */
AM_API am_array *am_npy_load(const char *path);

/* Same, from bytes in memory. */
AM_API am_array *am_npy_load_buffer(const void *data, size_t size);

/* Writes x as .npy (version 1.0).  The file is written to a temporary name
 * and renamed, so a failure never leaves a partial file; a symbolic link is
 * written through and the target's mode kept (docs/formats/files.md).
 * AM_ERR_IO (with the system's reason), AM_ERR_SYMBOLIC, AM_ERR_DEVICE. */
AM_API am_status am_npy_save(const char *path, am_array *x);

/* ---- MXNet .params files: lists of named arrays ------------------------------
 * Example:
 *
 *     am_ndlist *l = am_ndlist_load("model-0000.params");
 *     if (!l) { fprintf(stderr, "%s\n", am_last_error()); return 1; }
 *     for (int i = 0; i < am_ndlist_size(l); i++)
 *         printf("%s\n", am_ndlist_name(l, i));          // "arg:dense0_weight", ...
 *     am_array *w = am_ndlist_find(l, "arg:dense0_weight");   // borrowed from l
 *     am_ndlist *out = am_ndlist_create();
 *     am_ndlist_add(out, "arg:w", w);                     // out holds its own reference
 *     am_ndlist_save(out, "copy.params");
 *     am_ndlist_free(out);
 *     am_ndlist_free(l);
 *
 * The format is MXNet 1.x's NDArray list (mx.nd.save, HybridBlock.export,
 * Block.save_parameters); docs/formats/params.md gives it byte by byte.  Names
 * are kept verbatim: an "arg:"/"aux:" prefix is not stripped here.  A list is
 * either named (every array has a name, names are unique) or unnamed (no array
 * has one); the first am_ndlist_add decides which.
 */

/* An ordered list of arrays, each with an optional name.  Single owner:
 * am_ndlist_create or a loader makes one, am_ndlist_free ends it. */
typedef struct am_ndlist am_ndlist;

/* A new, empty list; NULL with AM_ERR_OOM. */
AM_API am_ndlist *am_ndlist_create(void);

/* Reads a .params file.  Records V1, V2 and V3 and the older records without
 * a magic number are read; every array lands on the CPU, whatever device the
 * file names.  The arrays belong to the list (no scope owns them); they stay
 * valid until am_ndlist_free, or longer for whoever am_retain's them.  NULL
 * with AM_ERR_ARG (path NULL), AM_ERR_IO (cannot open or read),
 * AM_ERR_FORMAT (not a .params file, truncated, corrupt, or a dtype Amber
 * lacks, such as float16: the message names the record or name, the field
 * and its byte offset), AM_ERR_UNSUPPORTED (sparse arrays, "none" arrays)
 * or AM_ERR_OOM.  Sizes are checked against the file's length before
 * anything is allocated. */
AM_API am_ndlist *am_ndlist_load(const char *path);

/* Same, from size bytes at data (which may be NULL when size is 0).  The
 * list copies what it needs; data may be freed afterwards. */
AM_API am_ndlist *am_ndlist_load_buffer(const void *data, size_t size);

/* Appends x under name (copied); the list takes its own reference to x, the
 * caller keeps theirs.  name is NULL for every entry of an unnamed list and
 * non-NULL for every entry of a named one.  AM_ERR_ARG when l is NULL, x is
 * NULL (keeping an earlier failure's message), name is a duplicate or the
 * list is named and name is NULL (or the other way round);
 * AM_ERR_SYMBOLIC when x has no values (a traced array); AM_ERR_OOM. */
AM_API am_status am_ndlist_add(am_ndlist *l, const char *name, am_array *x);

/* Number of arrays; 0 for NULL. */
AM_API int am_ndlist_size(const am_ndlist *l);

/* True when the list's arrays have names (false for NULL and for an empty
 * list that nothing was added to). */
AM_API bool am_ndlist_is_named(const am_ndlist *l);

/* Name of array i, borrowed from the list (valid until am_ndlist_free).
 * NULL without an error for an unnamed list; NULL with AM_ERR_ARG when l is
 * NULL or i is out of range. */
AM_API const char *am_ndlist_name(const am_ndlist *l, int i);

/* Array i, borrowed from the list (valid until am_ndlist_free; am_retain it
 * to keep it longer).  NULL with AM_ERR_ARG when l is NULL or i is out of
 * range. */
AM_API am_array *am_ndlist_get(const am_ndlist *l, int i);

/* The array named name, borrowed as for am_ndlist_get.  NULL without an
 * error when there is none (an unnamed list has none); NULL with AM_ERR_ARG
 * when l or name is NULL. */
AM_API am_array *am_ndlist_find(const am_ndlist *l, const char *name);

/* Writes the list as a .params file that MXNet 1.x loads with mx.nd.load:
 * V2 records (V3 for every record when the list holds a 0-d array, which V2
 * cannot express), each marked as a CPU array; GPU arrays are copied to the
 * host first.  The file is written to a temporary name beside path, synced
 * and renamed, so a failure never leaves a partial file (docs/formats/
 * files.md: links written through, mode kept).  AM_ERR_ARG (l or
 * path NULL), AM_ERR_IO, AM_ERR_OOM, AM_ERR_DEVICE/AM_ERR_CUDA (copying from
 * a GPU). */
AM_API am_status am_ndlist_save(const am_ndlist *l, const char *path);

/* Same bytes as am_ndlist_save, into memory: *data gets a malloc'd buffer of
 * *size bytes that the caller frees with free().  On failure *data is NULL
 * and *size 0.  AM_ERR_ARG (any argument NULL), AM_ERR_OOM, AM_ERR_DEVICE,
 * AM_ERR_CUDA. */
AM_API am_status am_ndlist_save_buffer(const am_ndlist *l, void **data, size_t *size);

/* Frees the list and its names and drops its references to the arrays.
 * NULL is a no-op. */
AM_API void am_ndlist_free(am_ndlist *l);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_IO_H */
