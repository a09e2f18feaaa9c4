/* test_store.c — the SQLite store: migrations, records, uniqueness, and
 * concurrent writers (threads and processes) losing nothing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "store/store.h"
#include "test_support.h"

typedef struct fixture {
  char *home;
  char *db;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  if (asprintf(&f->db, "%s/assay.db", f->home) < 0) return -1;
  *state = f;
  return assay_init();
}

static int teardown(void **state) {
  fixture *f = *state;
  rm_home(f->home);
  free(f->db);
  free(f);
  assay_shutdown();
  return 0;
}

/* A workspace and a user to hang projects on. */
static void seed(store *s) {
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->user_insert(s, "u1", "alice", NULL, 0, 1), ASSAY_OK);
  assert_int_equal(s->ops->workspace_insert(s, "w1", "ws", 1), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
}

static json_t *project(const char *id, const char *name) {
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:i}, s:I}", "project_id", id,
                   "workspace_id", "w1", "name", name, "description", "d", "model_task",
                   "MODEL_TASK_REGRESSION", "owner_id", "u1", "general_access_role",
                   "ACTOR_ROLE_NONE", "run_time_info", "random_seed", 7, "created_at_secs",
                   (json_int_t)1700000000);
}

static int insert(store *s, const char *id, const char *name) {
  json_t *p = project(id, name);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->project_insert(s, p);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  json_decref(p);
  return rc;
}

static void migrates_once_and_reports_version(void **state) {
  fixture *f = *state;
  store *s;
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  int v = 0;
  assert_int_equal(s->ops->schema_version(s, &v), ASSAY_OK);
  assert_true(v >= 1);
  s->ops->close(s);
  /* reopening keeps the version and the data */
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  int v2 = 0;
  assert_int_equal(s->ops->schema_version(s, &v2), ASSAY_OK);
  assert_int_equal(v, v2);
  s->ops->close(s);

  /* WAL and foreign keys are on */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  /* a database from a newer assay is refused with a clear message */
  sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL);
  sqlite3_close(db);
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_ERR_STORE);
  assert_non_null(strstr(assay_error_last()->message, "upgrade assay"));
}

static void projects_round_trip(void **state) {
  fixture *f = *state;
  store *s;
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  seed(s);
  assert_int_equal(insert(s, "p1", "alpha"), ASSAY_OK);
  assert_int_equal(insert(s, "p2", "beta"), ASSAY_OK);
  assert_int_equal(insert(s, "p3", "alpha"), ASSAY_ERR_CONFLICT);
  assert_non_null(strstr(assay_error_last()->message, "already exists"));

  json_t *p = NULL;
  assert_int_equal(s->ops->project_get(s, "w1", "p1", &p), ASSAY_OK);
  assert_string_equal(json_string_value(json_object_get(p, "name")), "alpha");
  assert_string_equal(json_string_value(json_object_get(p, "created_at")), "2023-11-14T22:13:20Z");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "run_time_info"),
                                                      "random_seed")), 7);
  assert_true(json_is_null(json_object_get(p, "use_case")));
  json_decref(p);
  /* another workspace does not see it */
  assert_int_equal(s->ops->project_get(s, "w2", "p1", &p), ASSAY_ERR_NOT_FOUND);

  json_t *list = NULL;
  assert_int_equal(s->ops->project_list(s, "w1", &list), ASSAY_OK);
  assert_int_equal(json_array_size(list), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "project_id")), "p1");
  json_decref(list);

  int64_t n = -1;
  assert_int_equal(s->ops->project_child_count(s, "p1", &n), ASSAY_OK);
  assert_int_equal(n, 0);
  assert_int_equal(s->ops->project_delete(s, "w1", "p1"), ASSAY_OK);
  assert_int_equal(s->ops->project_delete(s, "w1", "p1"), ASSAY_ERR_NOT_FOUND);
  s->ops->close(s);
}

static void tokens_by_hash(void **state) {
  fixture *f = *state;
  store *s;
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  seed(s);
  unsigned char h[32], other[32];
  memset(h, 7, sizeof h);
  memset(other, 8, sizeof other);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->token_insert(s, "t1", "u1", "w1", "ci", h, 10, 20), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  token_row row;
  assert_int_equal(s->ops->token_lookup(s, h, &row), ASSAY_OK);
  assert_string_equal(row.id, "t1");
  assert_string_equal(row.user_id, "u1");
  assert_int_equal(row.expires_at, 20);
  assert_int_equal(row.revoked_at, 0);
  assert_int_equal(s->ops->token_lookup(s, other, &row), ASSAY_ERR_NOT_FOUND);
  /* a token for a user that does not exist violates the foreign key */
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->token_insert(s, "t2", "nobody", "w1", "x", other, 1, 0),
                   ASSAY_ERR_CONFLICT);
  s->ops->rollback(s);
  s->ops->close(s);
}

/* --- concurrency --------------------------------------------------------- */

typedef struct writer {
  const char *db;
  int index;
  int failures;
} writer;

#define PER_WRITER 40

static void *write_many(void *arg) {
  writer *w = arg;
  store *s;
  if (store_sqlite_open(&s, w->db) != ASSAY_OK) {
    w->failures = PER_WRITER;
    return NULL;
  }
  for (int i = 0; i < PER_WRITER; i++) {
    char id[64], name[64];
    snprintf(id, sizeof id, "w%d-%d", w->index, i);
    snprintf(name, sizeof name, "project %d/%d", w->index, i);
    if (insert(s, id, name) != ASSAY_OK) {
      fprintf(stderr, "writer %d: %s\n", w->index, assay_error_last()->message);
      w->failures++;
    }
  }
  s->ops->close(s);
  return NULL;
}

static int64_t count_projects(const char *db) {
  store *s;
  json_t *list = NULL;
  if (store_sqlite_open(&s, db) != ASSAY_OK) return -1;
  int rc = s->ops->project_list(s, "w1", &list);
  s->ops->close(s);
  int64_t n = rc ? -1 : (int64_t)json_array_size(list);
  json_decref(list);
  return n;
}

static void concurrent_threads_lose_nothing(void **state) {
  fixture *f = *state;
  store *s;
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  seed(s);
  s->ops->close(s);
  enum { N = 6 };
  pthread_t t[N];
  writer w[N];
  for (int i = 0; i < N; i++) {
    w[i] = (writer){f->db, i, 0};
    pthread_create(&t[i], NULL, write_many, &w[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  assert_int_equal(count_projects(f->db), N * PER_WRITER);
}

static void concurrent_processes_lose_nothing(void **state) {
  fixture *f = *state;
  store *s;
  assert_int_equal(store_sqlite_open(&s, f->db), ASSAY_OK);
  seed(s);
  s->ops->close(s);
  enum { N = 4 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      writer w = {f->db, 100 + i, 0};
      write_many(&w);
      _exit(w.failures == 0 ? 0 : 1);
    }
  }
  for (int i = 0; i < N; i++) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  assert_int_equal(count_projects(f->db), N * PER_WRITER);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(migrates_once_and_reports_version, setup, teardown),
    cmocka_unit_test_setup_teardown(projects_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(tokens_by_hash, setup, teardown),
    cmocka_unit_test_setup_teardown(concurrent_threads_lose_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(concurrent_processes_lose_nothing, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
