/* swig/python/args.i — plain arguments and handles for the Python module.
 *
 * - `const char *` parameters take str (encoded as UTF-8) or None (NULL; the
 *   core says whether NULL is allowed). Other types are a TypeError naming
 *   the parameter, a str holding NUL a ValueError.
 * - `int` parameters take int or bool.
 * - `(const char *body, size_t body_len)` takes str (UTF-8), bytes or None.
 * - `assay_client **out` hands back a wrapped assay_client that owns the
 *   handle: its destructor (handles.i) calls assay_client_free().
 * The Python objects outlive the call (they are in the argument tuple), so
 * the borrowed buffers stay valid while the GIL is released. */

%{
#include <limits.h>
%}

%typemap(in) const char * {
  if ($input == Py_None) {
    $1 = NULL;
  } else if (PyUnicode_Check($input)) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize($input, &len);
    if (!s) {
      PyErr_Clear();
      assay_py_config_error("$1_name cannot be encoded as UTF-8 (it holds a lone surrogate)");
      SWIG_fail;
    }
    if (strlen(s) != (size_t)len) {
      assay_py_config_error("$1_name must not contain NUL characters");
      SWIG_fail;
    }
    $1 = ($1_ltype)s;
  } else {
    assay_py_config_error("$1_name must be a str, not %.100s", Py_TYPE($input)->tp_name);
    SWIG_fail;
  }
}

%typemap(freearg) const char * "";

%typemap(in) int {
  long v;
  if (!PyLong_Check($input)) {
    assay_py_config_error("$1_name must be an int, not %.100s", Py_TYPE($input)->tp_name);
    SWIG_fail;
  }
  v = PyLong_AsLong($input);
  if ((v == -1 && PyErr_Occurred()) || v < INT_MIN || v > INT_MAX) {
    PyErr_Clear();
    assay_py_config_error("$1_name: %R is out of range", $input);
    SWIG_fail;
  }
  $1 = (int)v;
}

%typemap(in) double {
  if (!PyFloat_Check($input) && !PyLong_Check($input)) {
    assay_py_config_error("$1_name must be a number, not %.100s", Py_TYPE($input)->tp_name);
    SWIG_fail;
  }
  $1 = PyFloat_AsDouble($input);
  if ($1 == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    assay_py_config_error("$1_name: %R is out of range", $input);
    SWIG_fail;
  }
}

%typemap(in) (const char *body, size_t body_len) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else if (PyUnicode_Check($input)) {
    Py_ssize_t len = 0;
    const char *s = PyUnicode_AsUTF8AndSize($input, &len);
    if (!s) {
      PyErr_Clear();
      assay_py_config_error("body cannot be encoded as UTF-8 (it holds a lone surrogate)");
      SWIG_fail;
    }
    $1 = ($1_ltype)s;
    $2 = (size_t)len;
  } else if (PyBytes_Check($input)) {
    char *s = NULL;
    Py_ssize_t len = 0;
    if (PyBytes_AsStringAndSize($input, &s, &len) < 0) SWIG_fail;
    $1 = s;
    $2 = (size_t)len;
  } else {
    assay_py_config_error("body must be str, bytes or None, not %.100s",
                 Py_TYPE($input)->tp_name);
    SWIG_fail;
  }
}

%typemap(in, numinputs=0) assay_client **out (assay_client *opened = NULL) {
  $1 = &opened;
}
%typemap(argout) assay_client **out {
  PyObject *handle = SWIG_NewPointerObj(opened$argnum, $descriptor(assay_client *), SWIG_POINTER_OWN);
  if (!handle) SWIG_fail;
  opened$argnum = NULL; /* owned by the Python object now */
  $result = SWIG_Python_AppendOutput($result, handle);
}
%typemap(freearg) assay_client **out {
  assay_client_free(opened$argnum);
}

/* Text produced by the library (JSON dumps): a Python str; the C string is
 * released with assay_string_free. */
%typemap(in, numinputs=0) char **out (char *text = NULL) {
  $1 = &text;
}
%typemap(argout) char **out {
  PyObject *s = text$argnum ? PyUnicode_FromString(text$argnum) : (Py_INCREF(Py_None), Py_None);
  if (!s) SWIG_fail;
  $result = SWIG_Python_AppendOutput($result, s);
}
%typemap(freearg) char **out {
  assay_string_free(text$argnum);
}
