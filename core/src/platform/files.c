/* platform/files.c — the file store: path rules, locations, who may write
 * where, limits, streaming uploads (temporary file + BLAKE2b + fsync +
 * rename + record), and the /v1/files handlers (upload with a buffered
 * body, list, delete).
 *
 * Every change to the tree under <home>/files/<workspace_id>/ (creating
 * folders, renaming an upload into place, deleting, pruning empty folders)
 * happens inside a write transaction of the store, so the store's write
 * lock orders them against each other, across threads and processes: a
 * record never points at a file another request is replacing, and a
 * folder is never pruned while an upload is renamed into it. The tree is
 * walked from a descriptor of the workspace's folder without following
 * symbolic links (see files.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
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

/* --- the tree on disk, walked by descriptors ----------------------------------- */

/* A descriptor of <home>/files/<workspace_id> (made first when `create`),
 * never opened through a symbolic link. Without `create`, a workspace that
 * never stored a file gives *out = -1 and ASSAY_OK. */
static int ws_open(assay_platform *p, const char *workspace_id, int create, int *out) {
  char root[PATH_MAX];
  *out = -1;
  int rc = files_root(p, root, sizeof root);
  if (rc) return rc;
  int rfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0)
    return assay__err(ASSAY_ERR_STORE, "cannot open the file store %s: %s", root,
                      strerror(errno));
  if (create && mkdirat(rfd, workspace_id, 0700) != 0 && errno != EEXIST) {
    int e = errno;
    close(rfd);
    return assay__err(ASSAY_ERR_STORE, "cannot create the workspace's file folder: %s",
                      strerror(e));
  }
  int fd = openat(rfd, workspace_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  close(rfd);
  if (fd < 0 && e == ENOENT && !create) return ASSAY_OK;
  if (fd < 0)
    return assay__err(ASSAY_ERR_STORE, "cannot open the workspace's file folder: %s%s",
                      strerror(e),
                      e == ELOOP || e == ENOTDIR
                          ? " (it is not a folder; a symbolic link is never followed)"
                          : "");
  *out = fd;
  return ASSAY_OK;
}

/* A descriptor of the folder made of the first `n` bytes of the checked
 * path `rel`, under the folder `base`; n == 0 is base itself (a new
 * descriptor). No symbolic link is followed and the walk never leaves
 * base: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), or, where the
 * kernel lacks it (or with `create`, which makes missing folders 0700 on
 * the way), openat(O_NOFOLLOW) one component at a time. -1 with errno on
 * failure: ENOENT missing, ELOOP a component is a symbolic link, ENOTDIR a
 * component is a file; *bad (may be NULL) is then the length of rel up to
 * the end of the component that failed (n when not known). */
static int walk_folder(int base, const char *rel, size_t n, int create, size_t *bad) {
  char path[PATH_MAX];
  if (bad) *bad = n;
  if (n == 0) return fcntl(base, F_DUPFD_CLOEXEC, 0);
  if (n >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, rel, n);
  path[n] = '\0';
#ifdef SYS_openat2
  if (!create) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, base, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    /* Anything but "no openat2 here" (an old kernel, a seccomp filter) is
     * the answer. */
    if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG &&
        errno != EAGAIN)
      return -1;
  }
#endif
  int cur = fcntl(base, F_DUPFD_CLOEXEC, 0);
  char *c = path;
  while (cur >= 0) {
    char *slash = strchr(c, '/');
    if (slash) *slash = '\0';
    int e = 0, next = -1;
    if (create && mkdirat(cur, c, 0700) != 0 && errno != EEXIST) e = errno;
    if (!e) {
      next = openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      e = errno;
      struct stat st;
      if (next < 0 && (e == ELOOP || e == ENOTDIR) &&
          fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) == 0)
        e = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    }
    close(cur);
    if (next < 0) {
      if (bad) *bad = slash ? (size_t)(slash - path) : n;
      errno = e;
      return -1;
    }
    cur = next;
    if (!slash) break;
    c = slash + 1;
  }
  return cur;
}

/* Length of the folder part of rel (up to its last '/'; 0: none). */
static size_t folder_len(const char *rel) {
  const char *slash = strrchr(rel, '/');
  return slash ? (size_t)(slash - rel) : 0;
}

/* The last component of rel. */
static const char *leaf_of(const char *rel) {
  const char *slash = strrchr(rel, '/');
  return slash ? slash + 1 : rel;
}

/* Remove the empty folders of `rel` (its parents, deepest first) up to the
 * workspace's folder; stops at the first that is not empty (or not there,
 * or not a folder). */
static void prune_empty(int wsfd, const char *rel) {
  size_t n = strlen(rel);
  for (;;) {
    size_t k = n;
    while (k > 0 && rel[k - 1] != '/') k--;
    if (k == 0) return; /* no folder left above */
    n = k - 1;          /* the folder rel[0, n) */
    size_t start = n;
    while (start > 0 && rel[start - 1] != '/') start--;
    char name[PATH_MAX];
    if (n - start >= sizeof name) return;
    memcpy(name, rel + start, n - start);
    name[n - start] = '\0';
    int dfd = walk_folder(wsfd, rel, start ? start - 1 : 0, 0, NULL);
    if (dfd < 0) return;
    int removed = unlinkat(dfd, name, AT_REMOVEDIR) == 0;
    close(dfd);
    if (!removed) return;
  }
}

/* Remove a tree without following symbolic links (a link is removed
 * itself). */
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

/* --- who may write where ------------------------------------------------------- */

/* Length of the first component of rel. */
static size_t top_len(const char *rel) {
  const char *slash = strchr(rel, '/');
  return slash ? (size_t)(slash - rel) : strlen(rel);
}

/* Is rel's top-level folder a content folder (16 lowercase hex digits)? */
static int in_content_folder(const char *rel) {
  if (top_len(rel) != FILES_CONTENT_FOLDER_LEN) return 0;
  for (size_t i = 0; i < FILES_CONTENT_FOLDER_LEN; i++)
    if (!((rel[i] >= '0' && rel[i] <= '9') || (rel[i] >= 'a' && rel[i] <= 'f'))) return 0;
  return 1;
}

/* A content folder holds files directly: upload_path may name one, not a
 * folder under one. */
static int check_content_folder(const char *folder) {
  if (in_content_folder(folder) && strchr(folder, '/'))
    return assay__err(ASSAY_ERR_CONFIG,
                      "upload_path '%s': '%.*s' is a content folder (a top-level folder named "
                      "by %d hex digits holds, directly, the files whose BLAKE2b-256 begins "
                      "with them) and has no sub-folders; choose another upload_path",
                      folder, FILES_CONTENT_FOLDER_LEN, folder, FILES_CONTENT_FOLDER_LEN);
  return ASSAY_OK;
}

/* Did `who` upload this record? */
static int uploaded_by(const json_t *rec, const principal *who) {
  const char *by = json_string_value(json_object_get(rec, "uploaded_by"));
  return by && strcmp(by, who->user_id) == 0;
}

/* May `who` (holding role `held` in its workspace) store a file at rel?
 * blake2b: the new content's hash, or NULL when not known yet (at the
 * upload's begin: then what depends on it is left to the finish). *same
 * is set to 1 when rel, in a content folder, already holds exactly this
 * content (nothing to check, record or quota); *old_size is the size of
 * the file rel replaces (0: none). */
static int may_write(store *s, const principal *who, workspace_role held, const char *rel,
                     const char *blake2b, int *same, int64_t *old_size) {
  json_t *rec = NULL, *list = NULL;
  *same = 0;
  *old_size = 0;
  int rc = s->ops->file_get(s, who->workspace_id, rel, &rec);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    rc = ASSAY_OK;
  }
  if (rc) return rc;
  if (rec) *old_size = (int64_t)json_integer_value(json_object_get(rec, "size"));
  if (rec && in_content_folder(rel)) {
    const char *h = json_string_value(json_object_get(rec, "blake2b"));
    if (!blake2b || (h && strcmp(h, blake2b) == 0)) { /* the same bytes, or not known yet */
      *same = blake2b != NULL;
      json_decref(rec);
      return ASSAY_OK;
    }
  }
  if (held >= ROLE_ADMIN) {
    json_decref(rec);
    return ASSAY_OK;
  }
  if (rec && !uploaded_by(rec, who)) {
    json_decref(rec);
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "%s%s was uploaded by another user: only they and workspace admins may "
                      "replace it; upload under another name or into a folder of your own",
                      FILES_LOCATION_PREFIX, rel);
  }
  json_decref(rec);
  char top[FILES_PATH_MAX + 1];
  size_t n = top_len(rel);
  memcpy(top, rel, n);
  top[n] = '\0';
  rc = s->ops->file_list(s, who->workspace_id, top, &list);
  size_t i;
  json_t *f;
  json_array_foreach(list, i, f) {
    if (rc || uploaded_by(f, who)) continue;
    rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                    "the folder '%s' holds files another user uploaded (such as %s%s): only "
                    "they and workspace admins may add files to it; upload into a folder of "
                    "your own",
                    top, FILES_LOCATION_PREFIX,
                    json_string_value(json_object_get(f, "path")));
  }
  json_decref(list);
  return rc;
}

/* The sum of the sizes of the workspace's files. */
static int workspace_usage(store *s, const char *workspace_id, int64_t *used) {
  json_t *list = NULL, *f;
  size_t i;
  *used = 0;
  int rc = s->ops->file_list(s, workspace_id, NULL, &list);
  json_array_foreach(list, i, f) *used += (int64_t)json_integer_value(json_object_get(f, "size"));
  json_decref(list);
  return rc;
}

/* --- limits ----------------------------------------------------------------------- */

static int env_bytes(const char *name, long long min, long long *out) {
  const char *e = getenv(name);
  if (!e || !*e) return ASSAY_OK;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(e, &end, 10);
  if (errno || *end || end == e || v < min)
    return assay__err(ASSAY_ERR_CONFIG, "%s must be a number of bytes of at least %lld; got '%s'",
                      name, min, e);
  *out = v;
  return ASSAY_OK;
}

int files_limits_from_env(files_limits *out) {
  out->max_upload_bytes = FILES_DEFAULT_MAX_UPLOAD;
  out->workspace_quota_bytes = 0;
  out->min_free_bytes = -1;
  int rc = env_bytes("ASSAY_MAX_UPLOAD_BYTES", 1, &out->max_upload_bytes);
  if (!rc) rc = env_bytes("ASSAY_WORKSPACE_QUOTA_BYTES", 0, &out->workspace_quota_bytes);
  if (!rc) rc = env_bytes("ASSAY_MIN_FREE_BYTES", 0, &out->min_free_bytes);
  return rc;
}

/* "123 bytes", "64 MiB", "1.5 GiB" */
static const char *human(char buf[32], long long bytes) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  if (u == 0) snprintf(buf, 32, "%lld bytes", bytes);
  else if (v == (double)(long long)v) snprintf(buf, 32, "%lld %s", (long long)v, units[u]);
  else snprintf(buf, 32, "%.1f %s", v, units[u]);
  return buf;
}

static int too_large(const files_limits *l, int64_t total) {
  char a[32];
  if (total <= l->max_upload_bytes) return ASSAY_OK;
  return assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                    "the upload is larger than this server's limit of %lld bytes (%s) per "
                    "file; nothing was stored",
                    l->max_upload_bytes, human(a, l->max_upload_bytes));
}

/* used: the workspace's bytes besides this upload (and the file it
 * replaces). */
static int over_quota(const files_limits *l, int64_t used, int64_t total) {
  char a[32], b[32];
  if (l->workspace_quota_bytes <= 0 || used + total <= l->workspace_quota_bytes)
    return ASSAY_OK;
  return assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                    "the upload of %lld bytes would pass the workspace's quota of %lld bytes "
                    "(%s): its files take %lld bytes (%s) already; delete some, or ask the "
                    "server's operator for a larger quota; nothing was stored",
                    (long long)total, l->workspace_quota_bytes,
                    human(a, l->workspace_quota_bytes), (long long)used, human(b, used));
}

/* Would writing `more` bytes to the file fd leave too little free space on
 * its filesystem? (Unknown free space: no.) */
static int short_of_space(const files_limits *l, int fd, int64_t more) {
  struct statvfs v;
  char a[32], b[32];
  if (fstatvfs(fd, &v) != 0) return ASSAY_OK;
  long long avail = (long long)v.f_bavail * (long long)v.f_frsize;
  long long reserve = l->min_free_bytes;
  if (reserve < 0) {
    long long pct = (long long)v.f_blocks * (long long)v.f_frsize / 100 *
                    FILES_DEFAULT_MIN_FREE_PERCENT;
    reserve = pct < FILES_DEFAULT_MIN_FREE ? pct : FILES_DEFAULT_MIN_FREE;
  }
  if (more > avail)
    return assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                      "the upload of %lld bytes is larger than the free space on the server's "
                      "disk; nothing was stored",
                      (long long)more);
  if (avail - more < reserve)
    return assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                      "the upload would leave less than %lld bytes (%s) free on the server's "
                      "disk, which it must keep (%s are free); nothing was stored",
                      reserve, human(a, reserve), human(b, avail));
  return ASSAY_OK;
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

/* Is rel, under the workspace's folder wsfd (-1: none), a regular file
 * (want_dir 0) or a folder (want_dir 1), reached without following a
 * symbolic link? */
static int on_disk(int wsfd, const char *rel, int want_dir) {
  if (wsfd < 0) return 0;
  if (want_dir) {
    int fd = walk_folder(wsfd, rel, strlen(rel), 0, NULL);
    if (fd < 0) return 0;
    close(fd);
    return 1;
  }
  int dfd = walk_folder(wsfd, rel, folder_len(rel), 0, NULL);
  if (dfd < 0) return 0;
  struct stat st;
  int ok = fstatat(dfd, leaf_of(rel), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
  close(dfd);
  return ok;
}

int files_resolve(assay_platform *p, store *s, const char *workspace_id, const char *location,
                  char **out) {
  char *path = NULL;
  *out = NULL;
  int rc = location_path("location", location, &path);
  if (rc) return rc;
  json_t *rec = NULL, *list = NULL;
  char abs[PATH_MAX];
  int wsfd = -1;
  rc = s->ops->file_get(s, workspace_id, path, &rec);
  if (rc == ASSAY_OK) {
    rc = ws_path(p, workspace_id, path, abs, sizeof abs);
    if (!rc) rc = ws_open(p, workspace_id, 0, &wsfd);
    if (!rc && !on_disk(wsfd, path, 0))
      rc = assay__err(ASSAY_ERR_NOT_FOUND,
                      "the uploaded file at %s%s is missing from the server's disk (a "
                      "symbolic link on its path is never followed); upload it again",
                      FILES_LOCATION_PREFIX, path);
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    rc = s->ops->file_list(s, workspace_id, path, &list);
    if (!rc && json_array_size(list) == 0)
      rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file at %s%s", FILES_LOCATION_PREFIX,
                      path);
    if (!rc) rc = ws_path(p, workspace_id, path, abs, sizeof abs);
    if (!rc) rc = ws_open(p, workspace_id, 0, &wsfd);
    if (!rc && !on_disk(wsfd, path, 1))
      rc = assay__err(ASSAY_ERR_NOT_FOUND,
                      "the uploaded folder at %s%s is missing from the server's disk (a "
                      "symbolic link on its path is never followed)",
                      FILES_LOCATION_PREFIX, path);
  }
  if (wsfd >= 0) close(wsfd);
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
  files_limits limits;
  int64_t used;      /* with upload_path: the workspace's bytes at begin, less
                        the file replaced (the quota is checked as the body
                        arrives; without upload_path only at the finish, as
                        the bytes may be stored already and take no room) */
  int64_t next_space_check; /* size at which free space is looked at again */
  int failed;        /* a write failed (its error code): the temporary file is gone */
  char why[512];     /* ... and its message */
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
    if (!rc) rc = check_content_folder(*folder);
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

/* Before any byte: may the caller write at upload_path/name, and what does
 * the workspace hold (for its quota)? */
static int upload_precheck(file_upload *u, store *s) {
  workspace_role held = ROLE_NONE;
  int rc = access_workspace(s, &u->who, u->who.workspace_id, ROLE_MEMBER, &held);
  int64_t old_size = 0;
  int same = 0;
  if (!rc && u->folder) {
    char rel[FILES_PATH_MAX + 2];
    snprintf(rel, sizeof rel, "%s/%s", u->folder, u->name);
    rc = may_write(s, &u->who, held, rel, NULL, &same, &old_size);
  }
  if (!rc && u->folder && u->limits.workspace_quota_bytes > 0) {
    rc = workspace_usage(s, u->who.workspace_id, &u->used);
    u->used -= old_size;
  }
  return rc;
}

int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who,
                       const char *query) {
  *out = NULL;
  char *name = NULL, *folder = NULL;
  int rc = parse_upload_query(query, &name, &folder);
  if (rc) return rc;
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
  u->limits = *platform_files_limits(p);
  crypto_generichash_init(&u->hash, NULL, 0, 32);
  rc = upload_precheck(u, s);

  char dir[PATH_MAX], hex[33];
  unsigned char rnd[16];
  if (!rc) rc = files_root(p, dir, sizeof dir - sizeof "/" INCOMING_DIR);
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
  int rc = too_large(&u->limits, size);
  if (!rc && u->folder) rc = over_quota(&u->limits, u->used, size);
  if (!rc) rc = short_of_space(&u->limits, u->fd, size);
  return rc;
}

/* The upload failed with the error just raised (rc): drop the temporary
 * file now (free its space); later writes and the finish answer the same. */
static int upload_failed(file_upload *u, int rc) {
  if (u->fd >= 0) close(u->fd);
  u->fd = -1;
  if (u->tmp[0]) unlink(u->tmp);
  u->tmp[0] = '\0';
  u->failed = rc;
  const assay_error *e = assay_error_last();
  snprintf(u->why, sizeof u->why, "%s", e && e->message ? e->message : "the upload failed");
  return rc;
}

static int upload_fail(file_upload *u, int e, const char *doing) {
  return upload_failed(u, io_error(e, doing));
}

int files_upload_write(file_upload *u, const void *data, size_t n) {
  if (u->failed) return assay__err(u->failed, "%s", u->why);
  int64_t total = u->size + (int64_t)n;
  int rc = too_large(&u->limits, total);
  if (!rc && u->folder) rc = over_quota(&u->limits, u->used, total);
  if (!rc && total >= u->next_space_check) {
    rc = short_of_space(&u->limits, u->fd, (int64_t)n);
    u->next_space_check = total + FILES_SPACE_CHECK_BYTES;
  }
  if (rc) return upload_failed(u, rc);
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

/* Inside the write transaction: check who may write there, the content
 * folder's rule and the quota, make the folders, record, rename into
 * place. *dir receives the descriptor of the file's folder once the file
 * is renamed there (*placed = 1); *existing the record of a file that
 * already held these bytes (nothing recorded). */
static int upload_place(file_upload *u, store *s, const char *rel, const char *hex,
                        int64_t now, int *placed, int *dir, json_t **existing) {
  const char *ws = u->who.workspace_id;
  workspace_role held = ROLE_NONE;
  int same = 0, wsfd = -1, dfd = -1;
  int64_t old_size = 0, used = 0;
  struct stat st;
  int rc = access_workspace(s, &u->who, ws, ROLE_MEMBER, &held);
  if (!rc && in_content_folder(rel) &&
      strncmp(rel, hex, FILES_CONTENT_FOLDER_LEN) != 0)
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "upload_path '%.*s' is a content folder (a top-level folder named by %d "
                    "hex digits): it holds only files whose BLAKE2b-256 begins with its name, "
                    "and this file's is %s; leave upload_path out to store it in its own "
                    "content folder, or choose another",
                    FILES_CONTENT_FOLDER_LEN, rel, FILES_CONTENT_FOLDER_LEN, hex);
  if (!rc) rc = may_write(s, &u->who, held, rel, hex, &same, &old_size);
  if (!rc && same) rc = s->ops->file_get(s, ws, rel, existing);
  if (!rc && !same && u->limits.workspace_quota_bytes > 0) {
    rc = workspace_usage(s, ws, &used);
    if (!rc) rc = over_quota(&u->limits, used - old_size, u->size);
  }
  if (!rc) rc = ws_open(u->p, ws, 1, &wsfd);
  size_t bad = 0, n = folder_len(rel);
  if (!rc && (dfd = walk_folder(wsfd, rel, n, 1, &bad)) < 0) {
    int e = errno;
    if (e == ENOTDIR)
      rc = assay__err(ASSAY_ERR_CONFLICT,
                      "'%.*s' is an uploaded file, so it cannot also be a folder; choose "
                      "another upload_path or delete it first",
                      (int)bad, rel);
    else if (e == ELOOP)
      rc = assay__err(ASSAY_ERR_STORE,
                      "'%.*s' in the workspace's files is a symbolic link, which is never "
                      "followed; nothing was stored",
                      (int)bad, rel);
    else
      rc = assay__err(ASSAY_ERR_STORE, "cannot create the folder '%.*s' for the upload: %s",
                      (int)bad, rel, strerror(e));
  }
  const char *leaf = leaf_of(rel);
  int present = 0;
  if (!rc && fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    present = S_ISREG(st.st_mode);
    if (S_ISDIR(st.st_mode))
      rc = assay__err(ASSAY_ERR_CONFLICT,
                      "'%s' is a folder of uploaded files; delete it first or upload under "
                      "another name",
                      rel);
  }
  if (!rc && !same)
    rc = s->ops->file_put(s, ws, rel, u->size, hex, u->who.user_id, now);
  /* The same bytes already there: nothing to do, unless the file went
   * missing from the disk. */
  if (!rc && !(same && present)) {
    if (renameat(AT_FDCWD, u->tmp, dfd, leaf) != 0) {
      rc = io_error(errno, "storing the upload");
    } else {
      u->tmp[0] = '\0';
      *placed = 1;
      fsync(dfd); /* the rename is durable once its folder is synced */
    }
  }
  if (rc && wsfd >= 0) prune_empty(wsfd, rel);
  if (wsfd >= 0) close(wsfd);
  if (*placed) *dir = dfd;
  else if (dfd >= 0) close(dfd);
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
  else snprintf(rel, sizeof rel, "%.*s/%s", FILES_CONTENT_FOLDER_LEN, hex, u->name);

  store *s = NULL;
  int64_t now = assay__now();
  int placed = 0, dfd = -1;
  json_t *existing = NULL;
  int rc = platform_store_acquire(u->p, &s);
  if (!rc) rc = s->ops->begin(s, 1);
  if (!rc) {
    rc = upload_place(u, s, rel, hex, now, &placed, &dfd, &existing);
    if (!rc) rc = s->ops->commit(s);
    if (rc) {
      s->ops->rollback(s);
      if (placed) { /* the record did not commit: neither does the file */
        int wsfd = -1;
        unlinkat(dfd, leaf_of(rel), 0);
        if (ws_open(u->p, u->who.workspace_id, 0, &wsfd) == ASSAY_OK && wsfd >= 0) {
          prune_empty(wsfd, rel);
          close(wsfd);
        }
      }
    }
  }
  if (dfd >= 0) close(dfd);
  platform_store_release(u->p, s);
  if (!rc && existing) {
    if (with_location(existing)) {
      *answer = existing;
      existing = NULL;
    } else {
      rc = assay__nomem();
    }
  } else if (!rc) {
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
  json_decref(existing);
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

/* May `who` (holding `held`) delete these file records? Members delete
 * only what they uploaded. */
static int may_delete(const principal *who, workspace_role held, json_t *files,
                      const char *location, int folder) {
  if (held >= ROLE_ADMIN) return ASSAY_OK;
  size_t i;
  json_t *f;
  json_array_foreach(files, i, f) {
    if (uploaded_by(f, who)) continue;
    if (!folder)
      return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                        "%s was uploaded by another user: only they and workspace admins may "
                        "delete it",
                        location);
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "the folder %s holds files another user uploaded (such as %s%s): only "
                      "workspace admins may delete it; delete your own files one by one",
                      location, FILES_LOCATION_PREFIX,
                      json_string_value(json_object_get(f, "path")));
  }
  return ASSAY_OK;
}

/* The deletion inside the write transaction. What is on disk is reached
 * from the workspace's folder without following a symbolic link: a path
 * that goes through one has nothing of this workspace to delete. */
static int delete_location(route_ctx *c, const char *path, const char *location) {
  store *s = c->store;
  const char *ws = c->who->workspace_id;
  json_t *rec = NULL, *files = NULL;
  workspace_role held = ROLE_NONE;
  int64_t n = 0;
  int wsfd = -1, dfd = -1, folder = 0;
  int rc = access_workspace(s, c->who, ws, ROLE_MEMBER, &held);
  if (rc) return rc;
  rc = s->ops->file_get(s, ws, path, &rec);
  if (rc == ASSAY_OK) {
    files = json_pack("[o]", rec);
    rc = files ? ASSAY_OK : assay__nomem();
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    folder = 1;
    rc = s->ops->file_list(s, ws, path, &files);
    if (!rc && json_array_size(files) == 0)
      rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file or folder at %s", location);
  }
  if (!rc) rc = may_delete(c->who, held, files, location, folder);
  if (!rc) rc = s->ops->file_delete(s, ws, path, folder, &n);
  if (!rc) rc = ws_open(c->platform, ws, 0, &wsfd);
  if (!rc && wsfd >= 0 && (dfd = walk_folder(wsfd, path, folder_len(path), 0, NULL)) >= 0) {
    const char *leaf = leaf_of(path);
    if (!folder && unlinkat(dfd, leaf, 0) != 0 && errno != ENOENT)
      rc = assay__err(ASSAY_ERR_STORE, "cannot delete the uploaded file %s: %s", location,
                      strerror(errno));
    if (folder && rm_tree_at(dfd, leaf) != 0)
      rc = assay__err(ASSAY_ERR_STORE, "cannot delete the uploaded folder %s: %s", location,
                      strerror(errno));
    close(dfd);
  }
  if (!rc && wsfd >= 0) prune_empty(wsfd, path);
  if (wsfd >= 0) close(wsfd);
  json_decref(files);
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
