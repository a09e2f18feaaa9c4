/* engine/frame.h — the engine's table: typed columns in memory or mapped
 * from a columnar file, the columnar file format itself (docs/columnar.md),
 * the native CSV reader, and the schema profile.
 *
 * A frame holds n rows and named columns. Each column has one type and
 * either owns its buffers (built by a reader) or points into a mapped file
 * (frame_map). Buffers:
 *   COL_INT64, COL_TIMESTAMP  int64_t values[n]   (timestamps: ns since the
 *                                                   epoch, UTC)
 *   COL_FLOAT64               double values[n]
 *   COL_BOOL                  uint8_t values[n]    (0 or 1)
 *   COL_STRING                int32_t codes[n] into a dictionary of
 *                             dict_count strings: dict_offsets[dict_count+1]
 *                             (int64, byte offsets) into dict_data (UTF-8,
 *                             not NUL-terminated)
 *   validity                  NULL when the column has no nulls, else a
 *                             bitmap of ceil(n/8) bytes, bit i (LSB first)
 *                             set when row i is valid. A null row's value or
 *                             code is 0 and means nothing.
 * Float NaN is always null (validity bit clear), never a value; +-inf are
 * values. Not installed. */
#ifndef ASSAY_ENGINE_FRAME_H
#define ASSAY_ENGINE_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum col_type {
  COL_INT64 = 1,
  COL_FLOAT64 = 2,
  COL_BOOL = 3,
  COL_STRING = 4,
  COL_TIMESTAMP = 5
} col_type;

/* "int64", "float64", "bool", "string", "timestamp" */
const char *col_type_name(col_type t);

typedef struct column {
  char *name;                 /* UTF-8, owned */
  col_type type;
  const uint8_t *validity;    /* NULL: no nulls */
  const void *values;         /* int64_t / double / uint8_t / int32_t codes */
  int64_t dict_count;         /* COL_STRING only */
  const int64_t *dict_offsets;
  const char *dict_data;
  int64_t null_count;
  void *owned[4];             /* buffers this column frees (NULL if mapped) */
} column;

typedef struct frame {
  int64_t rows;
  int ncols;
  column *cols;               /* ncols entries */
  void *map;                  /* mmap of a columnar file, or NULL */
  size_t map_len;
} frame;

void frame_free(frame *f);                       /* NULL accepted */
/* The column named `name`, or NULL. */
const column *frame_col(const frame *f, const char *name);
/* Whether row i of c is valid (not null). */
static inline int col_valid(const column *c, int64_t i) {
  return !c->validity || ((c->validity[i >> 3] >> (i & 7)) & 1);
}

/* --- the columnar file (docs/columnar.md) ---------------------------------
 * "ASSAYCOL" magic, u32 format version (1), u32 header length, a JSON
 * header {rows, columns: [{name, type, null_count, validity?, values,
 * dict_offsets?, dict_data?, dict_count?}]} whose buffer entries are
 * {offset, length} in bytes from the start of the file, every buffer
 * 64-byte aligned, little-endian. */

/* Write f to path (atomically: a temporary file renamed into place,
 * fsynced). Mode 0600. */
int frame_write(const frame *f, const char *path);
/* Map a columnar file read-only; every offset, length, code and dictionary
 * offset is checked against the file, so a truncated or hostile file is
 * ASSAY_ERR_DATA, never a crash. */
int frame_map(frame **out, const char *path);
/* Concatenate frames with the same column names (in order); a column whose
 * types differ between parts is widened (int64 + float64 -> float64; bool
 * + int64 -> int64) or else ASSAY_ERR_DATA naming the column and both
 * types. Dictionaries are merged. The parts are left as they are. */
int frame_concat(frame **out, frame *const *parts, int nparts);

/* --- the native CSV reader -------------------------------------------------
 * RFC 4180 with a header row: quoted fields ("" escapes a quote; line breaks
 * inside quotes), CRLF or LF, UTF-8 (a BOM is skipped; invalid UTF-8 is
 * ASSAY_ERR_DATA naming the line). Reads the file in blocks twice: the
 * first pass infers each column's type, the second fills typed buffers, so
 * memory is the frame's, not the file's.
 * Types, narrowest that holds every non-null value: bool (true/false/True/
 * False/TRUE/FALSE), int64, float64 (also inf/-inf/Infinity), timestamp
 * (ISO 8601: YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM];
 * no zone means UTC), else string. Nulls as pandas' defaults: empty field,
 * "", #N/A, #N/A N/A, #NA, -1.#IND, -1.#QNAN, -NaN, -nan, 1.#IND, 1.#QNAN,
 * <NA>, N/A, NA, NULL, NaN, None, n/a, nan, null. Rows with fewer fields
 * than the header get nulls; more is ASSAY_ERR_DATA naming the line. An
 * empty header name becomes "Unnamed: <index>"; a repeated one is
 * ASSAY_ERR_DATA. */
typedef struct csv_options {
  char delimiter;       /* default ',' */
  int64_t nrows;        /* read at most this many data rows; 0: all */
  json_t *na_values;    /* extra null strings (array of strings), or NULL */
  int keep_default_na;  /* 1 (default): the list above is null too */
} csv_options;
#define CSV_OPTIONS_INIT { ',', 0, NULL, 1 }

int csv_read(frame **out, const char *path, const csv_options *opts);
/* csv_options from a data_params.loading_kwargs object: keys "sep" or
 * "delimiter" (one character), "nrows", "na_values", "keep_default_na";
 * any other key is ASSAY_ERR_CONFIG listing these. */
int csv_options_from_json(csv_options *out, const json_t *loading_kwargs);
/* Write f as CSV (header, RFC 4180 quoting, nulls as empty fields,
 * timestamps as ISO 8601 UTC, floats round-tripping). */
int csv_write(const frame *f, const char *path);

/* Build a frame from a JSON table: an object {name: [values...]} (column
 * order as given) or an array of {"name", "values"}. Values: integers,
 * numbers, booleans, strings, null; a column's type is the narrowest that
 * holds them (strings that are ISO timestamps stay strings). Columns of
 * different lengths are ASSAY_ERR_CONFIG naming them. */
int frame_from_json(frame **out, const json_t *table);

/* --- the schema profile ------------------------------------------------------
 * [{column, type, null_share, distinct_count}] in column order: null_share
 * = nulls / rows (0 for no rows), distinct_count = distinct non-null values
 * (exact). */
int frame_profile(const frame *f, json_t **out);

#endif
