/* client/client_files.c — uploads and the file store from the client: one
 * file (streamed from disk by the transport, never held in memory), a
 * directory tree (walked here; links out of it refused before anything is
 * sent), a table of columns (written as a CSV file, then uploaded), the
 * list of uploaded files and deleting them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "engine/frame.h"
#include "platform/files.h"

/* Directory walks stop at this depth (a guard against loops of links). */
#define WALK_MAX_DEPTH 64

/* --- answers ------------------------------------------------------------------- */

/* Upload `size` bytes of fd to PUT <query path>; the file record in *out. */
static int send_file(assay_client *c, const char *path, int fd, int64_t size, json_t **out) {
  int status = 0;
  json_t *resp = NULL;
  pthread_mutex_lock(&c->lock);
  int rc = c->t->ops->upload(c->t, path, fd, size, &status, &resp);
  pthread_mutex_unlock(&c->lock);
  if (rc) return rc;
  if (status < 200 || status >= 400) {
    rc = client__decode_error(status, resp);
    json_decref(resp);
    return rc;
  }
  if (!json_is_object(resp)) {
    json_decref(resp);
    return assay__err(ASSAY_ERR_INTERNAL, "the server's answer to an upload was not a record");
  }
  *out = resp;
  return ASSAY_OK;
}

/* "/v1/files?name=<name>[&upload_path=<folder>]" */
static int upload_query(char **out, const char *name, const char *folder) {
  char *q = strdup("");
  if (!q) return assay__nomem();
  int rc = client__add_query(&q, "name", name);
  if (!rc) rc = client__add_query(&q, "upload_path", folder);
  if (!rc && asprintf(out, "/v1/files%s", q) < 0) rc = assay__nomem();
  free(q);
  return rc;
}

/* upload_path as the API takes it: NULL, or a relative folder path (a
 * trailing '/' is fine); "" and the rest of files_check_path's refusals are
 * ConfigErrors here, before anything is read or sent. */
static int check_upload_path(const char *upload_path) {
  if (!upload_path) return ASSAY_OK;
  if (!*upload_path)
    return assay__err(ASSAY_ERR_CONFIG,
                      "upload_path must not be empty; pass NULL (None, nil) to store the "
                      "upload in a folder named after its content, or a folder path such as "
                      "'data/2024'");
  if (upload_path[0] == '/') return files_check_path("upload_path", upload_path);
  char *p = strdup(upload_path);
  if (!p) return assay__nomem();
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  int rc = files_check_path("upload_path", p);
  free(p);
  return rc;
}

/* Open a local file to upload: it must exist and be a regular file. */
static int open_local(const char *what, const char *file_path, int *fd, int64_t *size) {
  struct stat st;
  *fd = -1;
  if (stat(file_path, &st) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' %s", what, file_path,
                      errno == ENOENT ? "does not exist" : strerror(errno));
  if (S_ISDIR(st.st_mode))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s '%s' is a directory; upload a directory with upload_directory",
                      what, file_path);
  if (!S_ISREG(st.st_mode))
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' is not a regular file", what, file_path);
  int f = open(file_path, O_RDONLY | O_CLOEXEC);
  if (f < 0)
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' cannot be read: %s", what, file_path,
                      strerror(errno));
  if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(f);
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' is not a regular file", what, file_path);
  }
  *fd = f;
  *size = (int64_t)st.st_size;
  return ASSAY_OK;
}

/* Upload the local file `file_path` as `name` in `folder` (NULL: the
 * content's folder). */
static int upload_one(assay_client *c, const char *file_path, const char *name,
                      const char *folder, json_t **out) {
  int fd = -1;
  int64_t size = 0;
  char *path = NULL;
  int rc = files_check_path("file name", name);
  if (!rc && strchr(name, '/'))
    rc = assay__err(ASSAY_ERR_CONFIG, "file name '%s' must not contain '/'", name);
  if (!rc) rc = open_local("file_path", file_path, &fd, &size);
  if (rc) return rc;
  rc = upload_query(&path, name, folder);
  if (!rc) rc = send_file(c, path, fd, size, out);
  close(fd);
  free(path);
  return rc;
}

/* The last component of a path without its trailing slashes (caller
 * frees); "." and ".." become the real directory's name. */
static int base_name(const char *path, char **out) {
  char *p = strdup(path);
  if (!p) return assay__nomem();
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
  char *slash = strrchr(p, '/');
  const char *b = slash && slash[1] ? slash + 1 : p;
  if (!strcmp(b, ".") || !strcmp(b, "..") || !strcmp(b, "/")) {
    char real[PATH_MAX];
    if (!realpath(path, real)) {
      free(p);
      return assay__err(ASSAY_ERR_CONFIG, "'%s' cannot be resolved: %s", path, strerror(errno));
    }
    free(p);
    slash = strrchr(real, '/');
    *out = strdup(slash && slash[1] ? slash + 1 : "root");
  } else {
    *out = strdup(b);
    free(p);
  }
  return *out ? ASSAY_OK : assay__nomem();
}

ASSAY_API int assay_client_upload_file(assay_value **out, assay_client *client,
                                       const char *file_path, const char *upload_path) {
  if (!client) return assay__err(ASSAY_ERR_CONFIG, "client must not be NULL");
  if (!file_path || !*file_path)
    return assay__err(ASSAY_ERR_CONFIG, "file_path must be a non-empty string");
  int rc = check_upload_path(upload_path);
  if (rc) return rc;
  char *name = NULL;
  json_t *rec = NULL;
  rc = base_name(file_path, &name);
  if (!rc) rc = upload_one(client, file_path, name, upload_path, &rec);
  free(name);
  return rc ? rc : client__wrap_out(out, rec);
}

/* --- directories ------------------------------------------------------------------- */

/* One file found in a directory: where to read it, where it goes. */
typedef struct found_file {
  char *source; /* local path to open (a link's target for links) */
  char *rel;    /* path relative to the directory, '/'-separated */
} found_file;

typedef struct walk {
  const char *top;       /* dir_path as given */
  char root[PATH_MAX];   /* its real path */
  int hidden;
  found_file *files;
  size_t n, cap;
  struct { dev_t dev; ino_t ino; } stack[WALK_MAX_DEPTH + 1];
  int depth;
} walk;

static void walk_free(walk *w) {
  for (size_t i = 0; i < w->n; i++) {
    free(w->files[i].source);
    free(w->files[i].rel);
  }
  free(w->files);
}

static int add_file(walk *w, const char *source, const char *rel) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 16;
    found_file *f = realloc(w->files, cap * sizeof *f);
    if (!f) return assay__nomem();
    w->files = f;
    w->cap = cap;
  }
  found_file *f = &w->files[w->n];
  f->source = strdup(source);
  f->rel = strdup(rel);
  if (!f->source || !f->rel) {
    free(f->source);
    free(f->rel);
    return assay__nomem();
  }
  w->n++;
  return ASSAY_OK;
}

/* Is `real` (a resolved path) the root or inside it? */
static int inside(const walk *w, const char *real) {
  size_t n = strlen(w->root);
  if (strcmp(w->root, "/") == 0) return 1;
  return strncmp(real, w->root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(walk *w, const char *dir, const char *rel);

/* One entry `name` of the folder `dir` (relative path `rel`). */
static int walk_entry(walk *w, const char *dir, const char *rel, const char *name) {
  char path[PATH_MAX], sub[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
      snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name) >= (int)sizeof sub)
    return assay__err(ASSAY_ERR_CONFIG, "a path under '%s' is too long", w->top);
  struct stat st;
  if (lstat(path, &st) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "'%s' cannot be read: %s", path, strerror(errno));
  const char *source = path;
  char real[PATH_MAX];
  if (S_ISLNK(st.st_mode)) {
    if (!realpath(path, real))
      return assay__err(ASSAY_ERR_CONFIG,
                        "symbolic link '%s' in directory '%s' points to nothing that exists "
                        "(%s); nothing was uploaded",
                        sub, w->top, strerror(errno));
    if (!inside(w, real))
      return assay__err(ASSAY_ERR_CONFIG,
                        "symbolic link '%s' in directory '%s' points outside it (to '%s'); "
                        "links out of an uploaded directory are refused and nothing was "
                        "uploaded",
                        sub, w->top, real);
    if (stat(real, &st) != 0)
      return assay__err(ASSAY_ERR_CONFIG, "'%s' cannot be read: %s", real, strerror(errno));
    source = real;
  }
  if (S_ISDIR(st.st_mode)) return walk_dir(w, source, sub);
  if (!S_ISREG(st.st_mode)) return ASSAY_OK; /* sockets, pipes, devices: not files */
  int rc = files_check_path("a file's path in the directory", sub);
  return rc ? rc : add_file(w, source, sub);
}

static int walk_dir(walk *w, const char *dir, const char *rel) {
  struct stat st;
  if (stat(dir, &st) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "'%s' cannot be read: %s", dir, strerror(errno));
  for (int i = 0; i < w->depth; i++)
    if (w->stack[i].dev == st.st_dev && w->stack[i].ino == st.st_ino)
      return assay__err(ASSAY_ERR_CONFIG,
                        "'%s' is reached again through a symbolic link (a loop); nothing was "
                        "uploaded",
                        dir);
  if (w->depth >= WALK_MAX_DEPTH)
    return assay__err(ASSAY_ERR_CONFIG, "'%s' is nested more than %d folders deep", dir,
                      WALK_MAX_DEPTH);
  DIR *d = opendir(dir);
  if (!d) return assay__err(ASSAY_ERR_CONFIG, "'%s' cannot be read: %s", dir, strerror(errno));
  /* Names sorted, so the upload order (and any error) is the same each time. */
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = ASSAY_OK;
  struct dirent *e;
  while (!rc && (e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (e->d_name[0] == '.' && !w->hidden) continue;
    if (n == cap) {
      size_t c2 = cap ? cap * 2 : 32;
      char **grown = realloc(names, c2 * sizeof *grown);
      if (!grown) {
        rc = assay__nomem();
        break;
      }
      names = grown;
      cap = c2;
    }
    if (!(names[n] = strdup(e->d_name))) rc = assay__nomem();
    else n++;
  }
  closedir(d);
  if (!rc && n > 1) qsort(names, n, sizeof *names, cmp_names);
  w->stack[w->depth].dev = st.st_dev;
  w->stack[w->depth].ino = st.st_ino;
  w->depth++;
  for (size_t i = 0; i < n && !rc; i++) rc = walk_entry(w, dir, rel, names[i]);
  w->depth--;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

ASSAY_API int assay_client_upload_directory(assay_value **out, assay_client *client,
                                            const char *dir_path, int upload_hidden,
                                            const char *upload_path) {
  if (!client) return assay__err(ASSAY_ERR_CONFIG, "client must not be NULL");
  if (!dir_path || !*dir_path)
    return assay__err(ASSAY_ERR_CONFIG, "dir_path must be a non-empty string");
  int rc = check_upload_path(upload_path);
  if (rc) return rc;
  struct stat st;
  if (stat(dir_path, &st) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "dir_path '%s' %s", dir_path,
                      errno == ENOENT ? "does not exist" : strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return assay__err(ASSAY_ERR_CONFIG,
                      "dir_path '%s' is not a directory; upload a single file with upload_file",
                      dir_path);

  walk w;
  memset(&w, 0, sizeof w);
  w.top = dir_path;
  w.hidden = upload_hidden;
  if (!realpath(dir_path, w.root))
    return assay__err(ASSAY_ERR_CONFIG, "dir_path '%s' cannot be resolved: %s", dir_path,
                      strerror(errno));
  char *dir_name = NULL, *folder = NULL;
  json_t *files = NULL, *result = NULL;
  /* Everything is checked before the first byte is sent. */
  rc = walk_dir(&w, w.root, "");
  if (!rc && w.n == 0)
    rc = assay__err(ASSAY_ERR_CONFIG, "directory '%s' holds no files to upload%s", dir_path,
                    upload_hidden ? "" : " (hidden files are skipped unless upload_hidden)");
  if (!rc) rc = base_name(dir_path, &dir_name);
  if (!rc) rc = files_check_path("directory name", dir_name);
  if (!rc) {
    char prefix[FILES_PATH_MAX + 1];
    if (upload_path) {
      snprintf(prefix, sizeof prefix, "%s", upload_path);
      size_t n = strlen(prefix);
      while (n > 1 && prefix[n - 1] == '/') prefix[--n] = '\0';
    } else {
      /* 32 hex digits: not the shape of a content folder (16, files.h) */
      unsigned char rnd[16];
      randombytes_buf(rnd, sizeof rnd);
      sodium_bin2hex(prefix, 33, rnd, sizeof rnd);
    }
    if (asprintf(&folder, "%s/%s", prefix, dir_name) < 0) {
      folder = NULL;
      rc = assay__nomem();
    }
  }
  if (!rc) rc = files_check_path("upload_path", folder);
  for (size_t i = 0; !rc && i < w.n; i++) {
    if (strlen(folder) + 1 + strlen(w.files[i].rel) > FILES_PATH_MAX)
      rc = assay__err(ASSAY_ERR_CONFIG, "the uploaded path of '%s' would be longer than %d bytes",
                      w.files[i].rel, FILES_PATH_MAX);
  }
  if (!rc && !(files = json_array())) rc = assay__nomem();
  for (size_t i = 0; !rc && i < w.n; i++) {
    /* rel "a/b/c.csv" goes to <folder>/a/b as c.csv */
    char *rel = w.files[i].rel, *slash = strrchr(rel, '/'), *sub = NULL;
    const char *name = slash ? slash + 1 : rel;
    if (slash && asprintf(&sub, "%s/%.*s", folder, (int)(slash - rel), rel) < 0)
      rc = assay__nomem();
    json_t *rec = NULL;
    if (!rc) rc = upload_one(client, w.files[i].source, name, sub ? sub : folder, &rec);
    if (!rc && json_array_append_new(files, rec) != 0) rc = assay__nomem();
    free(sub);
  }
  if (!rc) {
    char *loc = NULL;
    if (asprintf(&loc, "%s%s", FILES_LOCATION_PREFIX, folder) < 0) loc = NULL;
    result = loc ? json_pack("{s:s, s:O}", "location", loc, "files", files) : NULL;
    free(loc);
    if (!result) rc = assay__nomem();
  }
  json_decref(files);
  free(folder);
  free(dir_name);
  walk_free(&w);
  return rc ? rc : client__wrap_out(out, result);
}

/* --- a table of columns ------------------------------------------------------------ */

ASSAY_API int assay_client_upload_columns(assay_value **out, assay_client *client,
                                          const assay_value *columns, const char *name,
                                          const char *upload_path) {
  if (!client) return assay__err(ASSAY_ERR_CONFIG, "client must not be NULL");
  if (!columns) return assay__err(ASSAY_ERR_CONFIG, "columns must be given (a table of columns)");
  int rc = check_upload_path(upload_path);
  if (rc) return rc;
  char *file_name = NULL;
  const char *given = name ? name : "data.csv";
  size_t n = strlen(given);
  int has_ext = n >= 4 && strcmp(given + n - 4, ".csv") == 0;
  if (asprintf(&file_name, "%s%s", given, has_ext ? "" : ".csv") < 0) return assay__nomem();
  rc = files_check_path("name", file_name);
  if (!rc && strchr(file_name, '/'))
    rc = assay__err(ASSAY_ERR_CONFIG, "name '%s' must be a file name, without '/'", given);
  frame *f = NULL;
  if (!rc) rc = frame_from_json(&f, JV(columns));

  /* The CSV goes to a private temporary folder, named as it is uploaded. */
  char dir[PATH_MAX] = "", path[PATH_MAX] = "";
  json_t *rec = NULL;
  if (!rc) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/assay-upload-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
      rc = assay__err(ASSAY_ERR_CONFIG, "cannot make a temporary folder for the CSV: %s",
                      strerror(errno));
      dir[0] = '\0';
    }
  }
  if (!rc && snprintf(path, sizeof path, "%s/%s", dir, file_name) >= (int)sizeof path)
    rc = assay__err(ASSAY_ERR_CONFIG, "name '%s' is too long", given);
  if (!rc) rc = csv_write(f, path);
  if (!rc) rc = upload_one(client, path, file_name, upload_path, &rec);
  if (path[0]) unlink(path);
  if (dir[0]) rmdir(dir);
  frame_free(f);
  free(file_name);
  return rc ? rc : client__wrap_out(out, rec);
}

/* --- listing and deleting ------------------------------------------------------------ */

ASSAY_API int assay_client_list_uploaded_files(assay_value **out, assay_client *client) {
  json_t *resp = NULL;
  int rc = client__call(client, "GET", "/v1/files", NULL, &resp);
  return rc ? rc : client__unwrap_list(out, resp, "files");
}

ASSAY_API int assay_client_delete_uploaded_file(assay_client *client, const char *location) {
  if (!client) return assay__err(ASSAY_ERR_CONFIG, "client must not be NULL");
  int rc = client__require_id("location", location);
  char *q = NULL, *path = NULL;
  if (!rc && !(q = strdup(""))) rc = assay__nomem();
  if (!rc) rc = client__add_query(&q, "location", location);
  if (!rc && asprintf(&path, "/v1/files%s", q) < 0) {
    path = NULL;
    rc = assay__nomem();
  }
  if (!rc) rc = client__call(client, "DELETE", path, NULL, NULL);
  free(q);
  free(path);
  return rc;
}
