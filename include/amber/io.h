/* Reading and writing arrays in files: NumPy .npy (MXNet .params comes with
 * the symbol module). */
#ifndef AMBER_IO_H
#define AMBER_IO_H

/*
 *     am_array *x = am_npy_load("input.npy");
 *     if (!x) { fprintf(stderr, "%s\n", am_last_error()); return 1; }
 *     am_array *y = am_relu(x);
 *     if (am_npy_save("output.npy", y) != AM_OK) ...
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
 * (cannot open/read) or AM_ERR_FORMAT (naming the file and the problem). */
AM_API am_array *am_npy_load(const char *path);

/* Same, from bytes in memory. */
AM_API am_array *am_npy_load_buffer(const void *data, size_t size);

/* Writes x as .npy (version 1.0).  The file is written to a temporary name
 * and renamed, so a failure never leaves a partial file.  AM_ERR_IO,
 * AM_ERR_SYMBOLIC, AM_ERR_DEVICE. */
AM_API am_status am_npy_save(const char *path, am_array *x);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_IO_H */
