/* swig/python/values.i — Python objects <-> assay_value trees.
 *
 * In:  `const assay_value *` parameters accept None, bool, int, float, str,
 *      dict (str keys) and list/tuple, recursively; anything else is a
 *      TypeError, NaN/infinity and out-of-range integers a ValueError, each
 *      naming where in the argument the bad item sits
 *      ("extra['profiling_config'][2]"). The tree is freed in freearg.
 * Out: `assay_value **out` parameters become the function's result as native
 *      objects (object -> dict, array -> list, int -> int, real -> float,
 *      string -> str, bool -> bool, null or a NULL value -> None).
 *
 * Both directions only convert types; every rule about what a value may
 * contain lives in the C core. They run with the GIL held. */

%{
/* Where in the argument the converter is, for error messages. */
typedef struct assay_py_path {
  char text[256];
  size_t len;
} assay_py_path;

static void assay_py_path_init(assay_py_path *p, const char *name) {
  p->len = (size_t)snprintf(p->text, sizeof p->text, "%s", name);
  if (p->len >= sizeof p->text) p->len = sizeof p->text - 1;
}

/* Append "['key']" or "[i]"; a path too long to show is cut, never overflowed. */
static void assay_py_path_grew(assay_py_path *p, int n) {
  size_t room = sizeof p->text - p->len;
  if (n < 0) p->text[p->len] = '\0';
  else p->len = (size_t)n >= room ? sizeof p->text - 1 : p->len + (size_t)n;
}

static void assay_py_path_push_key(assay_py_path *p, const char *key) {
  assay_py_path_grew(p, snprintf(p->text + p->len, sizeof p->text - p->len, "['%s']", key));
}

static void assay_py_path_push_index(assay_py_path *p, Py_ssize_t i) {
  assay_py_path_grew(p, snprintf(p->text + p->len, sizeof p->text - p->len, "[%zd]", i));
}

static void assay_py_path_pop(assay_py_path *p, size_t len) {
  p->len = len;
  p->text[len] = '\0';
}

static void assay_py_raise_code(int rc);

/* Raise the typed error of a failed assay_value_* constructor. */
static int assay_py_value_failed(int rc) {
  assay_py_raise_code(rc);
  return -1;
}

/* Convert `obj` into a new tree in *out. Returns 0, or -1 with a Python
 * exception set. */
static int assay_py_to_value_at(PyObject *obj, assay_value **out, assay_py_path *path) {
  int rc;
  *out = NULL;
  if (obj == Py_None) {
    rc = assay_value_new_null(out);
    return rc < 0 ? assay_py_value_failed(rc) : 0;
  }
  if (PyBool_Check(obj)) { /* before int: bool is an int subclass */
    rc = assay_value_new_bool(out, obj == Py_True);
    return rc < 0 ? assay_py_value_failed(rc) : 0;
  }
  if (PyLong_Check(obj)) {
    int overflow = 0;
    long long i = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow) {
      assay_py_config_error("%s: integer %R is outside the 64-bit range", path->text, obj);
      return -1;
    }
    if (i == -1 && PyErr_Occurred()) return -1;
    rc = assay_value_new_int(out, (int64_t)i);
    return rc < 0 ? assay_py_value_failed(rc) : 0;
  }
  if (PyFloat_Check(obj)) {
    double d = PyFloat_AS_DOUBLE(obj);
    if (!isfinite(d)) {
      assay_py_config_error("%s: %R cannot be represented in JSON (NaN and infinity are not allowed)",
                   path->text, obj);
      return -1;
    }
    rc = assay_value_new_real(out, d);
    return rc < 0 ? assay_py_value_failed(rc) : 0;
  }
  if (PyUnicode_Check(obj)) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize(obj, &len);
    if (!s) {
      PyErr_Clear();
      assay_py_config_error("%s: the string cannot be encoded as UTF-8 (it holds a lone surrogate)",
                   path->text);
      return -1;
    }
    rc = assay_value_new_string(out, s, (size_t)len);
    return rc < 0 ? assay_py_value_failed(rc) : 0;
  }
  if (PyDict_Check(obj) || PyList_Check(obj) || PyTuple_Check(obj)) {
    size_t mark = path->len;
    int failed = 0;
    if (Py_EnterRecursiveCall(" while converting a value for assay")) return -1;
    if (PyDict_Check(obj)) {
      Py_ssize_t pos = 0;
      PyObject *key, *item;
      rc = assay_value_new_object(out);
      if (rc < 0) failed = assay_py_value_failed(rc);
      while (!failed && PyDict_Next(obj, &pos, &key, &item)) {
        Py_ssize_t klen = 0;
        const char *k;
        assay_value *child = NULL;
        if (!PyUnicode_Check(key)) {
          assay_py_config_error("%s: dict keys must be str, not %.100s (key %R)", path->text,
                       Py_TYPE(key)->tp_name, key);
          failed = -1;
          break;
        }
        k = PyUnicode_AsUTF8AndSize(key, &klen);
        if (!k || strlen(k) != (size_t)klen) {
          PyErr_Clear();
          assay_py_config_error("%s: dict key %R is not valid text (NUL character or lone surrogate)",
                       path->text, key);
          failed = -1;
          break;
        }
        Py_INCREF(item); /* the dict may be changed by other code while we convert */
        assay_py_path_push_key(path, k);
        failed = assay_py_to_value_at(item, &child, path);
        assay_py_path_pop(path, mark);
        Py_DECREF(item);
        if (!failed) {
          rc = assay_value_object_set(*out, k, child);
          if (rc < 0) failed = assay_py_value_failed(rc);
        }
      }
    } else {
      Py_ssize_t i, n = PySequence_Fast_GET_SIZE(obj);
      rc = assay_value_new_array(out);
      if (rc < 0) failed = assay_py_value_failed(rc);
      for (i = 0; !failed && i < n; i++) {
        assay_value *child = NULL;
        assay_py_path_push_index(path, i);
        failed = assay_py_to_value_at(PySequence_Fast_GET_ITEM(obj, i), &child, path);
        assay_py_path_pop(path, mark);
        if (!failed) {
          rc = assay_value_array_append(*out, child);
          if (rc < 0) failed = assay_py_value_failed(rc);
        }
      }
    }
    Py_LeaveRecursiveCall();
    if (failed) {
      assay_value_free(*out);
      *out = NULL;
      return -1;
    }
    return 0;
  }
  assay_py_config_error("%s: cannot convert %.100s to a JSON value "
               "(expected dict, list, tuple, str, int, float, bool or None)",
               path->text, Py_TYPE(obj)->tp_name);
  return -1;
}

static int assay_py_to_value(PyObject *obj, assay_value **out, const char *name) {
  assay_py_path path;
  assay_py_path_init(&path, name);
  return assay_py_to_value_at(obj, out, &path);
}

/* A new reference to the native form of `v`, or NULL with an exception. */
static PyObject *assay_py_from_value(const assay_value *v) {
  PyObject *r = NULL;
  switch (assay_value_type_of(v)) {
  case ASSAY_VALUE_NULL:
    Py_RETURN_NONE;
  case ASSAY_VALUE_BOOL:
    return PyBool_FromLong(assay_value_get_bool(v));
  case ASSAY_VALUE_INT:
    return PyLong_FromLongLong((long long)assay_value_get_int(v));
  case ASSAY_VALUE_REAL:
    return PyFloat_FromDouble(assay_value_get_real(v));
  case ASSAY_VALUE_STRING: {
    size_t len = 0;
    const char *s = assay_value_get_string(v, &len);
    return PyUnicode_DecodeUTF8(s ? s : "", (Py_ssize_t)len, "replace");
  }
  case ASSAY_VALUE_ARRAY: {
    size_t i, n = assay_value_array_size(v);
    if (Py_EnterRecursiveCall(" while converting a value from assay")) return NULL;
    r = PyList_New((Py_ssize_t)n);
    for (i = 0; r && i < n; i++) {
      PyObject *item = assay_py_from_value(assay_value_array_get(v, i));
      if (!item) Py_CLEAR(r);
      else PyList_SET_ITEM(r, (Py_ssize_t)i, item);
    }
    Py_LeaveRecursiveCall();
    return r;
  }
  case ASSAY_VALUE_OBJECT: {
    void *iter = NULL;
    const char *key;
    const assay_value *item = NULL;
    if (Py_EnterRecursiveCall(" while converting a value from assay")) return NULL;
    r = PyDict_New();
    while (r && (key = assay_value_object_next(v, &iter, &item)) != NULL) {
      PyObject *pk = PyUnicode_DecodeUTF8(key, (Py_ssize_t)strlen(key), "replace");
      PyObject *pv = pk ? assay_py_from_value(item) : NULL;
      if (!pv || PyDict_SetItem(r, pk, pv) < 0) Py_CLEAR(r);
      Py_XDECREF(pk);
      Py_XDECREF(pv);
    }
    Py_LeaveRecursiveCall();
    return r;
  }
  }
  PyErr_SetString(PyExc_SystemError, "assay: a value of unknown type came back from the C library");
  return NULL;
}
%}

/* const assay_value * in: converted from the native object, freed after the call. */
%typemap(in) const assay_value * (assay_value *tree = NULL) {
  if (assay_py_to_value($input, &tree, "$1_name") < 0) SWIG_fail;
  $1 = tree;
}
%typemap(freearg) const assay_value * {
  assay_value_free(tree$argnum);
}

/* assay_value **out: the produced tree becomes the (only) result. */
%typemap(in, numinputs=0) assay_value **out (assay_value *produced = NULL) {
  $1 = &produced;
}
%typemap(argout) assay_value **out {
  PyObject *native = assay_py_from_value(produced$argnum);
  if (!native) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, native);
}
%typemap(freearg) assay_value **out {
  assay_value_free(produced$argnum);
}
