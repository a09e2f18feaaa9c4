/* engine/acol.c — the columnar file (.acol, docs/columnar.md): frame_write
 * (atomic, fsynced, 0600; frame_write_scratch without the fsyncs),
 * frame_map (read-only map) and frame_read (a private copy in memory), both
 * checking every byte the frame will read first with the same code. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/frame_impl.h"
#include "internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#  error "the columnar file is little-endian; this port needs byte swapping"
#endif

#define ACOL_MAGIC "ASSAYCOL"
#define ACOL_VERSION 1u
#define ACOL_ALIGN 64u
/* frame_read reads this many bytes per pread. */
#define FRAME_READ_BLOCK ((size_t)16 << 20)
/* frame_read: a file at least this large whose blocks on disk hold less
 * than half of its size is sparse, and refused. */
#define FRAME_READ_SPARSE_MIN ((uint64_t)1 << 20)
/* frame_read: the memory one parsed header value may take (jansson's
 * json_t, its slot in an array or object, allocator overhead); a header
 * holding more values than max(limit, HEADER_PARSE_MIN) / this is refused
 * before parsing. */
#define HEADER_VALUE_BYTES 64u
#define HEADER_PARSE_MIN ((uint64_t)16 << 20)

static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t align_up(uint64_t n) { return (n + ACOL_ALIGN - 1) & ~(uint64_t)(ACOL_ALIGN - 1); }

static const char *const BUF_KEYS[4] = {"validity", "values", "dict_offsets", "dict_data"};

/* --- writing -------------------------------------------------------------------- */

typedef struct wbuf {
  const void *data;
  uint64_t len;
  uint64_t rel;   /* offset from the data start */
  int col, kind;  /* kind: index into BUF_KEYS */
} wbuf;

static int write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int write_zeros(int fd, uint64_t n) {
  static const char zeros[ACOL_ALIGN];
  while (n) {
    size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
    if (write_all(fd, zeros, k) != 0) return -1;
    n -= k;
  }
  return 0;
}

/* The bytes of one buffer, with the invariants of the format enforced on
 * the way out: bits past `rows` cleared, string codes 0 at null rows. */
static int write_buffer(int fd, const frame *f, const wbuf *b) {
  const column *c = &f->cols[b->col];
  if (b->kind == 0) {
    size_t full = (size_t)f->rows / 8;
    if (write_all(fd, b->data, full) != 0) return -1;
    if (f->rows & 7) {
      uint8_t last = ((const uint8_t *)b->data)[full] & (uint8_t)((1u << (f->rows & 7)) - 1);
      if (write_all(fd, &last, 1) != 0) return -1;
    }
    return 0;
  }
  if (b->kind == 1 && c->type == COL_STRING && c->validity && c->null_count) {
    int32_t chunk[4096];
    const int32_t *codes = c->values;
    for (int64_t i = 0; i < f->rows;) {
      int64_t n = f->rows - i < 4096 ? f->rows - i : 4096;
      for (int64_t k = 0; k < n; k++) chunk[k] = col_valid(c, i + k) ? codes[i + k] : 0;
      if (write_all(fd, chunk, (size_t)n * sizeof *chunk) != 0) return -1;
      i += n;
    }
    return 0;
  }
  return write_all(fd, b->data, (size_t)b->len);
}

static json_t *header_json(const frame *f, const wbuf *bufs, int nbufs, uint64_t base) {
  json_t *cols = json_array();
  json_t *root = json_pack("{s:I,s:o}", "rows", (json_int_t)f->rows, "columns", cols);
  if (!root) return NULL;
  int bi = 0;
  for (int k = 0; k < f->ncols; k++) {
    const column *c = &f->cols[k];
    int64_t nulls = c->validity ? c->null_count : 0;
    json_t *col = json_pack("{s:s,s:s,s:I}", "name", c->name, "type", col_type_name(c->type),
                            "null_count", (json_int_t)nulls);
    if (!col || json_array_append_new(cols, col) != 0) {
      json_decref(root);
      return NULL;
    }
    for (; bi < nbufs && bufs[bi].col == k; bi++) {
      json_t *b = json_pack("{s:I,s:I}", "offset", (json_int_t)(base + bufs[bi].rel), "length",
                            (json_int_t)bufs[bi].len);
      if (!b || json_object_set_new(col, BUF_KEYS[bufs[bi].kind], b) != 0) {
        json_decref(root);
        return NULL;
      }
    }
    if (c->type == COL_STRING &&
        json_object_set_new(col, "dict_count", json_integer((json_int_t)c->dict_count)) != 0) {
      json_decref(root);
      return NULL;
    }
  }
  return root;
}

static char *header_text(const frame *f, const wbuf *bufs, int nbufs, uint64_t base) {
  json_t *h = header_json(f, bufs, nbufs, base);
  char *text = h ? json_dumps(h, JSON_COMPACT) : NULL;
  json_decref(h);
  return text;
}

static int sync_dir(const char *path) {
  char *copy = strdup(path);
  if (!copy) return -1;
  int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(copy);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* durable: fsync the file and its folder (frame_write); else not
 * (frame_write_scratch). Either way a temporary name renamed into place. */
static int write_frame(const frame *f, const char *path, int durable) {
  if (!f || !path) return assay__err(ASSAY_ERR_INTERNAL, "frame_write: bad arguments");
  wbuf *bufs = calloc((size_t)f->ncols * 4 + 1, sizeof *bufs);
  if (!bufs) return assay__nomem();
  int nbufs = 0;
  uint64_t pos = 0;
  for (int k = 0; k < f->ncols; k++) {
    const column *c = &f->cols[k];
    const void *data[4] = {c->validity, c->values, c->dict_offsets, c->dict_data};
    uint64_t len[4] = {((uint64_t)f->rows + 7) / 8, (uint64_t)f->rows * fx_width(c->type), 0, 0};
    if (c->type == COL_STRING) {
      len[2] = ((uint64_t)c->dict_count + 1) * 8;
      len[3] = (uint64_t)c->dict_offsets[c->dict_count];
    }
    for (int kind = 0; kind < 4; kind++) {
      if (kind == 0 && !(c->validity && c->null_count)) continue;
      if (kind >= 2 && c->type != COL_STRING) continue;
      bufs[nbufs++] = (wbuf){data[kind], len[kind], pos, k, kind};
      pos = align_up(pos + len[kind]);
    }
  }
  /* The data start: room for the header, whose offsets depend on it. */
  uint64_t base = 0;
  char *text = NULL;
  for (int tries = 0; tries < 8; tries++) {
    free(text);
    text = header_text(f, bufs, nbufs, base);
    if (!text) break;
    uint64_t need = align_up(16 + strlen(text));
    if (need <= base) break;
    base = need;
  }
  if (!text) {
    free(bufs);
    return assay__nomem();
  }
  size_t hlen = (size_t)(base - 16); /* the header padded with spaces */
  char *head = malloc(base);
  if (!head) {
    free(text);
    free(bufs);
    return assay__nomem();
  }
  size_t tlen = strlen(text);
  memcpy(head, ACOL_MAGIC, 8);
  uint32_t v = ACOL_VERSION, hl = (uint32_t)hlen;
  memcpy(head + 8, &v, 4);
  memcpy(head + 12, &hl, 4);
  memcpy(head + 16, text, tlen);
  memset(head + 16 + tlen, ' ', hlen - tlen);
  free(text);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) {
    free(head);
    free(bufs);
    return assay__nomem();
  }
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkostemp(tmp, O_CLOEXEC);
  int rc = 0;
  if (fd < 0) {
    rc = assay__err(ASSAY_ERR_STORE, "cannot create a columnar file next to %s: %s", path,
                    strerror(errno));
  } else {
    int ok = fchmod(fd, 0600) == 0 && write_all(fd, head, (size_t)base) == 0;
    uint64_t at = 0;
    for (int i = 0; ok && i < nbufs; i++) {
      ok = write_zeros(fd, bufs[i].rel - at) == 0 && write_buffer(fd, f, &bufs[i]) == 0;
      at = bufs[i].rel + bufs[i].len;
    }
    ok = ok && (!durable || fsync(fd) == 0);
    int err = errno;
    if (close(fd) != 0 && ok) {
      ok = 0;
      err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
      ok = 0;
      err = errno;
    }
    if (!ok) {
      unlink(tmp);
      rc = assay__err(ASSAY_ERR_STORE, "cannot write the columnar file %s: %s", path,
                      strerror(err));
    } else if (durable && sync_dir(path) != 0) {
      rc = assay__err(ASSAY_ERR_STORE, "cannot sync the folder of %s: %s", path,
                      strerror(errno));
    }
  }
  free(tmp);
  free(head);
  free(bufs);
  return rc;
}

int frame_write(const frame *f, const char *path) { return write_frame(f, path, 1); }

int frame_write_scratch(const frame *f, const char *path) { return write_frame(f, path, 0); }

/* --- mapping ----------------------------------------------------------------------- */

typedef struct mctx {
  const char *name;      /* the file's base name, for messages */
  const uint8_t *map;
  uint64_t size;
  uint64_t data_min;     /* 16 + header length */
} mctx;

#define BAD(m, ...) bad_file(m, __VA_ARGS__)

/* The whole message, never cut: a cut could leave the head of a secret in
 * a name (the runner redacts its errors, and only whole secrets match). */
ASSAY_PRINTF(2, 3) static int bad_file(const mctx *m, const char *fmt, ...) {
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&msg, fmt, ap);
  va_end(ap);
  if (n < 0) return assay__nomem();
  int rc = assay__err(ASSAY_ERR_DATA, "columnar file %s is not valid: %s", m->name, msg);
  free(msg);
  return rc;
}

static int get_uint(const json_t *v, uint64_t max, uint64_t *out) {
  if (!json_is_integer(v) || json_integer_value(v) < 0 ||
      (uint64_t)json_integer_value(v) > max)
    return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* Check a buffer entry {offset, length}; *out points at its bytes. */
static int get_buffer(const mctx *m, const json_t *col, const char *cname, const char *key,
                      uint64_t expect_len, const uint8_t **out) {
  const json_t *b = json_object_get(col, key);
  uint64_t off, len;
  if (!json_is_object(b) || json_object_size(b) != 2 ||
      get_uint(json_object_get(b, "offset"), UINT64_MAX >> 1, &off) != 0 ||
      get_uint(json_object_get(b, "length"), UINT64_MAX >> 1, &len) != 0)
    return BAD(m, "column \"%s\": \"%s\" is not {\"offset\": n, \"length\": n}", cname, key);
  if (off % ACOL_ALIGN)
    return BAD(m, "column \"%s\": %s offset %llu is not a multiple of 64", cname, key,
               (unsigned long long)off);
  if (off < m->data_min)
    return BAD(m, "column \"%s\": %s offset %llu lies in the header", cname, key,
               (unsigned long long)off);
  if (len && (off > m->size || len > m->size - off))
    return BAD(m, "column \"%s\": %s [%llu, +%llu) goes past the end of the file (%llu bytes)",
               cname, key, (unsigned long long)off, (unsigned long long)len,
               (unsigned long long)m->size);
  if (len != expect_len)
    return BAD(m, "column \"%s\": %s is %llu bytes, expected %llu", cname, key,
               (unsigned long long)len, (unsigned long long)expect_len);
  *out = len ? m->map + off : m->map;
  return 0;
}

static int64_t count_valid(const uint8_t *bits, int64_t rows) {
  int64_t n = 0;
  int64_t full = rows / 64;
  for (int64_t i = 0; i < full; i++) {
    uint64_t w;
    memcpy(&w, bits + i * 8, 8);
    n += __builtin_popcountll(w);
  }
  for (int64_t i = full * 64; i < rows; i++) n += (bits[i >> 3] >> (i & 7)) & 1;
  return n;
}

static int check_column(const mctx *m, const json_t *jc, int index, int64_t rows, column *c) {
  char where[32];
  snprintf(where, sizeof where, "#%d", index);
  if (!json_is_object(jc)) return BAD(m, "column %s is not an object", where);
  const json_t *jname = json_object_get(jc, "name");
  if (!json_is_string(jname)) return BAD(m, "column %s has no \"name\" string", where);
  const char *name = json_string_value(jname);
  if (strlen(name) != json_string_length(jname))
    return BAD(m, "column %s: the name holds a NUL character", where);
  const char *ts = json_string_value(json_object_get(jc, "type"));
  col_type t = (col_type)0;
  for (int k = COL_INT64; k <= COL_TIMESTAMP; k++)
    if (ts && strcmp(ts, col_type_name((col_type)k)) == 0) t = (col_type)k;
  if (!t)
    return BAD(m, "column \"%s\": \"type\" is not one of int64, float64, bool, string, "
                  "timestamp",
               name);
  /* exactly the keys of this type */
  const char *key;
  const json_t *val;
  json_object_foreach((json_t *)jc, key, val) {
    int known = strcmp(key, "name") == 0 || strcmp(key, "type") == 0 ||
                strcmp(key, "null_count") == 0 || strcmp(key, "validity") == 0 ||
                strcmp(key, "values") == 0;
    if (t == COL_STRING)
      known = known || strcmp(key, "dict_count") == 0 || strcmp(key, "dict_offsets") == 0 ||
              strcmp(key, "dict_data") == 0;
    if (!known) return BAD(m, "column \"%s\": unexpected key \"%s\" for a %s column", name, key, ts);
  }
  uint64_t nulls;
  if (get_uint(json_object_get(jc, "null_count"), (uint64_t)rows, &nulls) != 0)
    return BAD(m, "column \"%s\": \"null_count\" is not an integer in 0..%lld", name,
               (long long)rows);
  c->name = strdup(name);
  if (!c->name) return assay__nomem();
  c->type = t;
  c->null_count = (int64_t)nulls;
  int rc;
  const uint8_t *validity = NULL;
  if (json_object_get(jc, "validity")) {
    if ((rc = get_buffer(m, jc, name, "validity", ((uint64_t)rows + 7) / 8, &validity)) != 0)
      return rc;
    int64_t valid = count_valid(validity, rows);
    if (rows - valid != (int64_t)nulls)
      return BAD(m, "column \"%s\": the validity bitmap has %lld nulls but null_count is %llu",
                 name, (long long)(rows - valid), (unsigned long long)nulls);
  } else if (nulls) {
    return BAD(m, "column \"%s\": null_count is %llu but there is no validity bitmap", name,
               (unsigned long long)nulls);
  }
  c->validity = nulls ? validity : NULL;
  const uint8_t *values;
  if ((rc = get_buffer(m, jc, name, "values", (uint64_t)rows * fx_width(t), &values)) != 0)
    return rc;
  c->values = values;
  if (t == COL_BOOL) {
    for (int64_t i = 0; i < rows; i++)
      if (values[i] > 1)
        return BAD(m, "column \"%s\": row %lld holds %u, a bool is 0 or 1", name, (long long)i,
                   values[i]);
  } else if (t == COL_FLOAT64) {
    const double *d = c->values;
    for (int64_t i = 0; i < rows; i++)
      if (isnan(d[i]) && col_valid(c, i))
        return BAD(m, "column \"%s\": row %lld is NaN but marked valid (NaN is a null)", name,
                   (long long)i);
  } else if (t == COL_STRING) {
    uint64_t count;
    if (get_uint(json_object_get(jc, "dict_count"), INT32_MAX, &count) != 0)
      return BAD(m, "column \"%s\": \"dict_count\" is not an integer in 0..2^31-1", name);
    c->dict_count = (int64_t)count;
    const uint8_t *offs, *data;
    if ((rc = get_buffer(m, jc, name, "dict_offsets", (count + 1) * 8, &offs)) != 0) return rc;
    const int64_t *off = (const int64_t *)offs;
    if (off[0] != 0) return BAD(m, "column \"%s\": dict_offsets[0] is not 0", name);
    for (uint64_t k = 0; k < count; k++)
      if (off[k + 1] < off[k])
        return BAD(m, "column \"%s\": dict_offsets decrease at entry %llu", name,
                   (unsigned long long)k);
    if ((rc = get_buffer(m, jc, name, "dict_data", (uint64_t)off[count], &data)) != 0)
      return rc;
    for (uint64_t k = 0; k < count; k++) {
      size_t bad;
      if (!fx_utf8_valid(data + off[k], (size_t)(off[k + 1] - off[k]), &bad))
        return BAD(m, "column \"%s\": dictionary entry %llu is not valid UTF-8", name,
                   (unsigned long long)k);
    }
    c->dict_offsets = off;
    c->dict_data = (const char *)data;
    const int32_t *codes = c->values;
    for (int64_t i = 0; i < rows; i++) {
      int ok = col_valid(c, i) ? (uint32_t)codes[i] < (uint32_t)count : codes[i] == 0;
      if (!ok)
        return BAD(m, "column \"%s\": row %lld has code %d, expected %s", name, (long long)i,
                   codes[i], col_valid(c, i) ? "0 <= code < dict_count" : "0 (a null row)");
    }
  }
  return 0;
}

/* About how many values a JSON text holds (containers and separators
 * outside strings, plus one): what parsing it costs, ~HEADER_VALUE_BYTES
 * each, is known before it is parsed. */
static uint64_t json_values(const uint8_t *text, uint64_t len) {
  uint64_t n = 1;
  int in_string = 0;
  for (uint64_t i = 0; i < len; i++) {
    uint8_t c = text[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[' || c == ',') {
      n++;
    }
  }
  return n;
}

/* The preamble and the header: m->map holds at least the file's first
 * 16 + H bytes, m->size is the whole file's size. Checks the magic, the
 * version, H and the header's shape {rows, columns: [...]}; sets
 * m->data_min. *h_out: the parsed header (caller decrefs). */
static int check_header(mctx *m, uint64_t max_values, json_t **h_out, uint64_t *rows_out,
                        const json_t **cols_out) {
  *h_out = NULL;
  uint32_t version, hlen;
  memcpy(&version, m->map + 8, 4);
  memcpy(&hlen, m->map + 12, 4);
  if (memcmp(m->map, ACOL_MAGIC, 8) != 0)
    return BAD(m, "it does not start with \"" ACOL_MAGIC "\"");
  if (version != ACOL_VERSION)
    return BAD(m, "format version %u, this reader knows version %u", version, ACOL_VERSION);
  if (hlen == 0 || hlen > INT32_MAX || hlen > m->size - 16)
    return BAD(m, "header length %u does not fit in the file (%llu bytes)", hlen,
               (unsigned long long)m->size);
  m->data_min = 16 + (uint64_t)hlen;
  uint64_t values = json_values(m->map + 16, hlen);
  if (values > max_values)
    return BAD(m, "the header holds about %llu JSON values, more than the %llu a file of the "
                  "size allowed here may have",
               (unsigned long long)values, (unsigned long long)max_values);
  json_error_t jerr;
  json_t *h = json_loadb((const char *)m->map + 16, hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!h) return BAD(m, "the header is not JSON (%s)", jerr.text);
  uint64_t rows = 0;
  const json_t *cols = json_object_get(h, "columns");
  int rc = 0;
  if (!json_is_object(h) || json_object_size(h) != 2 ||
      get_uint(json_object_get(h, "rows"), INT64_MAX, &rows) != 0 || !json_is_array(cols))
    rc = BAD(m, "the header is not {\"rows\": n, \"columns\": [...]}");
  else if (json_array_size(cols) > INT32_MAX)
    rc = BAD(m, "too many columns");
  else if (json_array_size(cols) && rows > m->size)
    rc = BAD(m, "%llu rows cannot fit in %llu bytes", (unsigned long long)rows,
             (unsigned long long)m->size);
  if (rc) {
    json_decref(h);
    return rc;
  }
  *h_out = h;
  *rows_out = rows;
  *cols_out = cols;
  return 0;
}

/* Check the bytes m->map[0 .. m->size) (m->size >= 16) and build f's columns
 * pointing into them. */
static int check_file(mctx *m, frame *f) {
  json_t *h = NULL;
  uint64_t rows = 0;
  const json_t *cols = NULL;
  int rc = check_header(m, UINT64_MAX, &h, &rows, &cols);
  if (rc == 0) {
    size_t n = json_array_size(cols);
    f->rows = (int64_t)rows;
    f->cols = calloc(n ? n : 1, sizeof *f->cols);
    if (!f->cols) rc = assay__nomem();
    strdict names = {0};
    if (rc == 0 && strdict_init(&names) != 0) rc = assay__nomem();
    for (size_t i = 0; rc == 0 && i < n; i++) {
      f->ncols = (int)i + 1;
      rc = check_column(m, json_array_get(cols, i), (int)i, f->rows, &f->cols[i]);
      if (rc == 0) {
        const char *nm = f->cols[i].name;
        size_t before = names.count;
        if (strdict_add(&names, nm, strlen(nm), fx_hash(nm, strlen(nm))) < 0)
          rc = assay__nomem();
        else if (names.count == before)
          rc = BAD(m, "column \"%s\" appears twice", nm);
      }
    }
    if (names.slots) strdict_free(&names);
  }
  json_decref(h);
  return rc;
}

/* Bytes of RAM (UINT64_MAX when unknown). */
static uint64_t physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
}

/* Open a columnar file and check what the file system says about it: a
 * regular file of at least the preamble's 16 bytes; `untrusted`: also not a
 * symbolic link, not something whose open blocks (a FIFO), owned by this
 * process's user, not larger than max_bytes (the caller's limit, at most
 * the machine's memory: it is read into memory whole, so a sparse file of
 * a terabyte must not get that far), and not sparse (a file of
 * FRAME_READ_SPARSE_MIN bytes or more with less than half of them stored:
 * sizing a file with truncate or a seek costs its writer nothing, reading
 * it costs the reader its size). Sets m->size; *fd_out is the open
 * descriptor. */
static int open_file(mctx *m, const char *path, int untrusted, uint64_t max_bytes,
                     int *fd_out) {
  int flags = O_RDONLY | O_CLOEXEC | (untrusted ? O_NOFOLLOW | O_NONBLOCK : 0);
  int fd = open(path, flags);
  if (fd < 0) {
    int err = errno;
    if (untrusted && err == ELOOP) return BAD(m, "it is a symbolic link");
    return assay__err(err == ENOENT ? ASSAY_ERR_NOT_FOUND : ASSAY_ERR_DATA,
                      "cannot open the columnar file %s: %s", m->name, strerror(err));
  }
  struct stat st;
  int rc = 0;
  uint64_t phys = physical_memory();
  int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  uint64_t size = regular ? (uint64_t)st.st_size : 0;
  uint64_t stored = regular ? (uint64_t)st.st_blocks * 512u : 0;
  if (!regular) {
    rc = BAD(m, "not a regular file");
  } else if (untrusted && st.st_uid != geteuid()) {
    rc = BAD(m, "owned by user %lu, expected this process's user %lu",
             (unsigned long)st.st_uid, (unsigned long)geteuid());
  } else if (size < 16) {
    rc = BAD(m, "%llu bytes, shorter than the 16-byte preamble", (unsigned long long)size);
  } else if (size > SIZE_MAX / 2) {
    rc = BAD(m, "%llu bytes, too large for this machine", (unsigned long long)size);
  } else if (untrusted && size > phys) {
    rc = BAD(m, "%llu bytes, more than this machine's memory (%llu bytes)",
             (unsigned long long)size, (unsigned long long)phys);
  } else if (untrusted && max_bytes && size > max_bytes) {
    rc = BAD(m, "%llu bytes, more than the %llu bytes allowed here", (unsigned long long)size,
             (unsigned long long)max_bytes);
  } else if (untrusted && size >= FRAME_READ_SPARSE_MIN && stored < size / 2) {
    rc = BAD(m, "it is a sparse file: %llu bytes long, of which only %llu are stored (a file "
                "sized with truncate or a seek is not read)",
             (unsigned long long)size, (unsigned long long)stored);
  }
  if (rc) {
    close(fd);
    return rc;
  }
  m->size = size;
  *fd_out = fd;
  return 0;
}

/* Check the file's bytes in f (f->map or f->data set) and hand f out. */
static int finish(mctx *m, frame *f, frame **out) {
  int rc = check_file(m, f);
  if (rc) {
    frame_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

int frame_map(frame **out, const char *path) {
  *out = NULL;
  char *copy = strdup(path ? path : "");
  if (!copy) return assay__nomem();
  mctx m = {basename(copy), NULL, 0, 0};
  int fd = -1;
  int rc = open_file(&m, path, 0, 0, &fd);
  if (rc) {
    free(copy);
    return rc;
  }
  void *map = mmap(NULL, (size_t)m.size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  close(fd);
  if (map == MAP_FAILED) {
    rc = assay__err(ASSAY_ERR_DATA, "cannot map the columnar file %s: %s", m.name,
                    strerror(err));
    free(copy);
    return rc;
  }
  m.map = map;
  frame *f = calloc(1, sizeof *f);
  if (!f) {
    munmap(map, (size_t)m.size);
    free(copy);
    return assay__nomem();
  }
  f->map = map;
  f->map_len = (size_t)m.size;
  rc = finish(&m, f, out);
  free(copy);
  return rc;
}

void (*frame_read_test_hook)(int fd, uint64_t offset);

/* Read the file's bytes [off, off + len) into buf, in blocks (the test
 * hook before each); a file that ends before is ASSAY_ERR_DATA. */
static int read_range(const mctx *m, int fd, uint8_t *buf, uint64_t off, uint64_t len) {
  uint64_t got = 0;
  while (got < len) {
    if (frame_read_test_hook) frame_read_test_hook(fd, off + got);
    size_t want = len - got > FRAME_READ_BLOCK ? FRAME_READ_BLOCK : (size_t)(len - got);
    ssize_t n = pread(fd, buf + got, want, (off_t)(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return assay__err(ASSAY_ERR_DATA, "cannot read the columnar file %s: %s", m->name,
                        strerror(errno));
    if (n == 0)
      return BAD(m, "it shrank from %llu to %llu bytes while it was read",
                 (unsigned long long)m->size, (unsigned long long)(off + got));
    got += (uint64_t)n;
  }
  return 0;
}

/* Where the header's buffers end: lo, the end of the last non-empty one
 * (at least 16 + H: the file must hold them); hi, the end of any one,
 * empty ones included, rounded up to 64 (a writer pads the end to a
 * boundary; nothing else may follow). */
typedef struct extent {
  uint64_t lo, hi;
  const char *lo_col, *lo_key; /* the buffer that ends at lo (NULL: none;
                                  pointers into the header) */
  uint64_t lo_off, lo_len;
} extent;

/* The extent of the header's buffers; entries that are not
 * {offset, length} are left to check_file. */
static void buffers_extent(const mctx *m, const json_t *cols, extent *e) {
  memset(e, 0, sizeof *e);
  e->lo = e->hi = m->data_min;
  size_t i;
  const json_t *c;
  json_array_foreach(cols, i, c) {
    for (int k = 0; k < 4; k++) {
      const json_t *b = json_object_get(c, BUF_KEYS[k]);
      uint64_t off, len;
      if (get_uint(json_object_get(b, "offset"), UINT64_MAX >> 1, &off) != 0 ||
          get_uint(json_object_get(b, "length"), UINT64_MAX >> 1, &len) != 0)
        continue;
      if (len && off + len > e->lo) {
        const char *name = json_string_value(json_object_get(c, "name"));
        e->lo = off + len;
        e->lo_col = name ? name : "?";
        e->lo_key = BUF_KEYS[k];
        e->lo_off = off;
        e->lo_len = len;
      }
      e->hi = max_u64(e->hi, off + len);
    }
  }
  e->hi = e->hi > UINT64_MAX - ACOL_ALIGN ? UINT64_MAX : align_up(e->hi);
}

int frame_read(frame **out, const char *path) { return frame_read_limited(out, path, 0, NULL); }

int frame_read_limited(frame **out, const char *path, uint64_t max_bytes, uint64_t *size_out) {
  *out = NULL;
  if (size_out) *size_out = 0;
  char *copy = strdup(path ? path : "");
  if (!copy) return assay__nomem();
  mctx m = {basename(copy), NULL, 0, 0};
  int fd = -1;
  int rc = open_file(&m, path, 1, max_bytes, &fd);
  if (rc) {
    free(copy);
    return rc;
  }
  /* The preamble and the header first: they say how large the file must
   * be, and nothing more is read from one that is not. */
  uint64_t cap = physical_memory();
  if (max_bytes && max_bytes < cap) cap = max_bytes;
  uint8_t pre[16];
  uint8_t *head = NULL;
  json_t *h = NULL;
  uint64_t rows = 0;
  extent ext;
  const json_t *cols = NULL;
  rc = read_range(&m, fd, pre, 0, 16);
  if (!rc) {
    uint32_t hlen;
    memcpy(&hlen, pre + 12, 4);
    /* a length that does not fit is check_header's to refuse */
    uint64_t have = hlen <= INT32_MAX && hlen <= m.size - 16 ? 16 + (uint64_t)hlen : 16;
    head = malloc((size_t)have);
    if (!head) rc = assay__nomem();
    if (!rc) {
      memcpy(head, pre, 16);
      rc = read_range(&m, fd, head + 16, 16, have - 16);
    }
    if (!rc) {
      m.map = head;
      rc = check_header(&m, max_u64(cap, HEADER_PARSE_MIN) / HEADER_VALUE_BYTES, &h, &rows,
                        &cols);
    }
  }
  if (!rc) {
    buffers_extent(&m, cols, &ext);
    if (m.size < ext.lo) /* as check_file says it */
      rc = BAD(&m, "column \"%s\": %s [%llu, +%llu) goes past the end of the file (%llu bytes)",
               ext.lo_col, ext.lo_key, (unsigned long long)ext.lo_off,
               (unsigned long long)ext.lo_len, (unsigned long long)m.size);
    else if (m.size > ext.hi)
      rc = BAD(&m, "%llu bytes, more than the %llu its header's buffers need (the file ends "
                   "with its last buffer, padded to a multiple of 64 bytes)",
               (unsigned long long)m.size, (unsigned long long)ext.hi);
  }
  json_decref(h);
  frame *f = NULL;
  uint8_t *data = NULL;
  if (!rc) {
    f = calloc(1, sizeof *f);
    data = f ? fx_alloc((size_t)m.size) : NULL;
    if (!data) rc = assay__nomem();
  }
  /* Exactly the size fstat gave: a file that grows meanwhile is read up to
   * it, one that shrinks is refused. The header is the one checked. */
  if (!rc) {
    f->data = data;
    memcpy(data, head, (size_t)m.data_min);
    rc = read_range(&m, fd, data + m.data_min, m.data_min, m.size - m.data_min);
  }
  free(head);
  close(fd);
  if (rc) {
    frame_free(f);
    free(copy);
    return rc;
  }
  m.map = data;
  rc = finish(&m, f, out);
  if (!rc && size_out) *size_out = m.size;
  free(copy);
  return rc;
}
