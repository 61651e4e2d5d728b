/* Data: the IDX file reader (MNIST, Fashion-MNIST), data sets of (data,
 * label) arrays and a loader that yields shuffled, transformed batches,
 * prepared by a background thread.  docs/data.md tells the whole story. */
#ifndef AMBER_DATA_H
#define AMBER_DATA_H

/* Example:
 *
 *     am_dataset *d = am_dataset_idx(AM_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz",
 *                                    AM_FASHION_MNIST_DIR "/train-labels-idx1-ubyte.gz");
 *     am_loader_opts o = am_loader_defaults(64);     // batch 64, shuffled, seed 0
 *     o.scale = 1.0f / 255;                           // uint8 pixels to [0, 1]
 *     o.flip = true;                                  // random horizontal flips
 *     am_loader *l = am_loader_create(d, &o);         // starts the worker thread
 *     am_array *x, *y;                                // (64, 28, 28) and (64,), float32
 *     for (int epoch = 0; epoch < 2; epoch++) {
 *         am_scope_begin();
 *         while (am_loader_next(l, &x, &y) == AM_OK && x) {
 *             am_print(am_mean(x, NULL, 0, false));   // train on x, y: the scope owns them
 *         }
 *         am_scope_end();
 *     }
 *     am_loader_free(l);                               // stops the thread
 *     am_dataset_free(d);
 */

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where Debian's dataset-fashion-mnist package (`make deps`) puts its files. */
#define AM_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* ---- IDX files ---------------------------------------------------------------
 *
 * IDX (the MNIST format): a big-endian header (two zero bytes, a type code,
 * the number of dimensions, then each dimension as a uint32) followed by the
 * values, big-endian, in C order.  Type codes and the dtype they load as:
 * 0x08 uint8 -> AM_DTYPE_UINT8, 0x09 int8 and 0x0B int16 -> AM_DTYPE_INT32
 * (widened: Amber has no 8- or 16-bit signed dtype), 0x0C int32 -> INT32,
 * 0x0D float32 -> FLOAT32, 0x0E float64 -> FLOAT64.  The values must end
 * exactly where the header says: trailing bytes are an error, since IDX has
 * no trailer and extra bytes mean the header is wrong.
 */

/* Loads an IDX file, plain or gzip'd (told apart by the gzip magic 1f 8b),
 * onto the CPU.  Returns a new reference owned by the current scope, as an
 * op's result is.  NULL with AM_ERR_ARG (path NULL), AM_ERR_IO (cannot open,
 * not a regular file, read error) or AM_ERR_FORMAT: bad magic, unknown type
 * code, 0 or more than AM_MAX_NDIM dimensions, dimensions whose product
 * overflows or needs more bytes than the file can hold, truncated data,
 * trailing bytes, a corrupt gzip stream.  The message names the file, the
 * field and its byte offset (in the decompressed stream for gzip'd files).
 * Nothing larger than the file can hold is allocated. */
AM_API am_array *am_idx_load(const char *path);

/* Same, from size plain (not gzip'd) bytes at data; the message says
 * "<buffer>" for the file.  data may be NULL when size is 0. */
AM_API am_array *am_idx_load_buffer(const void *data, size_t size);

/* ---- data sets ------------------------------------------------------------- */

/* N samples: a data array and an optional label array whose axis 0 has
 * length N.  Single owner: am_dataset_free ends it. */
typedef struct am_dataset am_dataset;

/* A data set over data and label (label may be NULL); it takes its own
 * references, so the caller keeps theirs.  The arrays must be concrete, on
 * the CPU, with at least one axis and the same length on axis 0; they are
 * read by the loader's thread, so do not write to them while a loader runs.
 * NULL with AM_ERR_ARG (data NULL, keeping an earlier failure's message),
 * AM_ERR_SYMBOLIC, AM_ERR_DEVICE, AM_ERR_SHAPE or AM_ERR_OOM. */
AM_API am_dataset *am_dataset_arrays(am_array *data, am_array *label);

/* A data set from two IDX files (am_idx_load), e.g. Fashion-MNIST's images
 * and labels.  NULL with am_idx_load's errors, or AM_ERR_SHAPE naming both
 * files when their sample counts differ. */
AM_API am_dataset *am_dataset_idx(const char *data_path, const char *label_path);

/* Number of samples; 0 for NULL. */
AM_API int64_t am_dataset_size(const am_dataset *d);

/* The data and label arrays, borrowed from the data set (label is NULL when
 * it has none). NULL for a NULL data set. */
AM_API am_array *am_dataset_data(const am_dataset *d);
AM_API am_array *am_dataset_label(const am_dataset *d);

/* Frees the data set and drops its references.  NULL is a no-op.  Free the
 * loaders over it first. */
AM_API void am_dataset_free(am_dataset *d);

/* ---- the loader -------------------------------------------------------------- */

/* What happens to the last N % batch_size samples of an epoch (Gluon's
 * DataLoader last_batch): KEEP yields a smaller last batch, DISCARD drops
 * them, ROLLOVER puts them at the front of the next epoch. */
typedef enum am_last_batch {
    AM_LAST_BATCH_KEEP,
    AM_LAST_BATCH_DISCARD,
    AM_LAST_BATCH_ROLLOVER,
    AM_LAST_BATCH_COUNT
} am_last_batch;

/* "keep", "discard", "rollover"; "?" when out of range. */
AM_API const char *am_last_batch_name(am_last_batch m);

#define AM_LOADER_MAX_CHANNELS 16

/* How batches are made.  Start from am_loader_defaults and change fields.
 * Each data value v becomes ((v * scale) - mean[c]) / std[c], float32, where
 * c is its channel: samples are (H, W) images (one channel) or (C, H, W);
 * crop and flip act on the last two axes. */
typedef struct am_loader_opts {
    int64_t batch_size;       /* >= 1 */
    bool shuffle;             /* a new permutation each epoch, from seed */
    uint64_t seed;            /* shuffling and random transforms; not am_seed's generator */
    am_last_batch last_batch; /* KEEP by default */
    float scale;              /* multiplies raw values first: 1/255 for uint8 pixels */
    int n_norm;               /* 0: no normalization; 1: mean[0]/std[0] for all; C: per channel */
    float mean[AM_LOADER_MAX_CHANNELS], std[AM_LOADER_MAX_CHANNELS];
    int crop_pad;             /* > 0: pad H and W by this (zeros, before scale) and crop
                               * back to (H, W) at a random offset */
    bool flip;                /* mirror W with probability 1/2 per sample */
    bool channel_axis;        /* 2-D samples (H, W) come out as (B, 1, H, W) */
    bool background;          /* prepare batches in a worker thread (default true) */
} am_loader_opts;

/* Defaults: batch_size as given, shuffle on, seed 0, KEEP, scale 1, no
 * normalization or augmentation, background thread on. */
AM_API am_loader_opts am_loader_defaults(int64_t batch_size);

/* Batches over a data set.  Single owner: am_loader_create, am_loader_free. */
typedef struct am_loader am_loader;

/* A loader over d (borrowed: d must outlive the loader) with options o
 * (copied; NULL: am_loader_defaults(1)).  With o->background it starts a
 * thread that prepares up to two batches ahead.  NULL with AM_ERR_ARG (d
 * NULL, batch_size < 1, a bad last_batch, n_norm not 0, 1 or the number of
 * channels, std 0, crop_pad < 0, crop/flip on samples with fewer than 2
 * axes, channel_axis on samples that are not 2-D), AM_ERR_OOM, or
 * AM_ERR_INTERNAL when the thread cannot start. */
AM_API am_loader *am_loader_create(am_dataset *d, const am_loader_opts *o);

/* The next batch of the current epoch: *data (B, sample dims...) and
 * *label (B, label dims...), both float32 (label class indices as float32,
 * as am_pick and the losses take them; *label is NULL when the data set has
 * no labels).  The arrays are owned as an op's results are: by the caller's
 * current scope when one is open, else the caller holds a new reference and
 * am_release's it.  At the end of an epoch it returns AM_OK with *data and
 * *label NULL, and the next call starts the next epoch.  Errors: AM_ERR_ARG
 * (an argument NULL), AM_ERR_OOM; an error made in the worker thread is
 * reported here with its message, and again by every later call. */
AM_API am_status am_loader_next(am_loader *l, am_array **data, am_array **label);

/* Ends the current epoch early: the next am_loader_next gives the first
 * batch of the next epoch (the prepared batches are dropped).  A no-op when
 * no batch of the current epoch has been taken yet.  AM_ERR_ARG for NULL. */
AM_API am_status am_loader_reset(am_loader *l);

/* The epoch that am_loader_next is in (0 first); batches in it, counting
 * samples rolled over into it; -1 for NULL. */
AM_API int64_t am_loader_epoch(const am_loader *l);
AM_API int64_t am_loader_num_batches(const am_loader *l);

/* Stops the worker thread (even mid-epoch), drops the batches it prepared
 * and frees the loader.  Batches already returned stay valid.  NULL is a
 * no-op. */
AM_API void am_loader_free(am_loader *l);

#ifdef __cplusplus
}
#endif
#endif /* AMBER_DATA_H */
