/* platform/files.h — the file store: what users upload, per workspace.
 *
 * Files live under <home>/files/<workspace_id>/<path> (directories 0700,
 * files 0600) and are recorded in the store's `files` table. A file's
 * location — what upload answers and what configs reference — is
 * "assay://files/<path>"; it is resolved in the workspace of the project
 * (or caller) that uses it. A path is 1..1024 bytes of '/'-separated
 * components, each non-empty, not "." or "..", without control characters
 * or backslashes, and not starting with ".assay"; a path is never absolute.
 *
 * Uploads stream: the body goes to a temporary file under
 * <home>/files/.incoming/ as it arrives (hashed with BLAKE2b on the way),
 * is fsynced and renamed into place at the end, so a failed or cut upload
 * leaves nothing behind and a reader never sees half a file. Not
 * installed. */
#ifndef ASSAY_FILES_H
#define ASSAY_FILES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

#define FILES_LOCATION_PREFIX "assay://files/"
#define FILES_PATH_MAX 1024

/* Check a relative path as above; `what` names it in the message
 * ("upload_path", "name", ...). */
int files_check_path(const char *what, const char *path);

/* The absolute path on disk of `location` ("assay://files/<path>", or a
 * directory location) in workspace_id; ASSAY_ERR_CONFIG when it is not a
 * location of this form (the message shows the expected form),
 * ASSAY_ERR_NOT_FOUND when no uploaded file or directory is there. The
 * caller frees *out. */
int files_resolve(assay_platform *p, store *s, const char *workspace_id, const char *location,
                  char **out);

/* Hash of a file's content as recorded at upload (64 hex chars + NUL),
 * for cache keys; NOT_FOUND like files_resolve. For a folder location: the
 * BLAKE2b-256 of its files' relative paths and content hashes, in path
 * order (it changes when any file under it changes). */
int files_content_hash(store *s, const char *workspace_id, const char *location,
                       char out[65]);

/* A streaming upload, used by the router for PUT /v1/files. */
typedef struct file_upload file_upload;
/* Validate the query (name, upload_path) and the caller's role (member),
 * open the temporary file. `s` is used only during the call (an upload may
 * last long: it holds no store connection; finish takes one from p's
 * pool). On failure nothing is left open. */
int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who,
                       const char *query);
/* The body's size when it is known in advance (size < 0: unknown). The
 * upload must then be exactly that long (finish refuses another size), and
 * a size the disk has no room for fails at once
 * (ASSAY_ERR_PAYLOAD_TOO_LARGE; abort the upload). */
int files_upload_expect(file_upload *u, int64_t size);
/* Append a piece of the body (hashed and written). A failed write (disk
 * full, I/O error) removes the temporary file at once and fails every
 * later write and the finish with the same error; abort or finish the
 * upload all the same. */
int files_upload_write(file_upload *u, const void *data, size_t n);
/* Finish: fsync, then in one write transaction check the role again,
 * record and rename into place (ASSAY_ERR_CONFLICT when a folder of the
 * path is a file or the path is a folder); *answer is the file record
 * {location, path, size, blake2b, uploaded_by, uploaded_at}. Frees u in
 * every case; on failure nothing is kept. */
int files_upload_finish(file_upload *u, json_t **answer);
/* Drop an unfinished upload (temporary file removed); NULL accepted. */
void files_upload_abort(file_upload *u);

#endif
