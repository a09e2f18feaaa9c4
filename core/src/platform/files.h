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
 * installed.
 *
 * Who may write where (docs/registry.md "Files"): a member may add or
 * replace a file only in a top-level folder (the first component of its
 * path) all of whose files — anywhere beneath it — they uploaded
 * themselves (so nobody puts a module beside someone else's loader or
 * replaces their file); a member deletes only their own files; workspace
 * admins may do all of it. A top-level folder named by 16 lowercase hex
 * digits is a content folder, where default uploads go: it holds files
 * directly (no sub-folders), each with content whose BLAKE2b-256 begins
 * with the folder's name. Uploading the bytes already stored at a path of
 * a content folder succeeds without changing anything, whoever stored
 * them (the answer is the existing record).
 *
 * The tree on disk is only ever walked from a descriptor of
 * <home>/files/<workspace_id>, component by component, without following
 * symbolic links (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, else
 * openat O_NOFOLLOW): a link planted in the store is never followed by
 * resolving, uploading or deleting.
 *
 * Limits (files_limits, read at platform open): the largest upload, a
 * quota per workspace, and free space an upload must leave on the
 * home's filesystem. Over one, an upload is ASSAY_ERR_PAYLOAD_TOO_LARGE
 * naming the limit: at begin/expect with a declared size, during writes
 * (free space looked at every FILES_SPACE_CHECK_BYTES), and at finish
 * (the quota, exactly, in the write transaction; an upload without
 * upload_path only there, as it may repeat bytes stored already, which
 * take no room). */
#ifndef ASSAY_FILES_H
#define ASSAY_FILES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/platform.h"

#define FILES_LOCATION_PREFIX "assay://files/"
#define FILES_PATH_MAX 1024
/* Length of a content folder's name (hex digits of the content hash). */
#define FILES_CONTENT_FOLDER_LEN 16

#define FILES_DEFAULT_MAX_UPLOAD (64LL << 30)  /* 64 GiB */
#define FILES_DEFAULT_MIN_FREE (1LL << 30)     /* 1 GiB ... */
#define FILES_DEFAULT_MIN_FREE_PERCENT 5       /* ... or 5% of the filesystem, if less */
/* During an upload, free space is looked at again after this many bytes. */
#define FILES_SPACE_CHECK_BYTES (16LL << 20)

typedef struct files_limits {
  long long max_upload_bytes;      /* largest file; default FILES_DEFAULT_MAX_UPLOAD */
  long long workspace_quota_bytes; /* sum of a workspace's file sizes; 0: unlimited (default) */
  long long min_free_bytes;        /* free space an upload must leave on the home's
                                      filesystem; -1: default (the smaller of 1 GiB and 5%
                                      of the filesystem's size); 0: none */
} files_limits;

/* The limits from the environment: ASSAY_MAX_UPLOAD_BYTES (positive),
 * ASSAY_WORKSPACE_QUOTA_BYTES (0: unlimited), ASSAY_MIN_FREE_BYTES (0:
 * none); unset means the default. A value that is not a number in range
 * is ASSAY_ERR_CONFIG naming the variable. (assayd's --max-upload-mb and
 * --workspace-quota-mb set the first two.) */
int files_limits_from_env(files_limits *out);

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
 * and — when upload_path is given — whether the caller may write there
 * (checked again at finish), open the temporary file. `s` is used only during the call (an upload may
 * last long: it holds no store connection; finish takes one from p's
 * pool). On failure nothing is left open. */
int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who,
                       const char *query);
/* The body's size when it is known in advance (size < 0: unknown). The
 * upload must then be exactly that long (finish refuses another size), and
 * a size over a limit — the largest upload, the workspace's quota, the
 * free space the disk must keep — fails at once
 * (ASSAY_ERR_PAYLOAD_TOO_LARGE naming the limit; abort the upload). */
int files_upload_expect(file_upload *u, int64_t size);
/* Append a piece of the body (hashed and written). A failed write (disk
 * full, I/O error, a limit passed: ASSAY_ERR_PAYLOAD_TOO_LARGE) removes
 * the temporary file at once and fails every later write and the finish
 * with the same error; abort or finish the upload all the same. */
int files_upload_write(file_upload *u, const void *data, size_t n);
/* Finish: fsync, then in one write transaction check the role, who may
 * write there (ASSAY_ERR_PERMISSION_DENIED), a content folder's rule
 * (ASSAY_ERR_CONFIG) and the quota again, record and rename into place
 * (ASSAY_ERR_CONFLICT when a folder of the path is a file or the path is
 * a folder); *answer is the file record {location, path, size, blake2b,
 * uploaded_by, uploaded_at}. Frees u in every case; on failure nothing is
 * kept. */
int files_upload_finish(file_upload *u, json_t **answer);
/* Drop an unfinished upload (temporary file removed); NULL accepted. */
void files_upload_abort(file_upload *u);

#endif
