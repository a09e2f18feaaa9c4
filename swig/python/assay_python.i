/* swig/python/assay_python.i — the private Python extension module assay._core.
 *
 * Top file of the Python wrapper: declares the module, pulls in the Python
 * typemaps (values.i: dict/list <-> assay_value; errors.i: return codes ->
 * exceptions; args.i: strings, ints, request bodies, handles) and then the
 * interface shared with Lua (swig/assay.i). The pure-Python package
 * bindings/python/assay/ sits on top; users never import _core directly.
 *
 * Built with `swig -python -builtin -threads` (bindings/python/CMakeLists.txt):
 * -builtin makes the extension complete by itself, so it is assay._core with
 * no generated shadow module of the same name.
 *
 * The GIL: the module is built with threads enabled, so the GIL is released
 * around each wrapped C call (the client's calls wait on SQLite or the
 * network). Argument conversion and result conversion run in the typemaps,
 * outside that window, with the GIL held. Calls that do not wait and the
 * helpers that touch Python objects are marked %nothread. */

%module(package="assay", threads="1") _core

%{
#include <math.h>
#include <string.h>

#include "assay.h"
%}

%init %{
  if (assay_init() != ASSAY_OK) {
    const assay_error *e = assay_error_last();
    PyErr_Format(PyExc_ImportError, "assay: the C library failed to initialise: %s",
                 e ? e->message : "unknown error");
    return NULL;
  }
%}

%include "errors.i"
%include "values.i"
%include "args.i"

/* Trivial calls that never wait keep the GIL. */
%nothread assay_version;
%nothread assay_error_table_value;
%nothread assay_value_dump;

%include "assay.i"

/* The return-code typemap is for the declarations of assay.i only. */
%clear int;
