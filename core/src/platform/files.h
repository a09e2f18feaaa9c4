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
 * for cache keys; NOT_FOUND like files_resolve. */
int files_content_hash(store *s, const char *workspace_id, const char *location,
                       char out[65]);

/* A streaming upload, used by the router for PUT /v1/files. */
typedef struct file_upload file_upload;
/* Validate the query (name, upload_path) and the caller's role (member),
 * open the temporary file. On failure nothing is left open. */
int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who,
                       const char *query);
int files_upload_write(file_upload *u, const void *data, size_t n);
/* Finish: fsync, rename into place, record in the store; *answer is the
 * file record {location, path, size, blake2b, uploaded_by, uploaded_at}.
 * Frees u in every case. */
int files_upload_finish(file_upload *u, json_t **answer);
/* Drop an unfinished upload (temporary file removed); NULL accepted. */
void files_upload_abort(file_upload *u);

#endif
