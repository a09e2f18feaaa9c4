/* swig/common/handles.i — the opaque handles as wrapped objects.
 *
 * assay_client is an opaque struct to C callers; SWIG sees an empty struct
 * whose destructor calls assay_client_free(), so the garbage collector of
 * either language closes a client nobody holds any more. Per-language files
 * provide the `assay_client **out` typemap that hands over ownership. */

%nodefaultctor assay_client;
struct assay_client {};
%extend assay_client {
  ~assay_client() { assay_client_free($self); }
}
