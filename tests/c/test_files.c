/* test_files.c — the file store end to end: uploads of files, directories
 * and tables of columns through the client (embedded, and over HTTP to an
 * in-process assayd whose body limit is far below the uploads), listing,
 * deleting, the path rules, links out of a directory, hidden files, roles
 * and workspaces, raw (buffered) uploads through assay_client_request, the
 * router's streaming API, a cut connection and a failing disk (a file size
 * limit) leaving nothing behind, files_resolve / files_content_hash, who
 * may write where (uploader, other member, workspace admin, viewer; content
 * folders), the upload limits (largest file, quota, free space, an endless
 * body hung up on), and links planted in the store never being followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay.h"
#include "platform/files.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

/* The in-process server's body limit: every upload here is larger, and
 * passes all the same (uploads stream). */
#define SERVER_MAX_BODY (64 * 1024)

typedef struct target {
  char *home;
  char *tmp; /* local files to upload */
  assay_platform *platform; /* HTTP: the served platform */
  assay_server *server;
  char url[64];
  assay_client *admin;
  char ws[64]; /* the admin's workspace */
  char admin_id[64];
  assay_client *opened[8];
  int nopened;
} target;

static const char *str(const assay_value *v, const char *key) {
  return assay_value_get_string(assay_value_object_get(v, key), NULL);
}

static void expect(int rc, int code, const char *fragment) {
  const assay_error *e = assay_error_last();
  if (rc != code)
    fail_msg("got %d (%s); expected %d", rc, e && e->message ? e->message : "-", code);
  assert_non_null(e);
  assert_int_equal(e->code, code);
  if (fragment && !strstr(e->message, fragment))
    fail_msg("message '%s' lacks '%s'", e->message, fragment);
}

static void ok(int rc) {
  if (rc != ASSAY_OK) fail_msg("failed: %s", assay_error_last()->message);
}

static void identify(target *t) {
  assay_value *me = NULL;
  ok(assay_client_platform_info(&me, t->admin));
  snprintf(t->ws, sizeof t->ws, "%s", str(me, "workspace_id"));
  snprintf(t->admin_id, sizeof t->admin_id, "%s", str(me, "user_id"));
  assay_value_free(me);
}

static int setup_embedded(void **state) {
  target *t = calloc(1, sizeof *t);
  if (!t || !(t->home = make_home()) || !(t->tmp = make_home())) return -1;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = t->home;
  if (assay_client_new(&t->admin, &o) != ASSAY_OK) return -1;
  identify(t);
  *state = t;
  return 0;
}

static int setup_http(void **state) {
  target *t = calloc(1, sizeof *t);
  if (!t || assay_init() != ASSAY_OK || !(t->home = make_home()) || !(t->tmp = make_home()))
    return -1;
  if (assay_platform_open(&t->platform, t->home) != ASSAY_OK) return -1;
  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
  so.listen = "127.0.0.1:0";
  so.threads = 2;
  so.max_body_bytes = SERVER_MAX_BODY;
  if (assay_server_start(&t->server, t->platform, &so) != ASSAY_OK) {
    fprintf(stderr, "server_start: %s\n", assay_error_last()->message);
    return -1;
  }
  snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d", assay_server_port(t->server));
  char token[256] = "";
  if (read_admin_token(t->home, token, sizeof token) != 0) return -1;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = t->url;
  o.api_key = token;
  o.channel_timeout = 20;
  if (assay_client_new(&t->admin, &o) != ASSAY_OK) return -1;
  identify(t);
  *state = t;
  return 0;
}

static int teardown(void **state) {
  target *t = *state;
  for (int i = 0; i < t->nopened; i++) assay_client_free(t->opened[i]);
  assay_client_free(t->admin);
  if (t->platform) {
    assay_server_stop(t->server);
    assay_platform_free(t->platform);
    assay_shutdown();
  }
  rm_home(t->home);
  rm_home(t->tmp);
  free(t);
  return 0;
}

/* A client of the target acting as the user of `token`. */
static assay_client *open_as(target *t, const char *token) {
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  if (t->platform) o.domain = t->url;
  else o.home = t->home;
  o.api_key = token;
  assay_client *c = NULL;
  if (assay_client_new(&c, &o) != ASSAY_OK) fail_msg("client: %s", assay_error_last()->message);
  assert_true(t->nopened < (int)(sizeof t->opened / sizeof t->opened[0]));
  t->opened[t->nopened++] = c;
  return c;
}

/* --- local files -------------------------------------------------------------- */

/* Write `len` bytes of `data` to <tmp>/<rel> (folders made); its path. */
static char *put_local(const target *t, const char *rel, const void *data, size_t len) {
  char *path = NULL;
  assert_true(asprintf(&path, "%s/%s", t->tmp, rel) > 0);
  for (char *c = path + strlen(t->tmp) + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    mkdir(path, 0700);
    *c = '/';
  }
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  return path;
}

static char *put_text(const target *t, const char *rel, const char *text) {
  return put_local(t, rel, text, strlen(text));
}

static void hash_hex(const void *data, size_t len, char out[65]) {
  unsigned char d[32];
  crypto_generichash(d, sizeof d, data, len, NULL, 0);
  sodium_bin2hex(out, 65, d, sizeof d);
}

/* <home>/files/<ws>/<rel> */
static char *stored_path(const target *t, const char *ws, const char *rel) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/files/%s%s%s", t->home, ws, rel ? "/" : "", rel ? rel : "") > 0);
  return p;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* Entries of a folder besides . and .. (-1 if it cannot be read). */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* Temporary upload files left under <home>/files/.incoming. */
static int incoming(const target *t) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/files/.incoming", t->home);
  int n = count_entries(dir);
  return n < 0 ? 0 : n;
}

static size_t list_count(assay_client *c) {
  assay_value *list = NULL;
  ok(assay_client_list_uploaded_files(&list, c));
  size_t n = assay_value_array_size(list);
  assay_value_free(list);
  return n;
}

/* GET /v1/files?<query> through the raw request; the number of files. */
static size_t raw_list_count(assay_client *c, const char *query) {
  char path[512];
  snprintf(path, sizeof path, "/v1/files%s%s", *query ? "?" : "", query);
  assay_value *resp = NULL;
  ok(assay_client_request(&resp, c, "GET", path, NULL, 0));
  size_t n = assay_value_array_size(assay_value_object_get(resp, "files"));
  assay_value_free(resp);
  return n;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, (1 << 20) - 1, f);
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* --- upload, list, delete ------------------------------------------------------- */

static void round_trip(void **state) {
  target *t = *state;
  const char *text = "when,amount\n2024-01-01,3\n2024-01-02,5\n";
  char hex[65], want[128];
  hash_hex(text, strlen(text), hex);
  char *local = put_text(t, "data.csv", text);

  assay_value *rec = NULL, *again = NULL, *other = NULL;
  ok(assay_client_upload_file(&rec, t->admin, local, NULL));
  snprintf(want, sizeof want, "assay://files/%.16s/data.csv", hex);
  assert_string_equal(str(rec, "location"), want);
  assert_string_equal(str(rec, "path"), want + strlen("assay://files/"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), strlen(text));
  assert_string_equal(str(rec, "blake2b"), hex);
  assert_string_equal(str(rec, "uploaded_by"), t->admin_id);
  assert_non_null(str(rec, "uploaded_at"));

  /* The same content lands at the same location. */
  ok(assay_client_upload_file(&again, t->admin, local, NULL));
  assert_string_equal(str(again, "location"), str(rec, "location"));
  assert_int_equal(list_count(t->admin), 1);

  /* An explicit folder (a trailing '/' is fine). */
  ok(assay_client_upload_file(&other, t->admin, local, "team/2024/"));
  assert_string_equal(str(other, "location"), "assay://files/team/2024/data.csv");
  assert_int_equal(list_count(t->admin), 2);
  assert_int_equal(raw_list_count(t->admin, "prefix=team"), 1);
  assert_int_equal(raw_list_count(t->admin, "prefix=team/2024/"), 1);
  assert_int_equal(raw_list_count(t->admin, "prefix=assay%3A%2F%2Ffiles%2Fteam"), 1);
  assert_int_equal(raw_list_count(t->admin, "prefix=tea"), 0); /* folders, not text */
  assert_int_equal(raw_list_count(t->admin, ""), 2);

  /* On disk, in the workspace's folder, with the content. */
  char *disk = stored_path(t, t->ws, "team/2024/data.csv");
  size_t len = 0;
  char *content = read_all(disk, &len);
  assert_non_null(content);
  assert_int_equal(len, strlen(text));
  assert_memory_equal(content, text, len);
  free(content);
  struct stat st;
  assert_int_equal(stat(disk, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  /* Delete a file: gone from the list and the disk, empty folders too. */
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/team/2024/data.csv"));
  assert_false(exists(disk));
  char *team = stored_path(t, t->ws, "team");
  assert_false(exists(team));
  assert_int_equal(list_count(t->admin), 1);
  expect(assay_client_delete_uploaded_file(t->admin, "assay://files/team/2024/data.csv"),
         ASSAY_ERR_NOT_FOUND, "no uploaded file or folder at assay://files/team/2024/data.csv");

  /* Delete a folder location: everything under it. */
  char folder[64];
  snprintf(folder, sizeof folder, "assay://files/%.16s/", hex);
  ok(assay_client_delete_uploaded_file(t->admin, folder));
  assert_int_equal(list_count(t->admin), 0);
  char *wsdir = stored_path(t, t->ws, NULL);
  assert_int_equal(count_entries(wsdir), 0);
  free(wsdir);

  expect(assay_client_delete_uploaded_file(t->admin, "files/x"), ASSAY_ERR_CONFIG,
         "assay://files/<path>");
  expect(assay_client_delete_uploaded_file(t->admin, "assay://files/"), ASSAY_ERR_CONFIG,
         "names no file");
  expect(assay_client_delete_uploaded_file(t->admin, "assay://files/../x"), ASSAY_ERR_CONFIG,
         "'..'");
  expect(assay_client_delete_uploaded_file(t->admin, ""), ASSAY_ERR_CONFIG, "location");
  expect(assay_client_request(NULL, t->admin, "DELETE", "/v1/files", NULL, 0), ASSAY_ERR_CONFIG,
         "location is required");
  assert_int_equal(incoming(t), 0);

  assay_value_free(rec);
  assay_value_free(again);
  assay_value_free(other);
  free(disk);
  free(team);
  free(local);
}

/* --- the path rules -------------------------------------------------------------- */

static void bad_paths_are_refused(void **state) {
  target *t = *state;
  char *local = put_text(t, "x.csv", "a\n1\n");
  assay_value *v = NULL;
  static const struct {
    const char *upload_path, *fragment;
  } bad[] = {
    {"../x", "'..'"},
    {"a/../../b", "'..'"},
    {"/etc", "absolute path"},
    {"/", "absolute path"},
    {"a/./b", "'.'"},
    {".", "'.'"},
    {"a//b", "empty component"},
    {"a\x01" "b", "control characters"},
    {"a\nb", "control characters"},
    {"a\\b", "backslash"},
    {".assay", "reserved"},
    {"x/.assay-cache", "reserved"},
    {"", "must not be empty"},
    {"bad\xff", "UTF-8"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect(assay_client_upload_file(&v, t->admin, local, bad[i].upload_path), ASSAY_ERR_CONFIG,
           bad[i].fragment);
  char longp[1100];
  memset(longp, 'a', sizeof longp - 1);
  longp[sizeof longp - 1] = '\0';
  expect(assay_client_upload_file(&v, t->admin, local, longp), ASSAY_ERR_CONFIG, "at most 1024");

  /* The server checks the same on raw requests. */
  static const struct {
    const char *path, *fragment;
  } raw[] = {
    {"/v1/files", "name is required"},
    {"/v1/files?name=", "name must not be empty"},
    {"/v1/files?name=..", "'..'"},
    {"/v1/files?name=a%2Fb", "not a path"},
    {"/v1/files?name=%2E%2E%2Fx", "'..'"},
    {"/v1/files?name=a%01", "control characters"},
    {"/v1/files?name=x&upload_path=", "must not be empty"},
    {"/v1/files?name=x&upload_path=%2Fetc", "absolute path"},
    {"/v1/files?name=x&upload_path=a%2F..%2Fb", "'..'"},
    {"/v1/files?name=x&upload_path=a%2F.%2Fb", "'.'"},
    {"/v1/files?name=.assayrc", "reserved"},
  };
  for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
    expect(assay_client_request(&v, t->admin, "PUT", raw[i].path, "data", 4), ASSAY_ERR_CONFIG,
           raw[i].fragment);
  /* Nothing was stored anywhere. */
  assert_int_equal(list_count(t->admin), 0);
  char *wsdir = stored_path(t, t->ws, NULL);
  assert_true(count_entries(wsdir) <= 0);
  assert_int_equal(incoming(t), 0);

  /* Local mistakes. */
  expect(assay_client_upload_file(&v, t->admin, "/nonexistent/file.csv", NULL), ASSAY_ERR_CONFIG,
         "does not exist");
  expect(assay_client_upload_file(&v, t->admin, t->tmp, NULL), ASSAY_ERR_CONFIG,
         "is a directory");
  expect(assay_client_upload_file(&v, t->admin, NULL, NULL), ASSAY_ERR_CONFIG, "file_path");
  expect(assay_client_upload_file(&v, t->admin, "", NULL), ASSAY_ERR_CONFIG, "file_path");
  expect(assay_client_upload_file(&v, NULL, local, NULL), ASSAY_ERR_CONFIG, "client");
  free(wsdir);
  free(local);
}

/* A file, a folder and a file under it must not collide. */
static void conflicts(void **state) {
  target *t = *state;
  assay_value *v = NULL;
  char *q = put_text(t, "q", "q\n"), *r = put_text(t, "r", "r\n");
  ok(assay_client_upload_file(&v, t->admin, q, "p"));
  assay_value_free(v);
  expect(assay_client_upload_file(&v, t->admin, r, "p/q"), ASSAY_ERR_CONFLICT,
         "'p/q' is an uploaded file");
  ok(assay_client_upload_file(&v, t->admin, r, "m/q"));
  assay_value_free(v);
  expect(assay_client_upload_file(&v, t->admin, q, "m"), ASSAY_ERR_CONFLICT,
         "'m/q' is a folder");
  assert_int_equal(list_count(t->admin), 2);
  assert_int_equal(incoming(t), 0);
  free(q);
  free(r);
}

/* --- directories --------------------------------------------------------------------- */

static void directory_upload(void **state) {
  target *t = *state;
  free(put_text(t, "d/a.csv", "a\n1\n"));
  free(put_text(t, "d/sub/b.csv", "b\n2\n"));
  free(put_text(t, "d/.hidden", "h\n"));
  free(put_text(t, "d/.hdir/c.csv", "c\n"));
  char *dir = NULL, *link = NULL, *outside = put_text(t, "secret.txt", "not yours\n");
  assert_true(asprintf(&dir, "%s/d", t->tmp) > 0);
  assert_true(asprintf(&link, "%s/d/link_in", t->tmp) > 0);
  assert_int_equal(symlink("sub/b.csv", link), 0);

  assay_value *res = NULL;
  ok(assay_client_upload_directory(&res, t->admin, dir, 0, NULL));
  const char *loc = str(res, "location");
  /* a random folder of 32 hex digits (16 would be a content folder) */
  assert_int_equal(strlen(loc), strlen("assay://files/") + 32 + strlen("/d"));
  assert_string_equal(loc + strlen(loc) - 2, "/d");
  const assay_value *files = assay_value_object_get(res, "files");
  assert_int_equal(assay_value_array_size(files), 3); /* a.csv, link_in, sub/b.csv */
  char hb[65];
  hash_hex("b\n2\n", 4, hb);
  const assay_value *linked = assay_value_array_get(files, 1);
  assert_string_equal(str(linked, "location") + strlen(loc), "/link_in");
  assert_string_equal(str(linked, "blake2b"), hb); /* uploaded as its target */
  assert_string_equal(str(assay_value_array_get(files, 2), "location") + strlen(loc),
                      "/sub/b.csv");
  assay_value_free(res);

  /* Hidden files too, into a named folder. */
  ok(assay_client_upload_directory(&res, t->admin, dir, 1, "up"));
  assert_string_equal(str(res, "location"), "assay://files/up/d");
  assert_int_equal(assay_value_array_size(assay_value_object_get(res, "files")), 5);
  assay_value_free(res);
  assert_int_equal(list_count(t->admin), 8);

  /* A link out of the directory: refused, and nothing uploaded at all
   * (the bad link sorts after the good files). */
  char *out_link = NULL;
  assert_true(asprintf(&out_link, "%s/d/zz_out", t->tmp) > 0);
  assert_int_equal(symlink(outside, out_link), 0);
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, "again"), ASSAY_ERR_CONFIG,
         "points outside");
  assert_int_equal(list_count(t->admin), 8);
  unlink(out_link);
  assert_int_equal(symlink("../", out_link), 0); /* the folder above */
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, "again"), ASSAY_ERR_CONFIG,
         "points outside");
  unlink(out_link);
  assert_int_equal(symlink("/nonexistent/x", out_link), 0);
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, "again"), ASSAY_ERR_CONFIG,
         "points to nothing");
  unlink(out_link);
  assert_int_equal(symlink(".", out_link), 0); /* a loop */
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, "again"), ASSAY_ERR_CONFIG,
         "loop");
  unlink(out_link);
  assert_int_equal(list_count(t->admin), 8);
  assert_int_equal(raw_list_count(t->admin, "prefix=again"), 0);

  /* Other mistakes. */
  char *empty = NULL;
  assert_true(asprintf(&empty, "%s/empty", t->tmp) > 0);
  assert_int_equal(mkdir(empty, 0700), 0);
  expect(assay_client_upload_directory(&res, t->admin, empty, 0, NULL), ASSAY_ERR_CONFIG,
         "no files");
  expect(assay_client_upload_directory(&res, t->admin, outside, 0, NULL), ASSAY_ERR_CONFIG,
         "not a directory");
  expect(assay_client_upload_directory(&res, t->admin, "/nonexistent", 0, NULL),
         ASSAY_ERR_CONFIG, "does not exist");
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, ""), ASSAY_ERR_CONFIG,
         "must not be empty");
  expect(assay_client_upload_directory(&res, t->admin, dir, 0, "../x"), ASSAY_ERR_CONFIG,
         "'..'");

  /* Deleting the directory's location deletes all of it. */
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/up/d"));
  assert_int_equal(list_count(t->admin), 3);
  char *up = stored_path(t, t->ws, "up");
  assert_false(exists(up));
  free(up);
  free(empty);
  free(out_link);
  free(outside);
  free(link);
  free(dir);
}

/* --- roles and workspaces --------------------------------------------------------------- */

/* A new user with `role` in workspace ws; their token (caller frees). */
static char *person(target *t, const char *ws, const char *username, const char *role,
                    char user_id[64]) {
  assay_value *u = NULL, *m = NULL, *tok = NULL;
  ok(assay_client_create_user(&u, t->admin, username, NULL));
  snprintf(user_id, 64, "%s", str(u, "user_id"));
  ok(assay_client_add_workspace_member(&m, t->admin, ws, user_id, role));
  ok(assay_client_create_api_token(&tok, t->admin, ws, "files", user_id,
                                   ASSAY_TOKEN_EXPIRY_DEFAULT));
  char *token = strdup(str(tok, "token"));
  assay_value_free(u);
  assay_value_free(m);
  assay_value_free(tok);
  return token;
}

static void roles_and_workspaces(void **state) {
  target *t = *state;
  assay_value *w = NULL, *w2 = NULL, *rec = NULL, *v = NULL;
  ok(assay_client_create_workspace(&w, t->admin, "team"));
  ok(assay_client_create_workspace(&w2, t->admin, "others"));
  char member_id[64], viewer_id[64], other_id[64];
  char *mt = person(t, str(w, "workspace_id"), "mem", "member", member_id);
  char *vt = person(t, str(w, "workspace_id"), "view", "viewer", viewer_id);
  char *ot = person(t, str(w2, "workspace_id"), "oth", "member", other_id);
  assay_client *member = open_as(t, mt), *viewer = open_as(t, vt), *other = open_as(t, ot);
  char *local = put_text(t, "r.csv", "r\n1\n");

  /* Viewers list but do not upload or delete. */
  expect(assay_client_upload_file(&v, viewer, local, "shared"), ASSAY_ERR_PERMISSION_DENIED,
         "WORKSPACE_ROLE_MEMBER");
  expect(assay_client_request(&v, viewer, "PUT", "/v1/files?name=x", "x", 1),
         ASSAY_ERR_PERMISSION_DENIED, "WORKSPACE_ROLE_MEMBER");
  assert_int_equal(list_count(viewer), 0);
  ok(assay_client_upload_file(&rec, member, local, "shared"));
  assert_string_equal(str(rec, "uploaded_by"), member_id);
  assert_int_equal(list_count(viewer), 1);
  expect(assay_client_delete_uploaded_file(viewer, "assay://files/shared/r.csv"),
         ASSAY_ERR_PERMISSION_DENIED, NULL);

  /* Another workspace sees nothing of it, and has its own tree. */
  assert_int_equal(list_count(other), 0);
  assert_int_equal(list_count(t->admin), 0); /* the admin's own workspace */
  expect(assay_client_delete_uploaded_file(other, "assay://files/shared/r.csv"),
         ASSAY_ERR_NOT_FOUND, NULL);
  assay_value *mine = NULL;
  char *local2 = put_text(t, "o/r.csv", "other content\n");
  ok(assay_client_upload_file(&mine, other, local2, "shared"));
  assert_string_equal(str(mine, "location"), "assay://files/shared/r.csv");
  assert_int_equal(list_count(member), 1);
  assay_value *list = NULL;
  ok(assay_client_list_uploaded_files(&list, member));
  assert_string_equal(str(assay_value_array_get(list, 0), "blake2b"), str(rec, "blake2b"));
  assay_value_free(list);
  char *theirs = stored_path(t, str(w2, "workspace_id"), "shared/r.csv");
  assert_true(exists(theirs));
  ok(assay_client_delete_uploaded_file(member, "assay://files/shared/r.csv"));
  assert_true(exists(theirs)); /* the other workspace's copy stays */
  assert_int_equal(list_count(other), 1);
  assert_int_equal(incoming(t), 0);

  free(theirs);
  free(local2);
  free(local);
  free(mt);
  free(vt);
  free(ot);
  assay_value_free(mine);
  assay_value_free(rec);
  assay_value_free(w);
  assay_value_free(w2);
}

/* --- who may write where ------------------------------------------------------------------ */

/* A record's field of the file at `location` as `c` lists it (NULL: not listed). */
static char *listed_field(assay_client *c, const char *location, const char *field) {
  assay_value *list = NULL;
  ok(assay_client_list_uploaded_files(&list, c));
  char *out = NULL;
  for (size_t i = 0; i < assay_value_array_size(list); i++) {
    const assay_value *f = assay_value_array_get(list, i);
    if (strcmp(str(f, "location"), location) == 0) out = strdup(str(f, field));
  }
  assay_value_free(list);
  return out;
}

static int stored_exists(const target *t, const char *ws, const char *rel) {
  char *p = stored_path(t, ws, rel);
  int e = exists(p);
  free(p);
  return e;
}

static char *stored_read(const target *t, const char *ws, const char *rel) {
  char *p = stored_path(t, ws, rel);
  char *text = read_all(p, NULL);
  free(p);
  return text;
}

static void put_bytes(assay_client *c, const char *query, const char *data, assay_value **out) {
  char path[1200];
  snprintf(path, sizeof path, "/v1/files?%s", query);
  ok(assay_client_request(out, c, "PUT", path, data, strlen(data)));
}

static int put_bytes_rc(assay_client *c, const char *query, const char *data) {
  char path[1200];
  assay_value *v = NULL;
  snprintf(path, sizeof path, "/v1/files?%s", query);
  int rc = assay_client_request(&v, c, "PUT", path, data, strlen(data));
  assay_value_free(v);
  return rc;
}

static void ownership(void **state) {
  target *t = *state;
  char a_id[64], b_id[64], v_id[64], w_id[64];
  char *at = person(t, t->ws, "alice", "member", a_id);
  char *bt = person(t, t->ws, "bob", "member", b_id);
  char *vt = person(t, t->ws, "vera", "viewer", v_id);
  char *wt = person(t, t->ws, "wanda", "admin", w_id); /* a workspace admin, not org admin */
  assay_client *a = open_as(t, at), *b = open_as(t, bt), *v = open_as(t, vt),
               *w = open_as(t, wt);
  assay_value *rec = NULL, *again = NULL;
  const char *loader = "import pandas as pd\ndef load():\n    return pd.DataFrame({'a': [1]})\n";
  const char *plant = "raise SystemExit('planted')\n";
  char hex[65], folder[17], q[256], loc[128];
  hash_hex(loader, strlen(loader), hex);
  snprintf(folder, sizeof folder, "%.16s", hex);

  /* Alice's loader in its content folder; Bob cannot put a module beside it. */
  put_bytes(a, "name=loader.py", loader, &rec);
  snprintf(loc, sizeof loc, "assay://files/%s/loader.py", folder);
  assert_string_equal(str(rec, "location"), loc);
  assay_value_free(rec);
  snprintf(q, sizeof q, "name=sqlite3.py&upload_path=%s", folder);
  expect(put_bytes_rc(b, q, plant), ASSAY_ERR_PERMISSION_DENIED,
         "holds files another user uploaded");
  assert_non_null(strstr(assay_error_last()->message, loc));
  char *local = put_text(t, "sqlite3.py", plant);
  expect(assay_client_upload_file(&rec, b, local, folder), ASSAY_ERR_PERMISSION_DENIED,
         "only they and workspace admins may add files to it");
  /* ... nor a package in a sub-folder (a content folder has none anyway) */
  snprintf(q, sizeof q, "name=__init__.py&upload_path=%s/sqlite3", folder);
  expect(put_bytes_rc(b, q, plant), ASSAY_ERR_CONFIG, "is a content folder");
  assert_int_equal(list_count(t->admin), 1);
  assert_int_equal(incoming(t), 0);

  /* The same bytes from Bob: the same location, nothing changed. */
  put_bytes(b, "name=loader.py", loader, &again);
  assert_string_equal(str(again, "location"), loc);
  assert_string_equal(str(again, "uploaded_by"), a_id);
  assay_value_free(again);
  snprintf(q, sizeof q, "name=loader.py&upload_path=%s", folder); /* named explicitly */
  put_bytes(b, q, loader, &again);
  assert_string_equal(str(again, "uploaded_by"), a_id);
  assay_value_free(again);
  char *by = listed_field(t->admin, loc, "uploaded_by");
  assert_string_equal(by, a_id);
  free(by);
  /* ... but not under another name there, */
  expect(put_bytes_rc(b, "name=sqlite3.py", loader), ASSAY_ERR_PERMISSION_DENIED,
         "holds files another user uploaded");
  /* and nothing but those bytes goes into a content folder, from anyone. */
  snprintf(q, sizeof q, "name=other.py&upload_path=%s", folder);
  expect(put_bytes_rc(a, q, plant), ASSAY_ERR_CONFIG, "is a content folder");
  expect(put_bytes_rc(w, q, plant), ASSAY_ERR_CONFIG, "is a content folder");
  assert_int_equal(list_count(t->admin), 1);

  /* A folder of Alice's own choosing. */
  ok(put_bytes_rc(a, "name=x.py&upload_path=alib", "X = 1\n"));
  ok(put_bytes_rc(a, "name=y.py&upload_path=alib/pkg", "Y = 1\n"));
  ok(put_bytes_rc(a, "name=x.py&upload_path=alib", "X = 2\n")); /* her own: replaced */
  expect(put_bytes_rc(b, "name=x.py&upload_path=alib", "X = 3\n"), ASSAY_ERR_PERMISSION_DENIED,
         "assay://files/alib/x.py was uploaded by another user");
  expect(put_bytes_rc(b, "name=z.py&upload_path=alib", plant), ASSAY_ERR_PERMISSION_DENIED,
         "the folder 'alib' holds files another user uploaded");
  expect(put_bytes_rc(b, "name=__init__.py&upload_path=alib/sqlite3", plant),
         ASSAY_ERR_PERMISSION_DENIED, "the folder 'alib'");
  expect(put_bytes_rc(b, "name=z.py&upload_path=alib/pkg/deeper", plant),
         ASSAY_ERR_PERMISSION_DENIED, "the folder 'alib'");
  ok(put_bytes_rc(b, "name=z.py&upload_path=blib", "Z = 1\n")); /* his own folder */
  char *content = stored_read(t, t->ws, "alib/x.py");
  assert_string_equal(content, "X = 2\n");
  free(content);
  assert_int_equal(list_count(t->admin), 4);
  assert_int_equal(incoming(t), 0);

  /* Viewers neither upload nor delete. */
  expect(put_bytes_rc(v, "name=v.py&upload_path=vlib", "V\n"), ASSAY_ERR_PERMISSION_DENIED,
         "WORKSPACE_ROLE_MEMBER");
  expect(assay_client_delete_uploaded_file(v, "assay://files/blib/z.py"),
         ASSAY_ERR_PERMISSION_DENIED, "WORKSPACE_ROLE_MEMBER");

  /* Members delete only their own files. */
  expect(assay_client_delete_uploaded_file(b, "assay://files/alib/x.py"),
         ASSAY_ERR_PERMISSION_DENIED, "was uploaded by another user");
  expect(assay_client_delete_uploaded_file(b, "assay://files/alib"),
         ASSAY_ERR_PERMISSION_DENIED, "holds files another user uploaded");
  expect(assay_client_delete_uploaded_file(b, loc), ASSAY_ERR_PERMISSION_DENIED,
         "was uploaded by another user");
  assert_int_equal(list_count(t->admin), 4);
  assert_true(stored_exists(t, t->ws, "alib/x.py"));

  /* A workspace admin may do it all: add to Alice's folder, replace her file. */
  ok(put_bytes_rc(w, "name=admin.py&upload_path=alib", "A = 1\n"));
  ok(put_bytes_rc(w, "name=x.py&upload_path=alib", "X = 4\n"));
  by = listed_field(t->admin, "assay://files/alib/x.py", "uploaded_by");
  assert_string_equal(by, w_id);
  free(by);
  /* Now the folder holds the admin's files: Alice no longer adds to it, nor
   * deletes the admin's file, but deletes her own. */
  expect(put_bytes_rc(a, "name=new.py&upload_path=alib", "N\n"), ASSAY_ERR_PERMISSION_DENIED,
         "the folder 'alib'");
  expect(assay_client_delete_uploaded_file(a, "assay://files/alib/x.py"),
         ASSAY_ERR_PERMISSION_DENIED, NULL);
  expect(assay_client_delete_uploaded_file(a, "assay://files/alib"),
         ASSAY_ERR_PERMISSION_DENIED, NULL);
  ok(assay_client_delete_uploaded_file(a, "assay://files/alib/pkg/y.py"));
  assert_false(stored_exists(t, t->ws, "alib/pkg"));
  ok(assay_client_delete_uploaded_file(w, "assay://files/alib"));
  assert_false(stored_exists(t, t->ws, "alib"));
  /* Bob deletes his own; Alice hers (and Bob's "copy" of it goes with it). */
  ok(assay_client_delete_uploaded_file(b, "assay://files/blib"));
  ok(assay_client_delete_uploaded_file(a, loc));
  assert_int_equal(list_count(t->admin), 0);
  assert_int_equal(incoming(t), 0);

  free(local);
  free(at);
  free(bt);
  free(vt);
  free(wt);
}

/* --- raw bodies ------------------------------------------------------------------------- */

static void buffered_body(void **state) {
  target *t = *state;
  assay_value *rec = NULL;
  ok(assay_client_request(&rec, t->admin, "PUT", "/v1/files?name=b.txt&upload_path=buf",
                          "hello", 5));
  char hex[65];
  hash_hex("hello", 5, hex);
  assert_string_equal(str(rec, "location"), "assay://files/buf/b.txt");
  assert_string_equal(str(rec, "blake2b"), hex);
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), 5);
  assay_value_free(rec);

  /* Far above the server's body limit: streamed, so it passes. */
  size_t big = 5 * SERVER_MAX_BODY + 17;
  char *body = malloc(big);
  for (size_t i = 0; i < big; i++) body[i] = (char)(i * 131 + 7);
  ok(assay_client_request(&rec, t->admin, "PUT", "/v1/files?name=big.bin", body, big));
  hash_hex(body, big, hex);
  assert_string_equal(str(rec, "blake2b"), hex);
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), big);
  assay_value_free(rec);

  /* An empty file is a file. */
  ok(assay_client_request(&rec, t->admin, "PUT", "/v1/files?name=empty&upload_path=e", NULL, 0));
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), 0);
  assay_value_free(rec);
  char *local = put_local(t, "zero", "", 0);
  ok(assay_client_upload_file(&rec, t->admin, local, "e2"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), 0);
  assay_value_free(rec);

  /* A large file through the client's streaming upload. */
  char *blob = put_local(t, "blob.bin", body, big);
  ok(assay_client_upload_file(&rec, t->admin, blob, "blobs"));
  assert_string_equal(str(rec, "blake2b"), hex);
  assay_value_free(rec);
  assert_int_equal(list_count(t->admin), 5);
  assert_int_equal(incoming(t), 0);
  free(blob);
  free(local);
  free(body);
}

/* --- failures leave nothing behind ---------------------------------------------------------- */

/* The disk refusing more bytes (here a file size limit: EFBIG, handled as
 * ENOSPC is) fails the upload clearly and keeps nothing. */
static void write_failure_leaves_nothing(void **state) {
  target *t = *state;
  /* Past the limit by less than assayd's drop allowance (64 MiB): the
   * failure is answered (the rest of the body is read and dropped). A
   * longer body is hung up on: see endless_body_is_hung_up. */
  char *local = put_local(t, "huge.bin", "", 0);
  assert_int_equal(truncate(local, (off_t)40 << 20), 0);
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 1u << 20;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  assay_value *v = NULL;
  int rc = assay_client_upload_file(&v, t->admin, local, "full");
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, prev);
  expect(rc, ASSAY_ERR_STORE, "file size limit");
  assert_non_null(strstr(assay_error_last()->message, "nothing was stored"));
  assert_int_equal(list_count(t->admin), 0);
  assert_int_equal(incoming(t), 0);
  char *full = stored_path(t, t->ws, "full");
  assert_false(exists(full));
  free(full);
  /* ... and the store works on. */
  ok(assay_client_upload_file(&v, t->admin, local, "full"));
  assay_value_free(v);
  free(local);
}

/* A connection cut in the middle of a body aborts the upload: the
 * temporary file (there while the body streams in) goes away. */
static void cut_connection_leaves_nothing(void **state) {
  target *t = *state;
  char token[256] = "";
  assert_int_equal(read_admin_token(t->home, token, sizeof token), 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)assay_server_port(t->server));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "PUT /v1/files?name=cut.bin HTTP/1.1\r\nHost: localhost\r\n"
                   "Authorization: Bearer %s\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Length: 50000000\r\n\r\n",
                   token);
  assert_int_equal(write(fd, head, (size_t)n), n);
  static char chunk[256 * 1024];
  memset(chunk, 'x', sizeof chunk);
  for (int i = 0; i < 4; i++) assert_int_equal(write(fd, chunk, sizeof chunk), sizeof chunk);
  /* The body is on its way to a temporary file ... */
  int seen = 0;
  for (int i = 0; i < 500 && !seen; i++) {
    seen = incoming(t) > 0;
    if (!seen) usleep(10000);
  }
  assert_true(seen);
  close(fd); /* ... and the client goes away. */
  int gone = 0;
  for (int i = 0; i < 1000 && !gone; i++) {
    gone = incoming(t) == 0;
    if (!gone) usleep(10000);
  }
  assert_true(gone);
  assert_int_equal(list_count(t->admin), 0);
}

/* --- the router's streaming API ---------------------------------------------------------------- */

static void stream_api(void **state) {
  target *t = *state;
  assay_platform *p = NULL;
  ok(assay_platform_open(&p, t->home));
  const principal *admin = platform_admin_principal(p);
  router_request req = {0};
  req.method = "PUT";
  req.path = "/v1/files";
  req.query = "name=s.txt&upload_path=stream";
  req.principal = admin;
  assert_true(router_streams(&req));
  router_request get = req;
  get.method = "GET";
  assert_false(router_streams(&get));

  router_stream *st = NULL;
  router_response r;
  assert_int_equal(router_stream_begin(p, &req, 10, &st, &r), 0);
  assert_int_equal(router_stream_write(st, "hello", 5), 0);
  assert_int_equal(incoming(t), 1);
  router_stream_finish(st, &r); /* 5 of 10 bytes */
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(err_message(r.body), "ended after 5 of the 10 bytes"));
  router_response_clear(&r);
  assert_int_equal(incoming(t), 0);

  assert_int_equal(router_stream_begin(p, &req, -1, &st, &r), 0);
  assert_int_equal(router_stream_write(st, "abc", 3), 0);
  router_stream_abort(st);
  assert_int_equal(incoming(t), 0);
  router_stream_abort(NULL);

  assert_int_equal(router_stream_begin(p, &req, 5, &st, &r), 0);
  assert_int_equal(router_stream_write(st, "hel", 3), 0);
  assert_int_equal(router_stream_write(st, "lo", 2), 0);
  router_stream_finish(st, &r);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_string_value(json_object_get(r.body, "location")),
                      "assay://files/stream/s.txt");
  router_response_clear(&r);

  /* Refusals come before any body. */
  router_request anon = req;
  anon.principal = NULL;
  anon.token = "asy_not-a-token";
  assert_int_not_equal(router_stream_begin(p, &anon, 5, &st, &r), 0);
  assert_null(st);
  assert_int_equal(r.status, 401);
  router_response_clear(&r);
  router_request bad = req;
  bad.query = "name=..";
  assert_int_not_equal(router_stream_begin(p, &bad, 5, &st, &r), 0);
  assert_int_equal(r.status, 400);
  router_response_clear(&r);
  assert_int_not_equal(router_stream_begin(p, &get, 5, &st, &r), 0);
  router_response_clear(&r);
  /* A size over the largest upload (64 GiB by default) fails at once. */
  assert_int_not_equal(router_stream_begin(p, &req, (long long)1 << 62, &st, &r), 0);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(err_message(r.body), "limit of 68719476736 bytes (64 GiB) per file"));
  router_response_clear(&r);
  assert_int_equal(incoming(t), 0);
  assay_platform_free(p);
}

/* --- resolving locations ------------------------------------------------------------------------ */

static void resolve_and_hash(void **state) {
  target *t = *state;
  char *a = put_text(t, "lib/loader.py", "def load():\n    pass\n");
  char *b = put_text(t, "lib/util/helpers.py", "X = 1\n");
  char *lib = NULL;
  assert_true(asprintf(&lib, "%s/lib", t->tmp) > 0);
  assay_value *res = NULL;
  ok(assay_client_upload_directory(&res, t->admin, lib, 0, "code"));
  assay_value_free(res);

  assay_platform *p = NULL;
  store *s = NULL;
  ok(assay_platform_open(&p, t->home));
  ok(platform_store_acquire(p, &s));
  char *abs = NULL;
  ok(files_resolve(p, s, t->ws, "assay://files/code/lib/loader.py", &abs));
  char *want = stored_path(t, t->ws, "code/lib/loader.py");
  assert_string_equal(abs, want);
  free(abs);
  free(want);
  ok(files_resolve(p, s, t->ws, "assay://files/code/lib/", &abs));
  want = stored_path(t, t->ws, "code/lib");
  assert_string_equal(abs, want);
  free(abs);
  free(want);
  expect(files_resolve(p, s, t->ws, "assay://files/code/nope.py", &abs), ASSAY_ERR_NOT_FOUND,
         "no uploaded file at assay://files/code/nope.py");
  expect(files_resolve(p, s, t->ws, "assay://files/cod", &abs), ASSAY_ERR_NOT_FOUND, NULL);
  expect(files_resolve(p, s, "00000000-0000-0000-0000-000000000000",
                       "assay://files/code/lib/loader.py", &abs),
         ASSAY_ERR_NOT_FOUND, NULL);
  expect(files_resolve(p, s, t->ws, "s3://bucket/x", &abs), ASSAY_ERR_CONFIG, "assay://files/");
  expect(files_resolve(p, s, t->ws, "assay://files/../etc/passwd", &abs), ASSAY_ERR_CONFIG,
         "'..'");
  expect(files_resolve(p, s, t->ws, NULL, &abs), ASSAY_ERR_CONFIG, NULL);

  char h[65], dir1[65], dir2[65], want_h[65];
  const char *src = "def load():\n    pass\n";
  hash_hex(src, strlen(src), want_h);
  ok(files_content_hash(s, t->ws, "assay://files/code/lib/loader.py", h));
  assert_string_equal(h, want_h);
  ok(files_content_hash(s, t->ws, "assay://files/code/lib", dir1));
  ok(files_content_hash(s, t->ws, "assay://files/code/lib/", dir2));
  assert_string_equal(dir1, dir2);
  expect(files_content_hash(s, t->ws, "assay://files/none", h), ASSAY_ERR_NOT_FOUND, NULL);
  platform_store_release(p, s);

  /* Changing a file under the folder changes the folder's hash. */
  free(put_text(t, "lib/util/helpers.py", "X = 2\n"));
  ok(assay_client_upload_directory(&res, t->admin, lib, 0, "code"));
  assay_value_free(res);
  ok(platform_store_acquire(p, &s));
  ok(files_content_hash(s, t->ws, "assay://files/code/lib", dir2));
  assert_string_not_equal(dir1, dir2);
  ok(files_content_hash(s, t->ws, "assay://files/code/lib/loader.py", h));
  assert_string_equal(h, want_h);
  platform_store_release(p, s);
  assay_platform_free(p);
  free(lib);
  free(a);
  free(b);
}

/* --- tables of columns ------------------------------------------------------------------------ */

static void upload_columns(void **state) {
  target *t = *state;
  assay_value *cols = NULL, *rec = NULL;
  const char *json = "{\"a\": [1, 2, 3], \"b\": [\"x\", \"y,z\", null]}";
  ok(assay_value_parse(&cols, json, strlen(json)));
  ok(assay_client_upload_columns(&rec, t->admin, cols, "table", "tables"));
  assert_string_equal(str(rec, "location"), "assay://files/tables/table.csv");
  char *disk = stored_path(t, t->ws, "tables/table.csv");
  char *text = read_all(disk, NULL);
  assert_non_null(text);
  assert_memory_equal(text, "a,b\n", 4);
  assert_non_null(strstr(text, "\"y,z\""));
  free(text);
  free(disk);
  assay_value_free(rec);
  ok(assay_client_upload_columns(&rec, t->admin, cols, NULL, "tables"));
  assert_string_equal(str(rec, "location"), "assay://files/tables/data.csv");
  assay_value_free(rec);
  expect(assay_client_upload_columns(&rec, t->admin, cols, "a/b", NULL), ASSAY_ERR_CONFIG, NULL);
  expect(assay_client_upload_columns(&rec, t->admin, cols, "x", ""), ASSAY_ERR_CONFIG,
         "must not be empty");
  assay_value_free(cols);
  const char *uneven = "{\"a\": [1, 2], \"b\": [1]}";
  ok(assay_value_parse(&cols, uneven, strlen(uneven)));
  expect(assay_client_upload_columns(&rec, t->admin, cols, "x", NULL), ASSAY_ERR_CONFIG, NULL);
  assay_value_free(cols);
  assert_int_equal(list_count(t->admin), 2);
}

/* --- the HTTP transport's upload against a scripted server --------------------------------------- */

/* A one-thread server on a loopback port that answers the uploads it gets
 * as told: mode 0: the first with 503 (after reading it all), the second
 * with 201 and the BLAKE2b of the body it received; mode 1: read the
 * headers, then neither read nor answer (a stall). */
typedef struct fake_server {
  int listen_fd, port, mode;
  pthread_t thread;
  int requests;
  int stop;
  long long received; /* body bytes of the last request */
} fake_server;

/* Read the request head; the Content-Length (or -1). */
static long long read_head(int fd, char *buf, size_t size, size_t *extra, char **body) {
  size_t n = 0;
  while (n + 1 < size) {
    ssize_t r = read(fd, buf + n, size - 1 - n);
    if (r <= 0) return -1;
    n += (size_t)r;
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end) {
      *body = end + 4;
      *extra = n - (size_t)(end + 4 - buf);
      char *cl = strcasestr(buf, "Content-Length:");
      return cl ? atoll(cl + 15) : -1;
    }
  }
  return -1;
}

static void *fake_run(void *arg) {
  fake_server *f = arg;
  for (;;) {
    int c = accept(f->listen_fd, NULL, NULL);
    if (c < 0) return NULL;
    static char head[65536];
    size_t extra = 0;
    char *body = NULL;
    long long len = read_head(c, head, sizeof head, &extra, &body);
    f->requests++;
    if (f->mode == 1) { /* stall: hold the connection, read nothing */
      for (int i = 0; i < 100 && !__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE); i++)
        usleep(50000);
      close(c);
      continue;
    }
    if (strcasestr(head, "Expect: 100-continue")) {
      const char *cont = "HTTP/1.1 100 Continue\r\n\r\n";
      if (write(c, cont, strlen(cont)) < 0) break;
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (unsigned char *)body, extra);
    long long got = (long long)extra;
    static char buf[1 << 16];
    while (got < len) {
      ssize_t r = read(c, buf, sizeof buf);
      if (r <= 0) break;
      crypto_generichash_update(&h, (unsigned char *)buf, (size_t)r);
      got += r;
    }
    f->received = got;
    unsigned char d[32];
    char hex[65], answer[512];
    crypto_generichash_final(&h, d, sizeof d);
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    const char *msg = f->requests == 1
                        ? "{\"error\":{\"code\":-9,\"name\":\"UnavailableError\",\"message\":\"busy\"}}"
                        : NULL;
    char record[256];
    snprintf(record, sizeof record, "{\"location\":\"assay://files/x/y\",\"blake2b\":\"%s\"}", hex);
    const char *text = msg ? msg : record;
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 %s\r\nContent-Type: application/json\r\nRetry-After: 0\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     msg ? "503 Service Unavailable" : "201 Created", strlen(text), text);
    if (write(c, answer, (size_t)n) < 0) break;
    close(c);
  }
  return NULL;
}

static void fake_start(fake_server *f, int mode) {
  memset(f, 0, sizeof *f);
  f->mode = mode;
  f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->listen_fd, 4), 0);
  socklen_t al = sizeof a;
  getsockname(f->listen_fd, (struct sockaddr *)&a, &al);
  f->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

static void fake_stop(fake_server *f) {
  __atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
  shutdown(f->listen_fd, SHUT_RDWR);
  close(f->listen_fd);
  pthread_join(f->thread, NULL);
}

static assay_client *fake_client(const fake_server *f, double timeout) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = url;
  o.api_key = "asy_test";
  o.channel_timeout = timeout;
  o.max_retries = 2;
  assay_client *c = NULL;
  ok(assay_client_new(&c, &o));
  return c;
}

/* A 503 is retried, and the retry sends the whole file again (rewound). */
static void upload_retry_rewinds(void **state) {
  target *t = *state;
  size_t len = 3u << 20;
  char *data = malloc(len);
  for (size_t i = 0; i < len; i++) data[i] = (char)(i * 7 + (i >> 12));
  char *local = put_local(t, "retry.bin", data, len);
  char hex[65];
  hash_hex(data, len, hex);
  free(data);
  fake_server f;
  fake_start(&f, 0);
  assay_client *c = fake_client(&f, 20);
  assay_value *rec = NULL;
  ok(assay_client_upload_file(&rec, c, local, NULL));
  assert_int_equal(f.requests, 2);
  assert_int_equal(f.received, (long long)len);
  assert_string_equal(str(rec, "blake2b"), hex);
  assay_value_free(rec);
  assay_client_free(c);
  fake_stop(&f);
  free(local);
}

/* channel_timeout bounds a stall of an upload, not the whole of it. */
static void upload_stall_times_out(void **state) {
  target *t = *state;
  size_t len = 64u << 20; /* more than the socket buffers take */
  char *local = NULL;
  assert_true(asprintf(&local, "%s/stall.bin", t->tmp) > 0);
  FILE *fp = fopen(local, "wb");
  assert_non_null(fp);
  assert_int_equal(ftruncate(fileno(fp), (off_t)len), 0);
  fclose(fp);
  fake_server f;
  fake_start(&f, 1);
  assay_client *c = fake_client(&f, 1.0);
  assay_value *rec = NULL;
  time_t start = time(NULL);
  expect(assay_client_upload_file(&rec, c, local, NULL), ASSAY_ERR_TIMEOUT, "stalled");
  assert_true(time(NULL) - start <= 4);
  assay_client_free(c);
  fake_stop(&f);
  free(local);
}

/* --- limits ------------------------------------------------------------------------------- */

#define TEST_MAX_UPLOAD 100000
#define TEST_QUOTA 250000

/* Targets whose platform reads small limits (the environment is read when
 * a platform opens). */
static int setup_limited(void **state, int (*setup)(void **)) {
  setenv("ASSAY_MAX_UPLOAD_BYTES", "100000", 1);
  setenv("ASSAY_WORKSPACE_QUOTA_BYTES", "250000", 1);
  int rc = setup(state);
  unsetenv("ASSAY_MAX_UPLOAD_BYTES");
  unsetenv("ASSAY_WORKSPACE_QUOTA_BYTES");
  return rc;
}
static int setup_limited_embedded(void **state) { return setup_limited(state, setup_embedded); }
static int setup_limited_http(void **state) { return setup_limited(state, setup_http); }

static char *filled(const target *t, const char *rel, size_t len, char byte) {
  char *data = malloc(len ? len : 1);
  memset(data, byte, len);
  char *path = put_local(t, rel, data, len);
  free(data);
  return path;
}

static void upload_limits(void **state) {
  target *t = *state;
  assay_value *rec = NULL;
  char *a = filled(t, "a.bin", TEST_MAX_UPLOAD, 'a');
  char *b = filled(t, "b.bin", TEST_MAX_UPLOAD, 'b');
  char *c = filled(t, "c.bin", 90000, 'c');
  char *over = filled(t, "over.bin", TEST_MAX_UPLOAD + 1, 'o');
  char *small = filled(t, "small.bin", 60000, 's');
  char *tiny = filled(t, "tiny.bin", 10, 't');

  /* The largest upload: exactly the limit passes, one byte more does not
   * (declared: refused before the body). */
  ok(assay_client_upload_file(&rec, t->admin, a, "lim"));
  assay_value_free(rec);
  expect(assay_client_upload_file(&rec, t->admin, over, "lim"), ASSAY_ERR_PAYLOAD_TOO_LARGE,
         "limit of 100000 bytes (97.7 KiB) per file");
  char *body = calloc(1, TEST_MAX_UPLOAD + 1);
  expect(assay_client_request(&rec, t->admin, "PUT", "/v1/files?name=raw&upload_path=lim", body,
                              TEST_MAX_UPLOAD + 1),
         ASSAY_ERR_PAYLOAD_TOO_LARGE, "limit of 100000 bytes");
  expect(assay_client_request(&rec, t->admin, "PUT", "/v1/files?name=raw", body,
                              TEST_MAX_UPLOAD + 1),
         ASSAY_ERR_PAYLOAD_TOO_LARGE, "limit of 100000 bytes");
  free(body);
  assert_int_equal(list_count(t->admin), 1);

  /* The workspace's quota: 100000 + 60000 + 90000 fill its 250000. */
  ok(assay_client_upload_file(&rec, t->admin, small, NULL));
  assay_value_free(rec);
  ok(assay_client_upload_file(&rec, t->admin, c, "lim2"));
  assay_value_free(rec);
  expect(assay_client_upload_file(&rec, t->admin, b, "lim"), ASSAY_ERR_PAYLOAD_TOO_LARGE,
         "the workspace's quota of 250000 bytes (244.1 KiB)");
  assert_non_null(strstr(assay_error_last()->message, "take 250000 bytes"));
  expect(assay_client_upload_file(&rec, t->admin, tiny, NULL), ASSAY_ERR_PAYLOAD_TOO_LARGE,
         "quota of 250000 bytes");
  /* Bytes stored already take no room: the same upload again passes. */
  ok(assay_client_upload_file(&rec, t->admin, small, NULL));
  assay_value_free(rec);
  /* Replacing a file counts its new size instead of its old one. */
  free(filled(t, "a.bin", TEST_MAX_UPLOAD, 'z'));
  ok(assay_client_upload_file(&rec, t->admin, a, "lim"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(rec, "size")), TEST_MAX_UPLOAD);
  assay_value_free(rec);
  /* Deleting makes room. */
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/lim/a.bin"));
  ok(assay_client_upload_file(&rec, t->admin, b, "lim"));
  assay_value_free(rec);
  assert_int_equal(list_count(t->admin), 3);
  assert_int_equal(incoming(t), 0);
  free(a);
  free(b);
  free(c);
  free(over);
  free(small);
  free(tiny);
}

/* Limits through the router's streaming API: a body of unknown size
 * stopped when it passes the largest upload, the free space to keep, and
 * bad settings. */
static void stream_limits(void **state) {
  target *t = *state;
  assay_platform *p = NULL;
  router_stream *st = NULL;
  router_response r;
  static char piece[60000];
  memset(piece, 'p', sizeof piece);
  setenv("ASSAY_MAX_UPLOAD_BYTES", "100000", 1);
  ok(assay_platform_open(&p, t->home));
  unsetenv("ASSAY_MAX_UPLOAD_BYTES");
  router_request req = {0};
  req.method = "PUT";
  req.path = "/v1/files";
  req.query = "name=s.bin&upload_path=stream";
  req.principal = platform_admin_principal(p);
  assert_int_equal(router_stream_begin(p, &req, -1, &st, &r), 0);
  assert_int_equal(router_stream_write(st, piece, sizeof piece), 0);
  assert_int_equal(incoming(t), 1);
  assert_int_not_equal(router_stream_write(st, piece, sizeof piece), 0);
  assert_int_equal(incoming(t), 0); /* dropped at once */
  assert_int_not_equal(router_stream_write(st, piece, 1), 0);
  router_stream_finish(st, &r);
  assert_int_equal(r.status, 413);
  assert_string_equal(err_name(r.body), "PayloadTooLargeError");
  assert_non_null(strstr(err_message(r.body), "limit of 100000 bytes"));
  router_response_clear(&r);
  assay_platform_free(p);

  /* Free space to keep: more than any disk has. */
  setenv("ASSAY_MIN_FREE_BYTES", "1152921504606846976", 1);
  ok(assay_platform_open(&p, t->home));
  unsetenv("ASSAY_MIN_FREE_BYTES");
  req.principal = platform_admin_principal(p);
  assert_int_not_equal(router_stream_begin(p, &req, 10, &st, &r), 0);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(err_message(r.body), "would leave less than 1152921504606846976 bytes"));
  router_response_clear(&r);
  assert_int_equal(router_stream_begin(p, &req, -1, &st, &r), 0); /* size unknown ... */
  assert_int_not_equal(router_stream_write(st, "x", 1), 0);        /* ... the first write */
  router_stream_finish(st, &r);
  assert_int_equal(r.status, 413);
  assert_non_null(strstr(err_message(r.body), "free on the server's disk"));
  router_response_clear(&r);
  assay_platform_free(p);
  assert_int_equal(incoming(t), 0);
  assert_int_equal(list_count(t->admin), 0);

  /* Settings that are not numbers of bytes. */
  static const struct {
    const char *name, *value;
  } bad[] = {{"ASSAY_MAX_UPLOAD_BYTES", "12MB"},
             {"ASSAY_MAX_UPLOAD_BYTES", "0"},
             {"ASSAY_WORKSPACE_QUOTA_BYTES", "-1"},
             {"ASSAY_MIN_FREE_BYTES", "lots"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv(bad[i].name, bad[i].value, 1);
    int rc = assay_platform_open(&p, t->home);
    unsetenv(bad[i].name);
    expect(rc, ASSAY_ERR_CONFIG, bad[i].name);
  }
}

/* Over HTTP, a body of unknown length that passes the limit is read on
 * for at most 64 MiB more, then the connection is closed. */
static void endless_body_is_hung_up(void **state) {
  target *t = *state;
  char token[256] = "";
  assert_int_equal(read_admin_token(t->home, token, sizeof token), 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)assay_server_port(t->server));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "PUT /v1/files?name=endless.bin&upload_path=e HTTP/1.1\r\nHost: localhost\r\n"
                   "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                   token);
  assert_int_equal(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
  static char chunk[8 + 256 * 1024 + 2];
  memcpy(chunk, "40000\r\n", 7);
  memset(chunk + 7, 'e', 256 * 1024);
  memcpy(chunk + 7 + 256 * 1024, "\r\n", 2);
  size_t len = 7 + 256 * 1024 + 2;
  long long sent = 0, cap = 400LL << 20;
  while (sent < cap) {
    ssize_t w = send(fd, chunk, len, MSG_NOSIGNAL);
    if (w <= 0) break;
    sent += w;
  }
  close(fd);
  if (sent >= cap) fail_msg("the server read %lld bytes of an endless body", sent);
  assert_true(sent > (64LL << 20)); /* it did read the allowance */
  int gone = 0;
  for (int i = 0; i < 500 && !gone; i++) {
    gone = incoming(t) == 0;
    if (!gone) usleep(10000);
  }
  assert_true(gone);
  assert_int_equal(list_count(t->admin), 0);
}

/* --- symbolic links in the store ---------------------------------------------------------- */

/* Replace <path> (a file or folder) by a symbolic link to target. */
static void plant_link(const char *path, const char *target_path) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(symlink(target_path, path), 0);
}

static void symlinks_are_not_followed(void **state) {
  target *t = *state;
  assay_value *w2 = NULL, *v = NULL;
  ok(assay_client_create_workspace(&w2, t->admin, "others"));
  char ws2[64], oid[64];
  snprintf(ws2, sizeof ws2, "%s", str(w2, "workspace_id"));
  assay_value_free(w2);
  char *ot = person(t, ws2, "oth", "member", oid);
  assay_client *other = open_as(t, ot);
  ok(put_bytes_rc(other, "name=secret.csv&upload_path=victim", "their,secret\n"));
  ok(put_bytes_rc(t->admin, "name=secret.csv&upload_path=link", "mine\n"));
  ok(put_bytes_rc(t->admin, "name=other.csv&upload_path=link", "mine too\n"));
  ok(put_bytes_rc(t->admin, "name=f.csv&upload_path=leaf", "leaf\n"));
  ok(put_bytes_rc(t->admin, "name=f.csv&upload_path=deep/a", "deep\n"));

  /* Links planted on disk into the other workspace's files. */
  char *victim = stored_path(t, ws2, "victim");
  char *secret = stored_path(t, ws2, "victim/secret.csv");
  char *p1 = stored_path(t, t->ws, "link"), *p2 = stored_path(t, t->ws, "leaf/f.csv"),
       *p3 = stored_path(t, t->ws, "deep/a");
  plant_link(p1, victim);
  plant_link(p2, secret);
  plant_link(p3, victim);

  /* Resolving does not go through them. */
  assay_platform *p = NULL;
  store *s = NULL;
  char *abs = NULL;
  ok(assay_platform_open(&p, t->home));
  ok(platform_store_acquire(p, &s));
  expect(files_resolve(p, s, t->ws, "assay://files/link/secret.csv", &abs), ASSAY_ERR_NOT_FOUND,
         "symbolic link");
  expect(files_resolve(p, s, t->ws, "assay://files/link", &abs), ASSAY_ERR_NOT_FOUND,
         "missing from the server's disk");
  expect(files_resolve(p, s, t->ws, "assay://files/leaf/f.csv", &abs), ASSAY_ERR_NOT_FOUND,
         NULL);
  expect(files_resolve(p, s, t->ws, "assay://files/deep/a/f.csv", &abs), ASSAY_ERR_NOT_FOUND,
         NULL);
  expect(files_resolve(p, s, t->ws, "assay://files/deep/a", &abs), ASSAY_ERR_NOT_FOUND, NULL);
  assert_null(abs);
  platform_store_release(p, s);
  assay_platform_free(p);

  /* Uploading does not write through them. */
  expect(assay_client_request(&v, t->admin, "PUT", "/v1/files?name=new.csv&upload_path=link",
                              "x\n", 2),
         ASSAY_ERR_STORE, "'link' in the workspace's files is a symbolic link");
  expect(assay_client_request(&v, t->admin, "PUT", "/v1/files?name=secret.csv&upload_path=link",
                              "x\n", 2),
         ASSAY_ERR_STORE, "symbolic link");
  expect(assay_client_request(&v, t->admin, "PUT", "/v1/files?name=g.csv&upload_path=deep/a/b",
                              "x\n", 2),
         ASSAY_ERR_STORE, "'deep/a' in the workspace's files is a symbolic link");
  assert_false(stored_exists(t, ws2, "victim/new.csv"));
  assert_false(stored_exists(t, ws2, "victim/b"));
  /* A link in the file's own place is replaced, not written through. */
  ok(put_bytes_rc(t->admin, "name=f.csv&upload_path=leaf", "leaf again\n"));
  struct stat st;
  assert_int_equal(lstat(p2, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  char *text = read_all(secret, NULL);
  assert_string_equal(text, "their,secret\n");
  free(text);

  /* Deleting does not go through them either. */
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/link/secret.csv"));
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/link"));
  assert_false(exists(p1)); /* the link itself is gone ... */
  ok(assay_client_delete_uploaded_file(t->admin, "assay://files/deep"));
  assert_false(stored_exists(t, t->ws, "deep"));
  assert_true(exists(secret)); /* ... what it pointed to is not */
  text = read_all(secret, NULL);
  assert_string_equal(text, "their,secret\n");
  free(text);
  assert_int_equal(list_count(other), 1);
  assert_int_equal(list_count(t->admin), 1); /* leaf/f.csv */
  free(victim);
  free(secret);
  free(p1);
  free(p2);
  free(p3);
  free(ot);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(round_trip, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(round_trip, setup_http, teardown),
    cmocka_unit_test_setup_teardown(bad_paths_are_refused, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(bad_paths_are_refused, setup_http, teardown),
    cmocka_unit_test_setup_teardown(conflicts, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(conflicts, setup_http, teardown),
    cmocka_unit_test_setup_teardown(directory_upload, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(directory_upload, setup_http, teardown),
    cmocka_unit_test_setup_teardown(roles_and_workspaces, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(roles_and_workspaces, setup_http, teardown),
    cmocka_unit_test_setup_teardown(buffered_body, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(buffered_body, setup_http, teardown),
    cmocka_unit_test_setup_teardown(write_failure_leaves_nothing, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(write_failure_leaves_nothing, setup_http, teardown),
    cmocka_unit_test_setup_teardown(cut_connection_leaves_nothing, setup_http, teardown),
    cmocka_unit_test_setup_teardown(upload_retry_rewinds, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(upload_stall_times_out, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(stream_api, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(resolve_and_hash, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(upload_columns, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(upload_columns, setup_http, teardown),
    cmocka_unit_test_setup_teardown(ownership, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(ownership, setup_http, teardown),
    cmocka_unit_test_setup_teardown(upload_limits, setup_limited_embedded, teardown),
    cmocka_unit_test_setup_teardown(upload_limits, setup_limited_http, teardown),
    cmocka_unit_test_setup_teardown(stream_limits, setup_embedded, teardown),
    cmocka_unit_test_setup_teardown(endless_body_is_hung_up, setup_limited_http, teardown),
    cmocka_unit_test_setup_teardown(symlinks_are_not_followed, setup_embedded, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
