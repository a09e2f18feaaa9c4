/* test_predict.c — model_predict on a temporary home with uploaded model
 * files: binary predict_df (values checked row by row, the model sees only
 * the model's columns with pandas dtypes), multiclass (n, k) with k given
 * or taken from the output, regression, predict_dict (a folder model
 * importing a module beside it), model_loading with params (an object, a
 * function, predict_dict; integration_dict passed and its secrets
 * redacted; an output column the model's process named after a secret is
 * reported by position, the name kept out of the error), batches (the
 * model sees batch_size rows at a time; results equal one batch's), output
 * checks (shapes, lengths, non-numbers, None,
 * probabilities outside [0, 1], NaN as null), exceptions (in predict_df,
 * in predict_dict naming the row, at import, syntax errors, in the load
 * function), missing functions, configs that cannot run (hugging_face, no
 * model_info, a folder without model.py, a file that is not Python, a
 * task without predictions), no rows, the time and memory limits, no
 * Landlock (refused unless allowed; the log says so), cancellation (before
 * and during the run), and the scratch folder removed every time. */
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay/server.h"
#include "engine/predict.h"
#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

typedef struct fixture {
  char *home;
  assay_platform *p;
  char token[128];
  char ws[37];
  char user[37];
} fixture;

static int open_fixture(void **state, double timeout, long long memory) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = 0;
  o.loader_timeout = timeout;
  o.loader_memory_bytes = memory;
  if (assay_platform_open_with(&f->p, &o) != ASSAY_OK) {
    fprintf(stderr, "open: %s\n", assay_error_last()->message);
    return -1;
  }
  if (read_admin_token(f->home, f->token, sizeof f->token) != 0) return -1;
  const principal *admin = platform_admin_principal(f->p);
  snprintf(f->ws, sizeof f->ws, "%s", admin->workspace_id);
  snprintf(f->user, sizeof f->user, "%s", admin->user_id);
  *state = f;
  return 0;
}

static int setup(void **state) { return open_fixture(state, 60, 0); }
/* 2 s for the model */
static int setup_short(void **state) { return open_fixture(state, 2, 0); }
/* 300 MiB for the model */
static int setup_small(void **state) { return open_fixture(state, 60, 300LL << 20); }
/* As if the kernel had no Landlock */
static int setup_no_landlock(void **state) {
  setenv("ASSAY_TEST_RUNNER_SANDBOX", "no-landlock", 1);
  int rc = open_fixture(state, 60, 0);
  unsetenv("ASSAY_TEST_RUNNER_SANDBOX");
  return rc;
}

static int teardown(void **state) {
  fixture *f = *state;
  assay_platform_free(f->p);
  rm_home(f->home);
  free(f);
  return 0;
}

/* Upload text as <folder>/<name>; its location (caller frees). */
static char *upload(fixture *f, const char *folder, const char *name, const char *text) {
  char query[512];
  snprintf(query, sizeof query, "name=%s&upload_path=%s", name, folder);
  router_request req = {"PUT", "/v1/files", query, f->token, NULL, text, strlen(text), 0};
  router_response r;
  router_handle(f->p, &req, &r);
  if (r.status != 201) {
    char *t = json_dumps(r.body, 0);
    fprintf(stderr, "upload %s: %d %s\n", name, r.status, t ? t : "");
    free(t);
  }
  assert_int_equal(r.status, 201);
  char *loc = strdup(json_string_value(json_object_get(r.body, "location")));
  router_response_clear(&r);
  return loc;
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fprintf(stderr, "bad JSON in test: %s: %s\n", e.text, text);
  assert_non_null(j);
  return j;
}

static json_t *path_info(const char *loc) {
  return json_pack("{s:{s:s}}", "model_path", "path", loc);
}

/* n rows: x = i / n, k = i % 3 (int), name = "r<i%2>" (string), label,
 * pred_score, ts (roles the model must not see). */
static frame *make_frame(int64_t n) {
  json_t *x = json_array(), *k = json_array(), *name = json_array(), *label = json_array(),
         *pred = json_array(), *ts = json_array(), *drop = json_array();
  for (int64_t i = 0; i < n; i++) {
    json_array_append_new(x, json_real((double)i / (double)n));
    json_array_append_new(k, json_integer(i % 3));
    json_array_append_new(name, json_string(i % 2 ? "r1" : "r0"));
    json_array_append_new(label, json_integer(i % 2));
    json_array_append_new(pred, json_real(0.5));
    json_array_append_new(ts, json_integer(1000 + i));
    json_array_append_new(drop, json_integer(7));
  }
  json_t *t = json_object();
  json_object_set_new(t, "x", x);
  json_object_set_new(t, "k", k);
  json_object_set_new(t, "label", label);
  json_object_set_new(t, "name", name);
  json_object_set_new(t, "pred_score", pred);
  json_object_set_new(t, "ts", ts);
  json_object_set_new(t, "drop_me", drop);
  frame *fr = NULL;
  assert_int_equal(frame_from_json(&fr, t), ASSAY_OK);
  json_decref(t);
  return fr;
}

static const char *PARAMS =
    "{\"label_col\": \"label\", \"pred_col\": \"pred_score\", \"timestamp_col\": \"ts\", "
    "\"features_not_in_model\": [\"drop_me\"]}";

typedef struct run_opts {
  const char *task;
  int32_t nclasses;
  int64_t batch;
  const char *integration_id;
  const int *cancel;
} run_opts;

static int predict_with(fixture *f, const json_t *info, const frame *data, const run_opts *o,
                        frame **out) {
  json_t *params = parse(PARAMS);
  predict_request req = {.workspace_id = f->ws,
                         .user_id = f->user,
                         .model_info = info,
                         .integration_id = o->integration_id,
                         .model_task = o->task ? o->task : "MODEL_TASK_BINARY_CLASSIFICATION",
                         .nclasses = o->nclasses,
                         .data_params = params,
                         .batch_size = o->batch,
                         .cancel = o->cancel};
  int rc = model_predict(f->p, &req, data, out);
  json_decref(params);
  return rc;
}

static int predict(fixture *f, const json_t *info, const frame *data, const char *task,
                   int32_t k, int64_t batch, frame **out) {
  run_opts o = {task, k, batch, NULL, NULL};
  return predict_with(f, info, data, &o, out);
}

static const char *last_message(void) {
  const assay_error *e = assay_error_last();
  return e && e->message ? e->message : "";
}

/* Expect failure `code` with a message containing `needle`. */
static void expect_error(int rc, int code, const char *needle) {
  if (rc != code || !strstr(last_message(), needle))
    fprintf(stderr, "expected %d with '%s'; got %d: %s\n", code, needle, rc, last_message());
  assert_int_equal(rc, code);
  assert_non_null(strstr(last_message(), needle));
}

static double value_at(const frame *fr, int col, int64_t i) {
  const column *c = &fr->cols[col];
  assert_int_equal(c->type, COL_FLOAT64);
  return col_valid(c, i) ? ((const double *)c->values)[i] : NAN;
}

/* <home>/scratch holds nothing (every run removed its folder). */
static void assert_scratch_empty(fixture *f) {
  char *dir = NULL;
  assert_true(asprintf(&dir, "%s/scratch", f->home) > 0);
  DIR *d = opendir(dir);
  free(dir);
  if (!d) return;
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  assert_int_equal(n, 0);
}

/* --- binary, the model's view of the data --------------------------------------------- */

static void binary_predict_df(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "bin", "model.py",
                     "import numpy as np\n"
                     "def predict_df(df):\n"
                     "    assert list(df.columns) == ['x', 'k', 'name'], list(df.columns)\n"
                     "    return 1.0 / (1.0 + np.exp(-(df['x'].to_numpy() * 4 - 2 + df['k'])))\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(50), *out = NULL;
  int rc = predict(f, info, data, NULL, 0, 0, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  assert_int_equal(out->rows, 50);
  assert_int_equal(out->ncols, 1);
  assert_string_equal(out->cols[0].name, "prediction");
  for (int64_t i = 0; i < 50; i++) {
    double want = 1.0 / (1.0 + exp(-((double)i / 50.0 * 4 - 2 + (double)(i % 3))));
    assert_true(fabs(value_at(out, 0, i) - want) < 1e-12);
  }
  frame_free(out);
  assert_scratch_empty(f);
  /* (n, 2): column 1 taken; (n, 1) too */
  char *loc2 = upload(f, "bin2", "m.py",
                      "import numpy as np\n"
                      "def predict_df(df):\n"
                      "    p = df['x'].to_numpy()\n"
                      "    return np.stack([1 - p, p], axis=1)\n");
  json_t *info2 = path_info(loc2);
  assert_int_equal(predict(f, info2, data, NULL, 0, 0, &out), ASSAY_OK);
  for (int64_t i = 0; i < 50; i++) assert_true(value_at(out, 0, i) == (double)i / 50.0);
  frame_free(out);
  char *loc3 = upload(f, "bin3", "m.py",
                      "import pandas as pd\n"
                      "def predict_df(df):\n"
                      "    return pd.DataFrame({'p': df['x']})\n");
  json_t *info3 = path_info(loc3);
  assert_int_equal(predict(f, info3, data, NULL, 0, 0, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 49) == 49.0 / 50.0);
  frame_free(out);
  frame_free(data);
  json_decref(info);
  json_decref(info2);
  json_decref(info3);
  free(loc);
  free(loc2);
  free(loc3);
}

/* The DataFrame's dtypes and nulls as pandas gives them for a CSV. */
static void input_dtypes(void **state) {
  fixture *f = *state;
  char *csv = NULL;
  assert_true(asprintf(&csv, "%s/in.csv", f->home) > 0);
  FILE *fp = fopen(csv, "w");
  assert_non_null(fp);
  fputs("f,i,in,b,bn,s,t,label\n"
        "1.5,1,1,True,True,a,2024-01-01T00:00:00Z,1\n"
        ",2,,False,,,2024-01-02T12:00:00Z,0\n"
        "-inf,3,3,True,False,c,,1\n",
        fp);
  fclose(fp);
  frame *data = NULL;
  csv_options co = CSV_OPTIONS_INIT;
  assert_int_equal(csv_read(&data, csv, &co), ASSAY_OK);
  char *loc = upload(f, "types", "model.py",
                     "import numpy as np, pandas as pd\n"
                     "def predict_df(df):\n"
                     "    d = df.dtypes\n"
                     "    assert list(df.columns) == ['f','i','in','b','bn','s','t'], df.columns\n"
                     "    assert d['f'] == np.float64 and np.isnan(df['f'][1]) and df['f'][2] == -np.inf\n"
                     "    assert d['i'] == np.int64 and df['i'].tolist() == [1, 2, 3]\n"
                     "    assert d['in'] == np.float64 and np.isnan(df['in'][1])\n"
                     "    assert d['b'] == bool and df['b'].tolist() == [True, False, True]\n"
                     "    assert d['bn'] == object, d['bn']\n"
                     "    assert df['bn'][0] is True and pd.isna(df['bn'][1]) and df['bn'][2] is False\n"
                     "    assert d['s'] == pd.Series(['a']).dtype, d['s']\n"
                     "    assert df['s'][0] == 'a' and pd.isna(df['s'][1]) and df['s'][2] == 'c'\n"
                     "    assert str(d['t']) == 'datetime64[ns]', d['t']\n"
                     "    assert df['t'][1] == pd.Timestamp('2024-01-02 12:00:00') and pd.isna(df['t'][2])\n"
                     "    df.loc[0, 'f'] = 99.0  # writable, changes nothing outside\n"
                     "    return np.full(len(df), 0.25)\n");
  json_t *info = path_info(loc);
  frame *out = NULL;
  json_t *params = parse("{\"label_col\": \"label\"}");
  predict_request req = {.workspace_id = f->ws, .user_id = f->user, .model_info = info,
                         .model_task = "MODEL_TASK_BINARY_CLASSIFICATION",
                         .data_params = params};
  int rc = model_predict(f->p, &req, data, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  assert_int_equal(out->rows, 3);
  assert_true(value_at(out, 0, 2) == 0.25);
  assert_true(((const double *)frame_col(data, "f")->values)[0] == 1.5);
  frame_free(out);
  /* predict_dict: Python values, None for nulls */
  char *loc2 = upload(f, "types2", "model.py",
                      "import datetime\n"
                      "def predict_dict(row):\n"
                      "    assert set(row) == {'f','i','in','b','bn','s','t'}, row\n"
                      "    if row['i'] == 2:\n"
                      "        assert row['f'] is None and row['in'] is None and row['bn'] is None\n"
                      "        assert row['s'] is None and row['b'] is False, row\n"
                      "        assert row['t'].year == 2024 and row['t'].hour == 12, row\n"
                      "    if row['i'] == 1:\n"
                      "        assert row['f'] == 1.5 and row['in'] == 1.0 and row['s'] == 'a', row\n"
                      "        assert type(row['i']) is int and row['b'] is True, row\n"
                      "    if row['i'] == 3:\n"
                      "        assert row['t'] is None, row\n"
                      "    return row['i'] / 10\n");
  json_t *info2 = path_info(loc2);
  req.model_info = info2;
  rc = model_predict(f->p, &req, data, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  assert_true(value_at(out, 0, 0) == 0.1 && value_at(out, 0, 2) == 0.3);
  frame_free(out);
  json_decref(params);
  json_decref(info);
  json_decref(info2);
  frame_free(data);
  free(loc);
  free(loc2);
  free(csv);
}

/* --- multiclass and regression ----------------------------------------------------- */

static const char *MULTI =
    "import numpy as np\n"
    "def predict_df(df):\n"
    "    k = df['k'].to_numpy()\n"
    "    p = np.full((len(df), 3), 0.1)\n"
    "    p[np.arange(len(df)), k] = 0.8\n"
    "    return p\n";

static void multiclass(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "multi", "model.py", MULTI);
  json_t *info = path_info(loc);
  frame *data = make_frame(30), *out = NULL;
  const char *task = "MODEL_TASK_MULTICLASS_CLASSIFICATION";
  for (int32_t k = 0; k <= 3; k += 3) { /* given, and from the output */
    assert_int_equal(predict(f, info, data, task, k, 0, &out), ASSAY_OK);
    assert_int_equal(out->rows, 30);
    assert_int_equal(out->ncols, 3);
    assert_string_equal(out->cols[0].name, "proba_0");
    assert_string_equal(out->cols[2].name, "proba_2");
    for (int64_t i = 0; i < 30; i++)
      for (int j = 0; j < 3; j++)
        assert_true(value_at(out, j, i) == (j == i % 3 ? 0.8 : 0.1));
    frame_free(out);
  }
  /* k given and the model disagrees */
  int rc = predict(f, info, data, task, 4, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA,
               "model function 'predict_df' returned shape (30, 3) for 30 rows; expected "
               "(30, 4) (one probability per class) for multiclass classification with 4 "
               "classes");
  /* k from the first batch, and a later batch disagrees */
  char *loc2 = upload(f, "multi2", "model.py",
                      "import numpy as np\n"
                      "def predict_df(df):\n"
                      "    k = 3 if df.index[0] == 0 else 4\n"
                      "    return np.full((len(df), k), 1.0 / k)\n");
  json_t *info2 = path_info(loc2);
  rc = predict(f, info2, data, task, 0, 10, &out);
  expect_error(rc, ASSAY_ERR_DATA, "returned shape (10, 4) for 10 rows; expected (10, 3)");
  /* a vector is not multiclass output */
  char *loc3 = upload(f, "multi3", "model.py",
                      "def predict_df(df):\n    return df['x']\n");
  json_t *info3 = path_info(loc3);
  rc = predict(f, info3, data, task, 3, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "returned shape (30,) for 30 rows; expected (30, 3)");
  json_decref(info);
  json_decref(info2);
  json_decref(info3);
  frame_free(data);
  free(loc);
  free(loc2);
  free(loc3);
  assert_scratch_empty(f);
}

static void regression(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "reg", "model.py",
                     "def predict_df(df):\n"
                     "    return (df['x'] * 100 - 7).to_numpy().reshape(-1, 1)\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(40), *out = NULL;
  assert_int_equal(predict(f, info, data, "MODEL_TASK_REGRESSION", 0, 0, &out), ASSAY_OK);
  assert_int_equal(out->ncols, 1);
  for (int64_t i = 0; i < 40; i++)
    assert_true(fabs(value_at(out, 0, i) - ((double)i / 40.0 * 100 - 7)) < 1e-12);
  frame_free(out);
  /* probabilities are not checked for regression: any value goes; NaN is null */
  char *loc2 = upload(f, "reg2", "model.py",
                      "import numpy as np\n"
                      "def predict_df(df):\n"
                      "    v = np.full(len(df), 1e6)\n"
                      "    v[3] = np.nan\n"
                      "    v[4] = -np.inf\n"
                      "    return list(v)\n");
  json_t *info2 = path_info(loc2);
  assert_int_equal(predict(f, info2, data, "MODEL_TASK_REGRESSION", 0, 0, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 0) == 1e6);
  assert_true(isnan(value_at(out, 0, 3)));
  assert_int_equal(out->cols[0].null_count, 1);
  assert_true(isinf(value_at(out, 0, 4)));
  frame_free(out);
  /* (n, 2) is not a regression output */
  char *loc3 = upload(f, "reg3", "model.py",
                      "import numpy as np\n"
                      "def predict_df(df):\n    return np.zeros((len(df), 2))\n");
  json_t *info3 = path_info(loc3);
  int rc = predict(f, info3, data, "MODEL_TASK_REGRESSION", 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA,
               "model function 'predict_df' returned shape (40, 2) for 40 rows; expected (40,) "
               "or (40, 1) (one value per row) for regression");
  frame_free(data);
  json_decref(info);
  json_decref(info2);
  json_decref(info3);
  free(loc);
  free(loc2);
  free(loc3);
}

/* --- predict_dict, folders, model_loading ---------------------------------------------- */

static void predict_dict_folder(void **state) {
  fixture *f = *state;
  free(upload(f, "folder", "helper.py", "SCALE = 0.5\n"));
  char *loc = upload(f, "folder", "model.py",
                     "import os\n"
                     "from helper import SCALE\n"
                     "assert os.path.isfile('helper.py')  # cwd: the model's folder\n"
                     "def predict_dict(row):\n"
                     "    assert 'label' not in row and 'drop_me' not in row\n"
                     "    return SCALE if row['name'] == 'r1' else row['x']\n");
  /* the folder's location */
  char *folder = strdup(loc);
  *strrchr(folder, '/') = '\0';
  json_t *info = path_info(folder);
  frame *data = make_frame(21), *out = NULL;
  int rc = predict(f, info, data, NULL, 0, 5, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  for (int64_t i = 0; i < 21; i++)
    assert_true(value_at(out, 0, i) == (i % 2 ? 0.5 : (double)i / 21.0));
  frame_free(out);
  /* multiclass rows from predict_dict */
  char *loc2 = upload(f, "dict2", "m.py",
                      "def predict_dict(row):\n"
                      "    return [0.2, 0.3, 0.5] if row['k'] == 0 else (0.5, 0.5, 0.0)\n");
  json_t *info2 = path_info(loc2);
  rc = predict(f, info2, data, "MODEL_TASK_MULTICLASS_CLASSIFICATION", 0, 0, &out);
  assert_int_equal(rc, ASSAY_OK);
  assert_int_equal(out->ncols, 3);
  assert_true(value_at(out, 2, 0) == 0.5 && value_at(out, 2, 1) == 0.0);
  frame_free(out);
  /* rows of different lengths */
  char *loc3 = upload(f, "dict3", "m.py",
                      "def predict_dict(row):\n"
                      "    return [0.5, 0.5] if row['k'] == 0 else [0.2, 0.3, 0.5]\n");
  json_t *info3 = path_info(loc3);
  rc = predict(f, info3, data, "MODEL_TASK_MULTICLASS_CLASSIFICATION", 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA,
               "model function 'predict_dict' returned values of different lengths");
  /* an exception names the row */
  char *loc4 = upload(f, "dict4", "m.py",
                      "def predict_dict(row):\n"
                      "    if row['x'] > 0.5:\n"
                      "        raise KeyError('no such thing')\n"
                      "    return 0.5\n");
  json_t *info4 = path_info(loc4);
  rc = predict(f, info4, data, NULL, 0, 4, &out);
  expect_error(rc, ASSAY_ERR_DATA,
               "model function 'predict_dict' raised KeyError: 'no such thing' (row 11)");
  assert_non_null(strstr(last_message(), "Traceback"));
  free(folder);
  free(loc);
  free(loc2);
  free(loc3);
  free(loc4);
  json_decref(info);
  json_decref(info2);
  json_decref(info3);
  json_decref(info4);
  frame_free(data);
  assert_scratch_empty(f);
}

static void model_loading(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "loading", "loader.py",
                     "import numpy as np\n"
                     "class Model:\n"
                     "    def __init__(self, scale):\n"
                     "        self.scale = scale\n"
                     "    def predict_df(self, df):\n"
                     "        return df['x'].to_numpy() * self.scale\n"
                     "class DictModel:\n"
                     "    def predict_dict(self, row):\n"
                     "        return 1.0 - row['x']\n"
                     "def load(scale, offset=0.0):\n"
                     "    return Model(scale + offset)\n"
                     "def load_fn(power):\n"
                     "    def fn(df):\n"
                     "        return df['x'].to_numpy() ** power\n"
                     "    return fn\n"
                     "def load_dict():\n"
                     "    return DictModel()\n"
                     "def load_int():\n"
                     "    return 3\n"
                     "def load_raises(**kw):\n"
                     "    raise RuntimeError('cannot load: %s' % sorted(kw))\n");
  frame *data = make_frame(10), *out = NULL;
  json_t *info = json_pack("{s:{s:s, s:s, s:{s:f, s:f}}}", "model_loading", "path", loc,
                           "load_func_name", "load", "params", "scale", 0.5, "offset", 0.25);
  int rc = predict(f, info, data, NULL, 0, 0, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  for (int64_t i = 0; i < 10; i++) assert_true(value_at(out, 0, i) == (double)i / 10.0 * 0.75);
  frame_free(out);
  json_decref(info);
  info = json_pack("{s:{s:s, s:s, s:{s:i}}}", "model_loading", "path", loc, "load_func_name",
                   "load_fn", "params", "power", 2);
  assert_int_equal(predict(f, info, data, NULL, 0, 3, &out), ASSAY_OK);
  assert_true(fabs(value_at(out, 0, 9) - 0.81) < 1e-15);
  frame_free(out);
  json_decref(info);
  info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load_dict");
  assert_int_equal(predict(f, info, data, NULL, 0, 0, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 2) == 1.0 - 0.2);
  frame_free(out);
  json_decref(info);
  info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load_int");
  rc = predict(f, info, data, NULL, 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA,
               "model loading function 'load_int' returned int; expected an object with "
               "predict_df or predict_dict, or a function (used as predict_df)");
  json_decref(info);
  info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "nope");
  rc = predict(f, info, data, NULL, 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "model file 'loader.py' has no function 'nope'");
  json_decref(info);
  /* wrong params: the load function's TypeError */
  info = json_pack("{s:{s:s, s:s, s:{s:i}}}", "model_loading", "path", loc, "load_func_name",
                   "load", "params", "bogus", 1);
  rc = predict(f, info, data, NULL, 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "model loading function 'load' raised TypeError");
  json_decref(info);
  /* no load_func_name: the module itself is the model */
  char *loc2 = upload(f, "loading2", "plain.py",
                      "def predict_df(df):\n    return df['x'] * 0 + 0.125\n");
  info = json_pack("{s:{s:s}}", "model_loading", "path", loc2);
  assert_int_equal(predict(f, info, data, NULL, 0, 0, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 5) == 0.125);
  frame_free(out);
  json_decref(info);
  frame_free(data);
  free(loc);
  free(loc2);
  assert_scratch_empty(f);
}

/* The model's integration reaches a load function that takes
 * integration_dict; its secrets are redacted from errors. */
static void model_integration(void **state) {
  fixture *f = *state;
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", f->ws);
  json_t *b = NULL;
  int st = router_send(
      f->p, "POST", path, NULL, f->token,
      "{\"name\": \"mkey\", \"integration_type\": \"INTEGRATION_TYPE_CUSTOM\", "
      "\"integration_schema\": [{\"name\": \"API_KEY\", \"sensitivity\": "
      "\"VARIABLE_SENSITIVITY_WORKSPACE_SECRET\", \"value\": \"s3cr3t-model-key\"}, "
      "{\"name\": \"REGION\", \"sensitivity\": \"VARIABLE_SENSITIVITY_PUBLIC\", "
      "\"value\": \"eu-west\"}]}",
      &b);
  if (st != 201) {
    char *t = json_dumps(b, 0);
    fprintf(stderr, "integration: %d %s\n", st, t ? t : "");
    free(t);
  }
  assert_int_equal(st, 201);
  char *integ = strdup(json_string_value(json_object_get(b, "integration_id")));
  json_decref(b);

  char *loc = upload(f, "integ", "m.py",
                     "def load(integration_dict):\n"
                     "    key = integration_dict['API_KEY']\n"
                     "    assert integration_dict['REGION'] == 'eu-west'\n"
                     "    def fn(df):\n"
                     "        print('using', key)\n"
                     "        return df['x'] * 0 + len(key) / 100\n"
                     "    return fn\n"
                     "def load_bad(integration_dict):\n"
                     "    raise ValueError('key is ' + integration_dict['API_KEY'] + ' in '\n"
                     "                     + integration_dict['REGION'])\n");
  frame *data = make_frame(4), *out = NULL;
  json_t *info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load");
  run_opts o = {NULL, 0, 0, integ, NULL};
  int rc = predict_with(f, info, data, &o, &out);
  if (rc) fprintf(stderr, "%s\n", last_message());
  assert_int_equal(rc, ASSAY_OK);
  assert_true(value_at(out, 0, 0) == 0.16);
  frame_free(out);
  json_decref(info);
  info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load_bad");
  rc = predict_with(f, info, data, &o, &out);
  expect_error(rc, ASSAY_ERR_DATA, "model loading function 'load_bad' raised ValueError: key is "
                                   "[REDACTED] in eu-west");
  assert_null(strstr(last_message(), "s3cr3t"));
  json_decref(info);
  frame_free(data);
  free(loc);
  free(integ);
}

/* A column name the model's process chose (here its integration's secret,
 * set by patching the runner's writer) never reaches the error: the
 * column's position and the expected name do. */
static void secret_column_name(void **state) {
  fixture *f = *state;
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", f->ws);
  json_t *b = NULL;
  int st = router_send(f->p, "POST", path, NULL, f->token,
                       "{\"name\": \"colkey\", \"integration_type\": \"INTEGRATION_TYPE_CUSTOM\", "
                       "\"integration_schema\": [{\"name\": \"API_KEY\", \"sensitivity\": "
                       "\"VARIABLE_SENSITIVITY_WORKSPACE_SECRET\", \"value\": "
                       "\"s3cr3t-column-key\"}]}",
                       &b);
  assert_int_equal(st, 201);
  char *integ = strdup(json_string_value(json_object_get(b, "integration_id")));
  json_decref(b);
  char *loc = upload(f, "secretcol", "m.py",
                     "import sys\n"
                     "import numpy as np\n"
                     "def rename(old, key):\n"
                     "    for m in list(sys.modules.values()):\n"
                     "        pw = getattr(m, 'PartWriter', None)\n"
                     "        if isinstance(pw, type) and not getattr(pw, 'patched', False):\n"
                     "            orig = pw.add\n"
                     "            def add(self, df, orig=orig):\n"
                     "                return orig(self, df.rename(columns={old: key}))\n"
                     "            pw.add = add\n"
                     "            pw.patched = True\n"
                     "def load_multi(integration_dict):\n"
                     "    rename('proba_1', integration_dict['API_KEY'])\n"
                     "    return lambda df: np.full((len(df), 3), 1 / 3)\n"
                     "def load_binary(integration_dict):\n"
                     "    rename('prediction', integration_dict['API_KEY'])\n"
                     "    return lambda df: df['x'] * 0 + 0.5\n");
  frame *data = make_frame(6), *out = NULL;
  run_opts o = {"MODEL_TASK_MULTICLASS_CLASSIFICATION", 3, 0, integ, NULL};
  json_t *info =
      json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load_multi");
  int rc = predict_with(f, info, data, &o, &out);
  expect_error(rc, ASSAY_ERR_DATA, "the model runner's column 1 is not named 'proba_1'; "
                                   "expected the columns 'proba_0'..'proba_2' in order");
  assert_null(strstr(last_message(), "s3cr3t"));
  assert_null(out);
  json_decref(info);
  info = json_pack("{s:{s:s, s:s}}", "model_loading", "path", loc, "load_func_name", "load_binary");
  o.task = NULL;
  o.nclasses = 0;
  rc = predict_with(f, info, data, &o, &out);
  expect_error(rc, ASSAY_ERR_DATA, "expected one, 'prediction'");
  assert_null(strstr(last_message(), "s3cr3t"));
  assert_null(out);
  json_decref(info);
  frame_free(data);
  free(loc);
  free(integ);
  assert_scratch_empty(f);
}

/* --- batches --------------------------------------------------------------------------- */

static void batches(void **state) {
  fixture *f = *state;
  /* the prediction is the size of the batch the row came in */
  char *loc = upload(f, "batch", "model.py",
                     "import numpy as np\n"
                     "def predict_df(df):\n"
                     "    return len(df) * 1000.0 + df.index.to_numpy()\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(100), *out = NULL;
  assert_int_equal(predict(f, info, data, "MODEL_TASK_REGRESSION", 0, 7, &out), ASSAY_OK);
  /* each batch's index continues the rows (df.index) */
  for (int64_t i = 0; i < 100; i++)
    assert_true(value_at(out, 0, i) == (i < 98 ? 7000.0 : 2000.0) + (double)i);
  frame_free(out);
  assert_int_equal(predict(f, info, data, "MODEL_TASK_REGRESSION", 0, 0, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 99) == 100099.0);
  frame_free(out);
  /* batch_size smaller than the rows gives the same predictions */
  char *loc2 = upload(f, "batch2", "model.py", MULTI);
  json_t *info2 = path_info(loc2);
  frame *a = NULL, *b = NULL;
  const char *task = "MODEL_TASK_MULTICLASS_CLASSIFICATION";
  assert_int_equal(predict(f, info2, data, task, 0, 1, &a), ASSAY_OK);
  assert_int_equal(predict(f, info2, data, task, 0, 1000, &b), ASSAY_OK);
  assert_int_equal(a->rows, 100);
  assert_int_equal(a->ncols, b->ncols);
  for (int j = 0; j < a->ncols; j++)
    assert_memory_equal(a->cols[j].values, b->cols[j].values, 100 * sizeof(double));
  frame_free(a);
  frame_free(b);
  frame_free(data);
  json_decref(info);
  json_decref(info2);
  free(loc);
  free(loc2);
}

/* --- bad outputs ------------------------------------------------------------------------ */

static void bad_outputs(void **state) {
  fixture *f = *state;
  static const struct {
    const char *body;
    const char *message;
  } cases[] = {
      {"    return np.zeros((len(df), 3))",
       "model function 'predict_df' returned shape (12, 3) for 12 rows; expected (12,), (12, 1) "
       "or (12, 2) (the positive-class probability) for binary classification"},
      {"    return np.zeros(len(df) - 1)",
       "model function 'predict_df' returned shape (11,) for 12 rows; expected (12,)"},
      {"    return 0.5", "returned shape () for 12 rows"},
      {"    return None", "model function 'predict_df' returned None; expected (12,)"},
      {"    return ['yes'] * len(df)",
       "model function 'predict_df' returned values that are not numbers (shape (12,), dtype "
       "<U3"},
      {"    v = np.full(len(df), 0.5)\n    v[7] = 1.5\n    return v",
       "model function 'predict_df' returned 1.5 for row 7; expected probabilities in [0, 1] for "
       "binary classification"},
  };
  frame *data = make_frame(12), *out = NULL;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = NULL, folder[32];
    assert_true(asprintf(&text, "import numpy as np\ndef predict_df(df):\n%s\n", cases[i].body) > 0);
    snprintf(folder, sizeof folder, "bad%zu", i);
    char *loc = upload(f, folder, "m.py", text);
    json_t *info = path_info(loc);
    int rc = predict(f, info, data, NULL, 0, 0, &out);
    expect_error(rc, ASSAY_ERR_DATA, cases[i].message);
    assert_null(out);
    json_decref(info);
    free(loc);
    free(text);
  }
  /* multiclass probabilities outside [0, 1] */
  char *loc = upload(f, "badm", "m.py",
                     "import numpy as np\ndef predict_df(df):\n"
                     "    v = np.full((len(df), 3), 0.2)\n    v[5, 1] = 2.0\n    return v\n");
  json_t *info = path_info(loc);
  int rc = predict(f, info, data, "MODEL_TASK_MULTICLASS_CLASSIFICATION", 3, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "returned 2.0 for row 5; expected probabilities in [0, 1] for "
                                   "multiclass classification");
  json_decref(info);
  free(loc);
  frame_free(data);
  assert_scratch_empty(f);
}

/* --- failures of the model file ----------------------------------------------------------- */

static void model_failures(void **state) {
  fixture *f = *state;
  static const struct {
    const char *text;
    const char *message;
  } cases[] = {
      {"def predict_df(df):\n    raise ValueError('bad input ' + str(len(df)))\n",
       "model function 'predict_df' raised ValueError: bad input 8"},
      {"def predict_df(df):\n    import sys\n    sys.exit(3)\n",
       "model function 'predict_df' raised SystemExit: 3"},
      {"def helper(df):\n    return 1\n",
       "model file 'm.py' has no predict_df or predict_dict function"},
      {"def predict_df(df)\n    return 1\n", "model 'm.py' has a syntax error at line 1"},
      {"import no_such_module_here\n",
       "model 'm.py' failed while being imported: ModuleNotFoundError: No module named "
       "'no_such_module_here'"},
  };
  frame *data = make_frame(8), *out = NULL;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char folder[32];
    snprintf(folder, sizeof folder, "fail%zu", i);
    char *loc = upload(f, folder, "m.py", cases[i].text);
    json_t *info = path_info(loc);
    int rc = predict(f, info, data, NULL, 0, 0, &out);
    expect_error(rc, ASSAY_ERR_DATA, cases[i].message);
    json_decref(info);
    free(loc);
  }
  /* the model cannot read the platform's files */
  char *loc = upload(f, "peek", "m.py",
                     "import os, glob\n"
                     "def predict_df(df):\n"
                     "    home = os.path.dirname(os.path.dirname(os.path.dirname(os.getcwd())))\n"
                     "    open(os.path.join(home, 'admin.token')).read()\n"
                     "    return df['x']\n");
  json_t *info = path_info(loc);
  int rc = predict(f, info, data, NULL, 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "model function 'predict_df' raised PermissionError");
  json_decref(info);
  free(loc);
  frame_free(data);
  assert_scratch_empty(f);
}

static void bad_configs(void **state) {
  fixture *f = *state;
  frame *data = make_frame(5), *out = NULL;
  json_t *info = parse("{\"hugging_face\": {\"model_uri\": \"org/model\", \"kwargs\": {}}}");
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_CONFIG,
               "hugging_face models are not supported by the tabular engine; ");
  json_decref(info);
  info = json_null();
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_CONFIG,
               "the model has no model_info");
  json_decref(info);
  char *loc = upload(f, "nomodel", "other.py", "x = 1\n");
  char *folder = strdup(loc);
  *strrchr(folder, '/') = '\0';
  info = path_info(folder);
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_CONFIG,
               "has no model.py");
  json_decref(info);
  char *pkl = upload(f, "pkl", "model.pkl", "not python");
  info = path_info(pkl);
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_CONFIG,
               "is not a Python file");
  json_decref(info);
  info = path_info("assay://files/absent/model.py");
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_NOT_FOUND, "");
  json_decref(info);
  info = path_info(loc);
  expect_error(predict(f, info, data, "MODEL_TASK_RANKING", 0, 0, &out), ASSAY_ERR_CONFIG,
               "got MODEL_TASK_RANKING");
  json_decref(info);
  frame_free(data);
  free(loc);
  free(folder);
  free(pkl);
}

static void no_rows(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "empty", "m.py", "def predict_df(df):\n    raise ValueError('called')\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(0), *out = NULL;
  assert_int_equal(predict(f, info, data, NULL, 0, 0, &out), ASSAY_OK);
  assert_int_equal(out->rows, 0);
  assert_int_equal(out->ncols, 1);
  assert_string_equal(out->cols[0].name, "prediction");
  frame_free(out);
  assert_int_equal(predict(f, info, data, "MODEL_TASK_MULTICLASS_CLASSIFICATION", 4, 0, &out),
                   ASSAY_OK);
  assert_int_equal(out->ncols, 4);
  assert_string_equal(out->cols[3].name, "proba_3");
  frame_free(out);
  json_decref(info);
  frame_free(data);
  free(loc);
}

/* --- limits and cancellation --------------------------------------------------------------- */

static void time_limit(void **state) {
  fixture *f = *state; /* 2 s */
  char *loc = upload(f, "slow", "m.py",
                     "import time\ndef predict_df(df):\n    time.sleep(60)\n    return df['x']\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(5), *out = NULL;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = predict(f, info, data, NULL, 0, 0, &out);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  expect_error(rc, ASSAY_ERR_DATA, "model was killed after the time limit of 2 s");
  assert_true((double)(t1.tv_sec - t0.tv_sec) < 20);
  json_decref(info);
  frame_free(data);
  free(loc);
  assert_scratch_empty(f);
}

static void memory_limit(void **state) {
  fixture *f = *state; /* 300 MiB */
  char *loc = upload(f, "big", "m.py",
                     "import numpy as np\n"
                     "def predict_df(df):\n"
                     "    blocks = [np.ones(1 << 24) for _ in range(8)]  # 1 GiB\n"
                     "    return df['x']\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(5), *out = NULL;
  int rc = predict(f, info, data, NULL, 0, 0, &out);
  expect_error(rc, ASSAY_ERR_DATA, "model exceeded the memory limit of 300 MiB");
  json_decref(info);
  frame_free(data);
  free(loc);
  assert_scratch_empty(f);
}

/* Without Landlock a model runs only when the platform allows unsandboxed
 * user code, and the log says so. */
static void log_collect(void *ctx, const char *stream, const char *line, size_t len) {
  (void)stream;
  char **text = ctx;
  char *more = NULL;
  assert_true(asprintf(&more, "%s%.*s\n", *text ? *text : "", (int)len, line) > 0);
  free(*text);
  *text = more;
}

static void no_landlock(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "nl", "m.py", "def predict_df(df):\n    return df['x']\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(4), *out = NULL;
  expect_error(predict(f, info, data, NULL, 0, 0, &out), ASSAY_ERR_DATA,
               "model files need Landlock (Linux 5.13+) to keep them away from the platform's "
               "files; this kernel has none (set ASSAY_ALLOW_UNSANDBOXED_LOADERS=1");
  assay_platform_free(f->p);
  setenv("ASSAY_TEST_RUNNER_SANDBOX", "no-landlock", 1);
  setenv("ASSAY_ALLOW_UNSANDBOXED_LOADERS", "1", 1);
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = 0;
  assert_int_equal(assay_platform_open_with(&f->p, &o), ASSAY_OK);
  unsetenv("ASSAY_TEST_RUNNER_SANDBOX");
  unsetenv("ASSAY_ALLOW_UNSANDBOXED_LOADERS");
  char *log = NULL;
  json_t *params = parse(PARAMS);
  predict_request req = {.workspace_id = f->ws, .user_id = f->user, .model_info = info,
                         .model_task = "MODEL_TASK_REGRESSION", .data_params = params,
                         .log = log_collect, .log_ctx = &log};
  assert_int_equal(model_predict(f->p, &req, data, &out), ASSAY_OK);
  assert_true(value_at(out, 0, 3) == 0.75);
  assert_non_null(log);
  assert_non_null(strstr(log, "the model runs WITHOUT a sandbox"));
  assert_non_null(strstr(log, "runner: model input (4 rows x 3 columns) written in"));
  assert_non_null(strstr(log, "predict_df called 1 time(s)"));
  free(log);
  json_decref(params);
  frame_free(out);
  json_decref(info);
  frame_free(data);
  free(loc);
}

typedef struct canceller {
  int *flag;
  int ms;
} canceller;

static void *cancel_later(void *arg) {
  canceller *c = arg;
  struct timespec ts = {c->ms / 1000, (long)(c->ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  __atomic_store_n(c->flag, RUNNER_CANCEL_JOB, __ATOMIC_SEQ_CST);
  return NULL;
}

static void cancel(void **state) {
  fixture *f = *state;
  char *loc = upload(f, "cancel", "m.py",
                     "import time\ndef predict_df(df):\n    time.sleep(60)\n    return df['x']\n");
  json_t *info = path_info(loc);
  frame *data = make_frame(5), *out = NULL;
  int flag = RUNNER_CANCEL_JOB; /* before the start */
  run_opts o = {NULL, 0, 0, NULL, &flag};
  expect_error(predict_with(f, info, data, &o, &out), ASSAY_ERR_UNAVAILABLE,
               "model cancelled: the job was cancelled");
  flag = 0; /* during the run */
  canceller c = {&flag, 300};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_later, &c), 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = predict_with(f, info, data, &o, &out);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  pthread_join(th, NULL);
  expect_error(rc, ASSAY_ERR_UNAVAILABLE, "model cancelled: the job was cancelled");
  assert_true((double)(t1.tv_sec - t0.tv_sec) < 20);
  json_decref(info);
  frame_free(data);
  free(loc);
  assert_scratch_empty(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(binary_predict_df, setup, teardown),
      cmocka_unit_test_setup_teardown(input_dtypes, setup, teardown),
      cmocka_unit_test_setup_teardown(multiclass, setup, teardown),
      cmocka_unit_test_setup_teardown(regression, setup, teardown),
      cmocka_unit_test_setup_teardown(predict_dict_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(model_loading, setup, teardown),
      cmocka_unit_test_setup_teardown(model_integration, setup, teardown),
      cmocka_unit_test_setup_teardown(secret_column_name, setup, teardown),
      cmocka_unit_test_setup_teardown(batches, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_outputs, setup, teardown),
      cmocka_unit_test_setup_teardown(model_failures, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_configs, setup, teardown),
      cmocka_unit_test_setup_teardown(no_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(time_limit, setup_short, teardown),
      cmocka_unit_test_setup_teardown(memory_limit, setup_small, teardown),
      cmocka_unit_test_setup_teardown(no_landlock, setup_no_landlock, teardown),
      cmocka_unit_test_setup_teardown(cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
