/* swig/python/errors.i — return codes become typed Python exceptions.
 *
 * Every wrapped function that returns int returns an assay return code.
 * After the call (with the GIL held again, on the same OS thread, so the
 * per-thread assay_error_last() is the call's), a negative code raises the
 * exception class registered for it, with the attributes `code`, `name`,
 * `message` and `http_status`; a non-negative code is dropped and the
 * function's result is its `out` argument(s), or None.
 *
 * The classes are built in Python from the core's error table
 * (assay/errors.py) and handed over once with _register_error_classes(),
 * a dict {code: class}. A code without a registered class falls back to its
 * nearest registered ancestor in the table, then to RuntimeError.
 * Arguments the typemaps cannot convert raise ConfigError the same way. */

%{
#include <stdarg.h>

static PyObject *assay_py_error_classes = NULL; /* dict: int code -> class */

/* The registered class for `code` or its nearest ancestor (borrowed). */
static PyObject *assay_py_error_class(int code) {
  const assay_error_info *info = assay_error_info_for(code);
  int hops = 0;
  while (assay_py_error_classes && hops++ < 64) {
    PyObject *key = PyLong_FromLong(code);
    PyObject *cls = key ? PyDict_GetItemWithError(assay_py_error_classes, key) : NULL;
    Py_XDECREF(key);
    if (cls) return cls;
    if (PyErr_Occurred()) PyErr_Clear();
    if (!info || !info->parent) break;
    info = assay_error_info_by_name(info->parent);
    if (!info) break;
    code = info->code;
  }
  return PyExc_RuntimeError;
}

static int assay_py_set_attr(PyObject *exc, const char *attr, PyObject *value) {
  int rc = value ? PyObject_SetAttrString(exc, attr, value) : -1;
  Py_XDECREF(value);
  return rc;
}

/* Raise the class registered for `rc` with message `text` (stolen) and the
 * attributes code, name, message and http_status. */
static void assay_py_raise(int rc, PyObject *text, const char *name, int http_status) {
  PyObject *exc;
  if (!text) return;
  exc = PyObject_CallOneArg(assay_py_error_class(rc), text);
  if (!exc) {
    Py_DECREF(text);
    return;
  }
  int failed = assay_py_set_attr(exc, "code", PyLong_FromLong(rc)) < 0 ||
               assay_py_set_attr(exc, "name", PyUnicode_FromString(name)) < 0 ||
               assay_py_set_attr(exc, "message", Py_NewRef(text)) < 0 ||
               assay_py_set_attr(exc, "http_status", PyLong_FromLong(http_status)) < 0;
  Py_DECREF(text);
  if (!failed) PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
  Py_DECREF(exc);
}

/* Raise the exception for return code `rc` from the thread's last error. */
static void assay_py_raise_code(int rc) {
  const assay_error *e = assay_error_last();
  const assay_error_info *info = assay_error_info_for(rc);
  const char *name = info ? info->name : "Error";
  const char *message = info ? info->description : "unknown assay error";
  int http_status = info ? info->http_status : 0;
  if (e && e->code == rc) { /* else the slot is stale: use the table */
    if (e->message) message = e->message;
    if (e->name) name = e->name;
    http_status = e->http_status;
  }
  assay_py_raise(rc, PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace"),
                 name, http_status);
}

/* An argument that cannot be converted (wrong type, NaN, bad text, ...) is
 * a ConfigError, as in Lua and as the core itself reports bad values.
 * Formats like PyUnicode_FromFormat (%R, %.100s, ...). */
static void assay_py_config_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PyObject *text = PyUnicode_FromFormatV(fmt, ap);
  va_end(ap);
  assay_py_raise(ASSAY_ERR_CONFIG, text, "ConfigError", 0);
}

/* _register_error_classes({code: class}): the classes to raise. */
static PyObject *assay_py_register_error_classes(PyObject *classes) {
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  if (!PyDict_Check(classes)) {
    PyErr_Format(PyExc_TypeError, "expected a dict {code: exception class}, not %.100s",
                 Py_TYPE(classes)->tp_name);
    return NULL;
  }
  while (PyDict_Next(classes, &pos, &key, &value)) {
    if (!PyLong_Check(key) || !PyExceptionClass_Check(value)) {
      PyErr_SetString(PyExc_TypeError, "expected a dict {int code: exception class}");
      return NULL;
    }
  }
  Py_XSETREF(assay_py_error_classes, PyDict_Copy(classes));
  if (!assay_py_error_classes) return NULL;
  Py_RETURN_NONE;
}
%}

%nothread assay_py_register_error_classes;
%rename(_register_error_classes) assay_py_register_error_classes;
PyObject *assay_py_register_error_classes(PyObject *classes);

/* int results are return codes (assay.i declares nothing else as int). */
%typemap(out) int {
  if ($1 < 0) {
    assay_py_raise_code($1);
    SWIG_fail;
  }
  $result = SWIG_Py_Void();
}
