/* integration/secrets.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "integration/secrets.h"
#include "internal.h"

int keyring_open(secret_keyring **out, const char *home, const char *key_path) {
  (void)out;
  (void)home;
  (void)key_path;
  return assay__err(ASSAY_ERR_INTERNAL, "keyring_open: not implemented yet");
}

void keyring_free(secret_keyring *k) {
  (void)k;
}

int keyring_sync(secret_keyring *k, store *s) {
  (void)k;
  (void)s;
  return assay__err(ASSAY_ERR_INTERNAL, "keyring_sync: not implemented yet");
}

int secret_seal(secret_keyring *k, const char *integration_id, const char *variable, const char *user_id, const char *value, size_t len, secret_row *row) {
  (void)k;
  (void)integration_id;
  (void)variable;
  (void)user_id;
  (void)value;
  (void)len;
  (void)row;
  return assay__err(ASSAY_ERR_INTERNAL, "secret_seal: not implemented yet");
}

int secret_open(secret_keyring *k, const secret_row *row, char **out, size_t *len) {
  (void)k;
  (void)row;
  (void)out;
  (void)len;
  return assay__err(ASSAY_ERR_INTERNAL, "secret_open: not implemented yet");
}

void secret_free(char *plain) {
  (void)plain;
}

int keyring_rotate(secret_keyring *k, store *s, size_t *resealed, char new_key_id[SECRET_KEY_ID_LEN + 1]) {
  (void)k;
  (void)s;
  (void)resealed;
  (void)new_key_id;
  return assay__err(ASSAY_ERR_INTERNAL, "keyring_rotate: not implemented yet");
}
const char *keyring_path(const secret_keyring *k) {
  (void)k;
  return NULL;
}
void keyring_key_id(secret_keyring *k, char out[SECRET_KEY_ID_LEN + 1]) {
  (void)k;
  out[0] = 0;
}
