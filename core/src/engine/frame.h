/* engine/frame.h — the engine's table: typed columns in memory or mapped
 * from a columnar file, the columnar file format itself (docs/columnar.md),
 * the native CSV reader, and the schema profile.
 *
 * A frame holds n rows and named columns. Each column has one type and
 * either owns its buffers (built by a reader) or points into a mapped file
 * (frame_map) or a file read into memory (frame_read). Buffers:
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
  int dict_unique;            /* COL_STRING: 1 when the dictionary's entries
                                 are known distinct (built here, not mapped) */
} column;

typedef struct frame {
  int64_t rows;
  int ncols;
  column *cols;               /* ncols entries */
  void *map;                  /* mmap of a columnar file, or NULL */
  size_t map_len;
  void *data;                 /* a columnar file read into memory (frame_read),
                                 or NULL; freed by frame_free */
} frame;

void frame_free(frame *f);                       /* NULL accepted */
/* The column named `name`, or NULL. */
const column *frame_col(const frame *f, const char *name);
/* Whether row i of c is valid (not null). */
static inline int col_valid(const column *c, int64_t i) {
  return !c->validity || ((c->validity[i >> 3] >> (i & 7)) & 1);
}

/* --- the columnar file (docs/columnar.md, the exact layout) ----------------
 * "ASSAYCOL" magic, u32 format version (1), u32 header length H, a JSON
 * header of H bytes {rows, columns: [{name, type, null_count, validity?,
 * values, dict_count?, dict_offsets?, dict_data?}]} whose buffer entries
 * are {offset, length} in bytes from the start of the file, every buffer
 * 64-byte aligned, little-endian. type is col_type_name()'s text;
 * validity only when null_count > 0 (optional when 0); the dict_* keys for
 * strings only. */

/* Write f to path (atomically: a temporary file renamed into place,
 * fsynced). Mode 0600. */
int frame_write(const frame *f, const char *path);
/* frame_write without fsync (of the file and its folder): for a scratch
 * file that is read once and removed, where durability only costs time
 * (engine/predict.c's model input). */
int frame_write_scratch(const frame *f, const char *path);
/* Map a columnar file read-only; every offset, length, code and dictionary
 * offset is checked against the file, so a truncated or hostile file is
 * ASSAY_ERR_DATA, never a crash (the checks are listed in
 * docs/columnar.md). Columns point into the map; frame_free unmaps. */
int frame_map(frame **out, const char *path);
/* Read a columnar file that another process may still change — the
 * runner's parts, written by user code — into private memory (one 64-byte
 * aligned allocation, filled with pread in large blocks; never mapped) and
 * check it exactly as frame_map does. The file must be a regular file
 * (opened with O_NOFOLLOW and O_NONBLOCK: a symbolic link or a FIFO is
 * refused, not followed or waited on) owned by this process's effective
 * user, no larger than the machine's physical memory, and not sparse (a
 * file of 1 MiB or more of which less than half is stored on disk: its
 * writer sized it without writing it). Before any buffer is read, the
 * preamble and the header are read and checked (magic, version, header
 * length, JSON — a header holding more values than its parse may take
 * memory for, ~64 bytes each of max(the limit, 16 MiB), is refused
 * unparsed — and its
 * shape), and the file's size must be what the header's buffers need: at
 * least the end of the last non-empty buffer, at most the end of the last
 * buffer rounded up to 64 bytes (unlike frame_map, which ignores trailing
 * bytes). The file is read up to the size fstat gave, so one that shrinks
 * meanwhile is ASSAY_ERR_DATA and one that grows or changes afterwards
 * changes nothing (the checks and the frame see the same bytes). Columns
 * point into the copy; frame_free frees it. Every refusal is
 * ASSAY_ERR_DATA "columnar file <name> is not valid: ..." (a missing file
 * ASSAY_ERR_NOT_FOUND). */
int frame_read(frame **out, const char *path);
/* frame_read with a limit: a file larger than max_bytes (0: no limit but
 * the machine's memory) is refused before anything of it is read
 * ("... bytes, more than the N bytes allowed here"), and so is a header
 * too large for it (see above). *size_out (may be NULL): the bytes read,
 * which the frame holds. */
int frame_read_limited(frame **out, const char *path, uint64_t max_bytes, uint64_t *size_out);
/* For tests: when set, frame_read calls it before each pread (offset: the
 * bytes read so far), e.g. to truncate the file under it. */
extern void (*frame_read_test_hook)(int fd, uint64_t offset);
/* Concatenate frames with the same column names (in order); a column whose
 * types differ between parts is widened (int64 + float64 -> float64; bool
 * + int64 -> int64; bool + float64 -> float64) or else ASSAY_ERR_DATA
 * naming the column and both types. A part without rows, or in which the
 * column is entirely null, takes any type. Dictionaries are merged (codes
 * in order of first appearance). The parts are left as they are; nparts 0
 * gives an empty frame. */
int frame_concat(frame **out, frame *const *parts, int nparts);

/* --- the native CSV reader -------------------------------------------------
 * RFC 4180 with a header row: quoted fields ("" escapes a quote; line breaks
 * inside quotes; text after a closing quote is kept, a quote inside an
 * unquoted field is text, as pandas does), CRLF, LF or a lone CR, UTF-8 (a
 * BOM is skipped; invalid UTF-8 is ASSAY_ERR_DATA naming the line). Blank
 * lines (also of only spaces and tabs) are skipped, as pandas does. Reads
 * the file in blocks twice: the first pass finds the records, the second
 * parses the fields into typed buffers of that length, inferring each
 * column's type as it goes (fields parsed under a guess that a later value
 * overturns are converted exactly, or read again as text), so memory is
 * the frame's, not the file's.
 * Large files are read by several threads (one byte range each; up to the
 * online CPUs, at most 8; $ASSAY_CSV_THREADS forces a count, for tests).
 * Types, narrowest that holds every non-null value: bool (true/false/True/
 * False/TRUE/FALSE), int64 ([+-]digits; leading zeros allowed), float64
 * (decimal numbers: [+-]digits[.digits][e[+-]digits], ".5" and "5." too,
 * integers past int64, inf/infinity in any case; values exactly as strtod
 * gives them), timestamp (ISO 8601: YYYY-MM-DD,
 * YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|+HH:MM|-HH:MM|+HHMM|+HH]; no zone
 * means UTC; digits past nanoseconds dropped; 1677-09-21 .. 2262-04-11),
 * else string; bool and numbers, or numbers and timestamps, together are
 * string. Numbers may have spaces or tabs around them (as pandas). A
 * column with no values at all is float64 (as pandas). Nulls as pandas'
 * defaults, quoted or not: empty field, #N/A, #N/A N/A, #NA, -1.#IND,
 * -1.#QNAN, -NaN, -nan, 1.#IND, 1.#QNAN, <NA>, N/A, NA, NULL, NaN, None,
 * n/a, nan, null. Rows with fewer fields than the header get nulls; more is
 * ASSAY_ERR_DATA naming the line. An empty header name becomes
 * "Unnamed: <index>" (0-based); a repeated one is ASSAY_ERR_DATA. Line
 * numbers in messages are physical lines (1: the header), counting line
 * breaks inside quoted fields. A missing file is ASSAY_ERR_NOT_FOUND. */
typedef struct csv_options {
  char delimiter;       /* default ',' */
  int64_t nrows;        /* read at most this many data rows; 0: all */
  json_t *na_values;    /* extra null strings (an array of strings or one
                           string; borrowed), or NULL */
  int keep_default_na;  /* 1 (default): the list above is null too */
} csv_options;
#define CSV_OPTIONS_INIT { ',', 0, NULL, 1 }

int csv_read(frame **out, const char *path, const csv_options *opts);
/* csv_options from a data_params.loading_kwargs object: keys "sep" or
 * "delimiter" (one character), "nrows", "na_values", "keep_default_na";
 * any other key is ASSAY_ERR_CONFIG listing these. */
int csv_options_from_json(csv_options *out, const json_t *loading_kwargs);
/* Write f as CSV (header, RFC 4180 quoting, nulls as empty fields,
 * timestamps as ISO 8601 UTC, floats round-tripping: the shortest of
 * %.15g..%.17g that reads back the same, ".0" added to integral ones so
 * they stay floats; bools True/False). csv_read gives the same frame back,
 * except where CSV cannot tell: an empty string reads back as null, and
 * text that looks like a number, bool or timestamp as one. Mode 0600;
 * write errors are ASSAY_ERR_STORE. */
int csv_write(const frame *f, const char *path);

/* Build a frame from a JSON table: an object {name: [values...]} (column
 * order as given) or an array of {"name", "values"}. Values: integers,
 * numbers, booleans, strings, null; a column's type is the narrowest that
 * holds them: bool < int64 < float64 (booleans as 0/1 in a numeric
 * column), string (strings with other kinds of values are
 * ASSAY_ERR_CONFIG; strings that are ISO timestamps stay strings); a
 * column of only nulls is float64. Columns of different lengths are
 * ASSAY_ERR_CONFIG naming them. */
int frame_from_json(frame **out, const json_t *table);

/* Internal CLI support (`assay debug read-csv`): read the CSV at path
 * (nrows as in csv_options; 0: all) and set *out_json to a malloc'ed JSON
 * text: {rows, columns, read_seconds, profile_seconds, profile, head}: head
 * holds the first `head` rows as records (timestamps as ISO 8601 text,
 * infinities as "inf"/"-inf", nulls as null; none when head is 0).
 * Exported from libassay (the CLI declares it itself). On error the last
 * error is set. */
__attribute__((visibility("default"))) int assay__debug_read_csv(const char *path,
                                                                 int64_t nrows, int64_t head,
                                                                 char **out_json);

/* --- the schema profile ------------------------------------------------------
 * [{column, type, null_share, distinct_count}] in column order: null_share
 * = nulls / rows (0 for no rows), distinct_count = distinct non-null values
 * (exact; -0.0 and 0.0 are one value; strings compare by text, so a mapped
 * dictionary's repeated or unused entries do not count twice). Large
 * frames are profiled on several threads. */
int frame_profile(const frame *f, json_t **out);

#endif
