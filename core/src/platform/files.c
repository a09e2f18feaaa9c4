/* platform/files.c — the file store: path rules, locations, streaming
 * uploads (temporary file + BLAKE2b + fsync + rename + record), and the
 * /v1/files handlers (upload with a buffered body, list, delete).
 *
 * Every change to the tree under <home>/files/<workspace_id>/ (creating
 * folders, renaming an upload into place, deleting, pruning empty folders)
 * happens inside a write transaction of the store, so the store's write
 * lock orders them against each other, across threads and processes: a
 * record never points at a file another request is replacing, and a
 * folder is never pruned while an upload is renamed into it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "platform/access.h"
#include "platform/files.h"
#include "platform/handlers.h"

#define INCOMING_DIR ".incoming"
/* A temporary upload file untouched for this long belongs to a process that
 * died mid-upload: the next upload removes it. */
#define INCOMING_STALE_SECS (24 * 3600)

/* --- paths --------------------------------------------------------------------- */

static int has_control(const char *s) {
  for (const unsigned char *c = (const unsigned char *)s; *c; c++)
    if (*c < 0x20 || *c == 0x7f) return 1;
  return 0;
}

int files_check_path(const char *what, const char *path) {
  if (!path || !*path) return assay__err(ASSAY_ERR_CONFIG, "%s must not be empty", what);
  size_t n = strlen(path);
  if (n > FILES_PATH_MAX)
    return assay__err(ASSAY_ERR_CONFIG, "%s must be at most %d bytes; got %zu", what,
                      FILES_PATH_MAX, n);
  if (has_control(path))
    return assay__err(ASSAY_ERR_CONFIG, "%s must not contain control characters", what);
  json_t *utf8 = json_string(path);
  if (!utf8) return assay__err(ASSAY_ERR_CONFIG, "%s must be valid UTF-8 text", what);
  json_decref(utf8);
  if (path[0] == '/')
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s '%s' is an absolute path; expected a relative path such as "
                      "'folder/file.csv'",
                      what, path);
  if (strchr(path, '\\'))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s '%s' contains a backslash; separate folders with '/'", what, path);
  for (const char *c = path; c;) {
    const char *end = strchr(c, '/');
    size_t len = end ? (size_t)(end - c) : strlen(c);
    if (len == 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s '%s' has an empty component ('//' or a '/' at an end)", what, path);
    if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s '%s' must not contain '.' or '..' components; a path stays inside "
                        "the workspace's files",
                        what, path);
    if (len >= 6 && strncmp(c, ".assay", 6) == 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s '%s': names starting with '.assay' are reserved", what, path);
    c = end ? end + 1 : NULL;
  }
  return ASSAY_OK;
}

/* A copy of `path` without trailing '/' characters (a folder may be given
 * as "dir/"); a path of slashes only stays as it is, so the check reports
 * it as absolute. */
static char *strip_slashes(const char *path) {
  char *p = strdup(path);
  if (!p) return NULL;
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  return p;
}

/* The path of a location "assay://files/<path>" (checked; caller frees). */
static int location_path(const char *what, const char *location, char **out) {
  *out = NULL;
  size_t pre = strlen(FILES_LOCATION_PREFIX);
  if (!location || strncmp(location, FILES_LOCATION_PREFIX, pre) != 0) {
    if (location && !has_control(location))
      return assay__err(ASSAY_ERR_CONFIG, "%s must be a location '%s<path>'; got '%s'", what,
                        FILES_LOCATION_PREFIX, location);
    return assay__err(ASSAY_ERR_CONFIG, "%s must be a location '%s<path>'", what,
                      FILES_LOCATION_PREFIX);
  }
  if (!location[pre])
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s '%s' names no file or folder; expected '%s<path>'", what, location,
                      FILES_LOCATION_PREFIX);
  char *path = strip_slashes(location + pre);
  if (!path) return assay__nomem();
  int rc = files_check_path(what, path);
  if (rc) {
    free(path);
    return rc;
  }
  *out = path;
  return ASSAY_OK;
}

static int files_root(assay_platform *p, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s/files", assay_platform_home(p));
  if (n < 0 || (size_t)n >= size)
    return assay__err(ASSAY_ERR_CONFIG, "the home directory's path is too long");
  return ASSAY_OK;
}

/* <home>/files/<workspace_id>[/<rel>] */
static int ws_path(assay_platform *p, const char *workspace_id, const char *rel, char *buf,
                   size_t size) {
  int n = snprintf(buf, size, "%s/files/%s%s%s", assay_platform_home(p), workspace_id,
                   rel ? "/" : "", rel ? rel : "");
  if (n < 0 || (size_t)n >= size)
    return assay__err(ASSAY_ERR_CONFIG, "the path of an uploaded file is too long");
  return ASSAY_OK;
}

/* Remove the empty folders of `rel` (its parents, deepest first) up to the
 * workspace's folder. */
static void prune_empty(const char *wsdir, const char *rel) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s/%s", wsdir, rel) >= (int)sizeof buf) return;
  size_t base = strlen(wsdir);
  for (;;) {
    char *slash = strrchr(buf, '/');
    if (!slash || (size_t)(slash - buf) <= base) return;
    *slash = '\0';
    if (rmdir(buf) != 0) return; /* not empty (or gone): stop */
  }
}

/* Create the folders above `rel` under wsdir (0700). A component that is
 * a file is a conflict. */
static int make_parents(const char *wsdir, const char *rel) {
  char buf[PATH_MAX];
  if (mkdir(wsdir, 0700) != 0 && errno != EEXIST)
    return assay__err(ASSAY_ERR_STORE, "cannot create the workspace's file folder: %s",
                      strerror(errno));
  int n = snprintf(buf, sizeof buf, "%s/%s", wsdir, rel);
  if (n < 0 || (size_t)n >= sizeof buf)
    return assay__err(ASSAY_ERR_CONFIG, "the path of an uploaded file is too long");
  size_t base = strlen(wsdir) + 1;
  for (char *c = buf + base; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    struct stat st;
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
      return assay__err(ASSAY_ERR_STORE, "cannot create the folder '%s' for the upload: %s",
                        buf + base, strerror(errno));
    if (lstat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
      return assay__err(ASSAY_ERR_CONFLICT,
                        "'%s' is an uploaded file, so it cannot also be a folder; choose "
                        "another upload_path or delete it first",
                        buf + base);
    *c = '/';
  }
  return ASSAY_OK;
}

/* Remove a tree without following symbolic links. */
static int rm_tree_at(int parent, const char *name) {
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (rm_tree_at(dirfd(d), e->d_name) != 0) rc = -1;
  }
  closedir(d);
  if (unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) rc = -1;
  return rc;
}

/* A clear message for a failed write to the upload's file. */
static int io_error(int e, const char *doing) {
  if (e == ENOSPC || e == EDQUOT)
    return assay__err(ASSAY_ERR_STORE,
                      "the server's disk is full: no space left while %s; nothing was stored",
                      doing);
  if (e == EFBIG)
    return assay__err(ASSAY_ERR_STORE,
                      "the upload is larger than the server may store (file size limit) while "
                      "%s; nothing was stored",
                      doing);
  return assay__err(ASSAY_ERR_STORE, "I/O error while %s: %s; nothing was stored", doing,
                    strerror(e));
}

/* --- the store's view -------------------------------------------------------- */

static json_t *with_location(json_t *rec) {
  const char *path = json_string_value(json_object_get(rec, "path"));
  char *loc = NULL;
  if (!path || asprintf(&loc, "%s%s", FILES_LOCATION_PREFIX, path) < 0) return NULL;
  int bad = json_object_set_new(rec, "location", json_string(loc));
  free(loc);
  return bad ? NULL : rec;
}

int files_resolve(assay_platform *p, store *s, const char *workspace_id, const char *location,
                  char **out) {
  char *path = NULL;
  *out = NULL;
  int rc = location_path("location", location, &path);
  if (rc) return rc;
  json_t *rec = NULL, *list = NULL;
  char abs[PATH_MAX];
  struct stat st;
  rc = s->ops->file_get(s, workspace_id, path, &rec);
  if (rc == ASSAY_OK) {
    rc = ws_path(p, workspace_id, path, abs, sizeof abs);
    if (!rc && (lstat(abs, &st) != 0 || !S_ISREG(st.st_mode)))
      rc = assay__err(ASSAY_ERR_NOT_FOUND,
                      "the uploaded file at %s%s is missing from the server's disk; upload it "
                      "again",
                      FILES_LOCATION_PREFIX, path);
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    rc = s->ops->file_list(s, workspace_id, path, &list);
    if (!rc && json_array_size(list) == 0)
      rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file at %s%s", FILES_LOCATION_PREFIX,
                      path);
    if (!rc) rc = ws_path(p, workspace_id, path, abs, sizeof abs);
    if (!rc && (lstat(abs, &st) != 0 || !S_ISDIR(st.st_mode)))
      rc = assay__err(ASSAY_ERR_NOT_FOUND,
                      "the uploaded folder at %s%s is missing from the server's disk",
                      FILES_LOCATION_PREFIX, path);
  }
  json_decref(rec);
  json_decref(list);
  free(path);
  if (!rc && !(*out = strdup(abs))) rc = assay__nomem();
  return rc;
}

int files_content_hash(store *s, const char *workspace_id, const char *location,
                       char out[65]) {
  char *path = NULL;
  int rc = location_path("location", location, &path);
  if (rc) return rc;
  json_t *rec = NULL, *list = NULL;
  rc = s->ops->file_get(s, workspace_id, path, &rec);
  if (rc == ASSAY_OK) {
    const char *h = json_string_value(json_object_get(rec, "blake2b"));
    if (!h || strlen(h) != 64) rc = assay__err(ASSAY_ERR_STORE, "a file record has no hash");
    else memcpy(out, h, 65);
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    /* A folder: the hash of its files' relative paths and hashes, in order. */
    rc = s->ops->file_list(s, workspace_id, path, &list);
    if (!rc && json_array_size(list) == 0)
      rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file at %s%s", FILES_LOCATION_PREFIX,
                      path);
    if (!rc) {
      crypto_generichash_state st;
      unsigned char digest[32];
      size_t i, skip = strlen(path) + 1;
      json_t *f;
      crypto_generichash_init(&st, NULL, 0, sizeof digest);
      json_array_foreach(list, i, f) {
        const char *fp = json_string_value(json_object_get(f, "path"));
        const char *fh = json_string_value(json_object_get(f, "blake2b"));
        if (!fp || !fh || strlen(fp) < skip) continue;
        crypto_generichash_update(&st, (const unsigned char *)fp + skip, strlen(fp) - skip + 1);
        crypto_generichash_update(&st, (const unsigned char *)fh, strlen(fh) + 1);
      }
      crypto_generichash_final(&st, digest, sizeof digest);
      sodium_bin2hex(out, 65, digest, sizeof digest);
    }
  }
  json_decref(rec);
  json_decref(list);
  free(path);
  return rc;
}

/* --- streaming uploads --------------------------------------------------------- */

struct file_upload {
  crypto_generichash_state hash; /* first: aligned as libsodium wants */
  assay_platform *p;
  principal who;
  char *name;        /* the file's name (one component) */
  char *folder;      /* upload_path, or NULL: the content hash's folder */
  char tmp[PATH_MAX];
  int fd;            /* -1 once closed */
  int64_t size;      /* bytes written */
  int64_t expected;  /* announced size, or -1 */
  int failed;        /* a write failed (its error code): the temporary file is gone */
  char why[256];     /* ... and its message */
};

static void upload_free(file_upload *u) {
  if (!u) return;
  if (u->fd >= 0) close(u->fd);
  if (u->tmp[0]) unlink(u->tmp);
  free(u->name);
  free(u->folder);
  sodium_memzero(&u->hash, sizeof u->hash);
  free(u);
}

/* Remove temporary files of uploads whose process died. */
static void sweep_incoming(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  time_t now = time(NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".part") != 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        now - st.st_mtime > INCOMING_STALE_SECS)
      unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

/* name and upload_path of the query, checked. */
static int parse_upload_query(const char *query, char **name, char **folder) {
  char *raw_folder = NULL;
  int rc = query_string(query, "name", name);
  if (!rc) rc = query_string(query, "upload_path", &raw_folder);
  if (rc) goto fail;
  if (!*name) {
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "name is required: the uploaded file's name, as a query parameter "
                    "(PUT /v1/files?name=data.csv)");
    goto fail;
  }
  rc = files_check_path("name", *name);
  if (!rc && strchr(*name, '/'))
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "name '%s' must be a file name, not a path; put folders in upload_path",
                    *name);
  if (rc) goto fail;
  if (raw_folder) {
    if (!*raw_folder) {
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "upload_path must not be empty; leave it out to store the file in a "
                      "folder named after its content");
      goto fail;
    }
    *folder = raw_folder[0] == '/' ? strdup(raw_folder) : strip_slashes(raw_folder);
    if (!*folder) {
      rc = assay__nomem();
      goto fail;
    }
    rc = files_check_path("upload_path", *folder);
    if (!rc && strlen(*folder) + 1 + strlen(*name) > FILES_PATH_MAX)
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "upload_path and name together must be at most %d bytes",
                      FILES_PATH_MAX);
    if (rc) goto fail;
  }
  free(raw_folder);
  return ASSAY_OK;
fail:
  free(raw_folder);
  free(*name);
  free(*folder);
  *name = *folder = NULL;
  return rc;
}

int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who,
                       const char *query) {
  *out = NULL;
  char *name = NULL, *folder = NULL;
  int rc = parse_upload_query(query, &name, &folder);
  if (!rc) rc = access_workspace(s, who, who->workspace_id, ROLE_MEMBER, NULL);
  if (rc) {
    free(name);
    free(folder);
    return rc;
  }
  size_t size = (sizeof(file_upload) + 63) & ~(size_t)63;
  file_upload *u = aligned_alloc(64, size);
  if (!u) {
    free(name);
    free(folder);
    return assay__nomem();
  }
  memset(u, 0, sizeof *u);
  u->p = p;
  u->who = *who;
  u->name = name;
  u->folder = folder;
  u->fd = -1;
  u->expected = -1;
  crypto_generichash_init(&u->hash, NULL, 0, 32);

  char dir[PATH_MAX], hex[33];
  unsigned char rnd[16];
  rc = files_root(p, dir, sizeof dir - sizeof "/" INCOMING_DIR);
  if (!rc) {
    strcat(dir, "/" INCOMING_DIR);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      rc = io_error(errno, "preparing the upload");
  }
  if (!rc) {
    sweep_incoming(dir);
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(u->tmp, sizeof u->tmp, "%s/%s.part", dir, hex);
    u->fd = open(u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (u->fd < 0) {
      u->tmp[0] = '\0';
      rc = io_error(errno, "starting the upload");
    }
  }
  if (rc) {
    upload_free(u);
    return rc;
  }
  *out = u;
  return ASSAY_OK;
}

int files_upload_expect(file_upload *u, int64_t size) {
  if (size < 0) return ASSAY_OK;
  u->expected = size;
  struct statvfs vfs;
  if (fstatvfs(u->fd, &vfs) == 0 &&
      (unsigned long long)size > (unsigned long long)vfs.f_bavail * vfs.f_frsize)
    return assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                      "the upload of %lld bytes is larger than the free space on the server's "
                      "disk; nothing was stored",
                      (long long)size);
  return ASSAY_OK;
}

/* The upload failed: drop the temporary file now (free its space). */
static int upload_fail(file_upload *u, int e, const char *doing) {
  int rc = io_error(e, doing);
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  if (u->tmp[0]) unlink(u->tmp);
  u->tmp[0] = '\0';
  u->failed = rc;
  snprintf(u->why, sizeof u->why, "%s", assay_error_last()->message);
  return rc;
}

int files_upload_write(file_upload *u, const void *data, size_t n) {
  if (u->failed) return assay__err(u->failed, "%s", u->why);
  crypto_generichash_update(&u->hash, data, n);
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(u->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return upload_fail(u, errno, "writing the upload");
    }
    p += w;
    n -= (size_t)w;
    u->size += w;
  }
  return ASSAY_OK;
}

void files_upload_abort(file_upload *u) { upload_free(u); }

/* Inside the write transaction: check the role again, make the folders,
 * record, rename into place. */
static int upload_place(file_upload *u, store *s, const char *rel, const char *hex,
                        int64_t now, int *placed) {
  char wsdir[PATH_MAX], abs[PATH_MAX];
  struct stat st;
  int rc = access_workspace(s, &u->who, u->who.workspace_id, ROLE_MEMBER, NULL);
  if (!rc) rc = ws_path(u->p, u->who.workspace_id, NULL, wsdir, sizeof wsdir);
  if (!rc) rc = ws_path(u->p, u->who.workspace_id, rel, abs, sizeof abs);
  if (!rc) rc = make_parents(wsdir, rel);
  if (!rc && lstat(abs, &st) == 0 && S_ISDIR(st.st_mode))
    rc = assay__err(ASSAY_ERR_CONFLICT,
                    "'%s' is a folder of uploaded files; delete it first or upload under "
                    "another name",
                    rel);
  if (!rc)
    rc = s->ops->file_put(s, u->who.workspace_id, rel, u->size, hex, u->who.user_id, now);
  if (!rc && rename(u->tmp, abs) != 0) rc = io_error(errno, "storing the upload");
  if (!rc) {
    u->tmp[0] = '\0';
    *placed = 1;
    /* The rename is durable once its folder is synced. */
    char *slash = strrchr(abs, '/');
    *slash = '\0';
    int dfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    *slash = '/';
  } else {
    prune_empty(wsdir, rel);
  }
  return rc;
}

int files_upload_finish(file_upload *u, json_t **answer) {
  *answer = NULL;
  if (u->failed) {
    int rc = assay__err(u->failed, "%s", u->why);
    upload_free(u);
    return rc;
  }
  if (u->expected >= 0 && u->size != u->expected) {
    int rc = assay__err(ASSAY_ERR_CONFIG,
                        "the upload ended after %lld of the %lld bytes announced; nothing was "
                        "stored",
                        (long long)u->size, (long long)u->expected);
    upload_free(u);
    return rc;
  }
  if (fsync(u->fd) != 0 || close(u->fd) != 0) {
    int rc = upload_fail(u, errno, "saving the upload");
    upload_free(u);
    return rc;
  }
  u->fd = -1;

  unsigned char digest[32];
  char hex[65], rel[FILES_PATH_MAX + 64];
  crypto_generichash_final(&u->hash, digest, sizeof digest);
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  if (u->folder) snprintf(rel, sizeof rel, "%s/%s", u->folder, u->name);
  else snprintf(rel, sizeof rel, "%.16s/%s", hex, u->name);

  store *s = NULL;
  int64_t now = assay__now();
  int placed = 0;
  int rc = platform_store_acquire(u->p, &s);
  if (!rc) rc = s->ops->begin(s, 1);
  if (!rc) {
    rc = upload_place(u, s, rel, hex, now, &placed);
    if (!rc) rc = s->ops->commit(s);
    if (rc) {
      s->ops->rollback(s);
      if (placed) { /* the record did not commit: neither does the file */
        char abs[PATH_MAX], wsdir[PATH_MAX];
        if (!ws_path(u->p, u->who.workspace_id, rel, abs, sizeof abs) &&
            !ws_path(u->p, u->who.workspace_id, NULL, wsdir, sizeof wsdir)) {
          unlink(abs);
          prune_empty(wsdir, rel);
        }
      }
    }
  }
  platform_store_release(u->p, s);
  if (!rc) {
    char when[32];
    assay__rfc3339(when, now);
    char *loc = NULL;
    if (asprintf(&loc, "%s%s", FILES_LOCATION_PREFIX, rel) < 0) loc = NULL;
    *answer = loc ? json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "location", loc, "path", rel,
                              "size", (json_int_t)u->size, "blake2b", hex, "uploaded_by",
                              u->who.user_id, "uploaded_at", when)
                  : NULL;
    free(loc);
    if (!*answer) rc = assay__nomem();
  }
  upload_free(u);
  return rc;
}

/* --- handlers --------------------------------------------------------------------- */

/* PUT /v1/files?name=&upload_path= with a body already in memory (the
 * local transport's raw requests; assayd streams instead, see router.h). */
int h_files_upload(route_ctx *c) {
  file_upload *u = NULL;
  json_t *answer = NULL;
  int rc = files_upload_begin(&u, c->platform, c->store, c->who, c->req->query);
  if (rc) return rc;
  if (c->req->body_len > 0) rc = files_upload_write(u, c->req->body, c->req->body_len);
  if (rc) {
    files_upload_abort(u);
    return rc;
  }
  rc = files_upload_finish(u, &answer);
  if (rc) return rc;
  c->resp->status = 201;
  c->resp->body = answer;
  return ASSAY_OK;
}

/* GET /v1/files[?prefix=<folder or location>] (any role) */
int h_files_list(route_ctx *c) {
  char *raw = NULL, *prefix = NULL;
  json_t *list = NULL;
  int rc = query_string(c->req->query, "prefix", &raw);
  if (!rc && raw && *raw) {
    size_t pre = strlen(FILES_LOCATION_PREFIX);
    if (strncmp(raw, FILES_LOCATION_PREFIX, pre) == 0) {
      rc = location_path("prefix", raw, &prefix);
    } else {
      prefix = raw[0] == '/' ? strdup(raw) : strip_slashes(raw);
      rc = prefix ? files_check_path("prefix", prefix) : assay__nomem();
    }
  }
  if (!rc) rc = access_workspace(c->store, c->who, c->who->workspace_id, ROLE_VIEWER, NULL);
  if (!rc) rc = c->store->ops->file_list(c->store, c->who->workspace_id, prefix, &list);
  if (!rc) {
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f) {
      if (!with_location(f)) {
        rc = assay__nomem();
        break;
      }
    }
  }
  if (!rc && !(c->resp->body = json_pack("{s:O}", "files", list))) rc = assay__nomem();
  json_decref(list);
  free(raw);
  free(prefix);
  return rc;
}

/* The deletion inside the write transaction. */
static int delete_location(route_ctx *c, const char *path, const char *location) {
  store *s = c->store;
  const char *ws = c->who->workspace_id;
  char wsdir[PATH_MAX], abs[PATH_MAX];
  json_t *rec = NULL;
  int64_t n = 0;
  int rc = access_workspace(s, c->who, ws, ROLE_MEMBER, NULL);
  if (!rc) rc = ws_path(c->platform, ws, NULL, wsdir, sizeof wsdir);
  if (!rc) rc = ws_path(c->platform, ws, path, abs, sizeof abs);
  if (rc) return rc;
  rc = s->ops->file_get(s, ws, path, &rec);
  json_decref(rec);
  if (rc == ASSAY_OK) {
    rc = s->ops->file_delete(s, ws, path, 0, &n);
    if (!rc && unlink(abs) != 0 && errno != ENOENT)
      rc = assay__err(ASSAY_ERR_STORE, "cannot delete the uploaded file %s: %s", location,
                      strerror(errno));
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    rc = s->ops->file_delete(s, ws, path, 1, &n);
    if (!rc && n == 0)
      rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file or folder at %s", location);
    if (!rc && rm_tree_at(AT_FDCWD, abs) != 0)
      rc = assay__err(ASSAY_ERR_STORE, "cannot delete the uploaded folder %s: %s", location,
                      strerror(errno));
  }
  if (!rc) prune_empty(wsdir, path);
  return rc;
}

/* DELETE /v1/files?location=<location> (members and admins) */
int h_files_delete(route_ctx *c) {
  char *location = NULL, *path = NULL;
  int rc = query_string(c->req->query, "location", &location);
  if (!rc && !location)
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "location is required: the file or folder to delete, as a query "
                    "parameter (DELETE /v1/files?location=%s<path>)",
                    FILES_LOCATION_PREFIX);
  if (!rc) rc = location_path("location", location, &path);
  if (!rc) {
    store *s = c->store;
    rc = s->ops->begin(s, 1);
    if (!rc) rc = delete_location(c, path, location);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  free(location);
  free(path);
  return rc;
}
