/* test_redact.c — the redactor on its own (runner/redact.c): every encoded
 * form of a secret a loader may print (Python's bytes repr, percent
 * encoding as quote / quote_plus write it, base64 at each of the three byte
 * alignments in both alphabets, hex in both cases) against texts made by
 * Python's own encoders; overlapping matches redacted as one region; short
 * secrets; and streams split at every position, byte by byte and at random
 * giving exactly what redact_text gives for the whole text. Also ascii() /
 * unicode_escape (and that inside JSON), JSON with "\/" for '/', and base64
 * wrapped at 76 characters a line (base64.encodebytes, MIME). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assay.h"
#include "runner/runner.h"

/* The texts below were made by Python: S and T printed with print(s.encode()),
 * urllib.parse.quote / quote_plus (also with safe="" and safe="/"),
 * bytes.hex() (and upper()), base64.b64encode / urlsafe_b64encode of
 * prefix + secret + suffix for several prefixes (alignments 0, 1, 2) and
 * suffixes; the expected text has exactly the characters whose bits all
 * come from the secret replaced. */
#define S "p\xc3\xa4ssw\xc3\xb6rd-Zq8-917"          /* "pässwörd-Zq8-917" */
#define T "tok en/x'y\"z\x01\xc3\xbc"               /* with ' " / space \x01 ü */

static const struct {
  const char *in, *out;
} FORMS[] = {
    {"bytes b'p\\xc3\\xa4ssw\\xc3\\xb6rd-Zq8-917'",
     "bytes b'[REDACTED]'"},
    {"url?t=p%C3%A4ssw%C3%B6rd-Zq8-917&x=1",
     "url?t=[REDACTED]&x=1"},
    {"hex 70c3a4737377c3b672642d5a71382d393137.",
     "hex [REDACTED]."},
    {"HEX 70C3A4737377C3B672642D5A71382D393137.",
     "HEX [REDACTED]."},
    {"b64 cMOkc3N3w7ZyZC1acTgtOTE3 end",
     "b64 [REDACTED] end"},
    {"b64 cMOkc3N3w7ZyZC1acTgtOTE3IQ== end",
     "b64 [REDACTED]IQ== end"},
    {"b64 cMOkc3N3w7ZyZC1acTgtOTE3YWI= end",
     "b64 [REDACTED]YWI= end"},
    {"b64 dXDDpHNzd8O2cmQtWnE4LTkxNw== end",
     "b64 dX[REDACTED]w== end"},
    {"b64 dXDDpHNzd8O2cmQtWnE4LTkxNyE= end",
     "b64 dX[REDACTED]yE= end"},
    {"b64 dXDDpHNzd8O2cmQtWnE4LTkxN2Fi end",
     "b64 dX[REDACTED]2Fi end"},
    {"b64 dXNww6Rzc3fDtnJkLVpxOC05MTc= end",
     "b64 dXN[REDACTED]c= end"},
    {"b64 dXNww6Rzc3fDtnJkLVpxOC05MTch end",
     "b64 dXN[REDACTED]ch end"},
    {"b64 dXNww6Rzc3fDtnJkLVpxOC05MTdhYg== end",
     "b64 dXN[REDACTED]dhYg== end"},
    {"b64 dXNlcjpww6Rzc3fDtnJkLVpxOC05MTc= end",
     "b64 dXNlcjp[REDACTED]c= end"},
    {"b64 dXNlcjpww6Rzc3fDtnJkLVpxOC05MTch end",
     "b64 dXNlcjp[REDACTED]ch end"},
    {"b64 dXNlcjpww6Rzc3fDtnJkLVpxOC05MTdhYg== end",
     "b64 dXNlcjp[REDACTED]dhYg== end"},
    {"b64 QmFzaWM6eHlww6Rzc3fDtnJkLVpxOC05MTc= end",
     "b64 QmFzaWM6eHl[REDACTED]c= end"},
    {"b64 QmFzaWM6eHlww6Rzc3fDtnJkLVpxOC05MTch end",
     "b64 QmFzaWM6eHl[REDACTED]ch end"},
    {"b64 QmFzaWM6eHlww6Rzc3fDtnJkLVpxOC05MTdhYg== end",
     "b64 QmFzaWM6eHl[REDACTED]dhYg== end"},
    {"bytes b'tok en/x\\'y\"z\\x01\\xc3\\xbc'",
     "bytes b'[REDACTED]'"},
    {"url?t=tok%20en/x%27y%22z%01%C3%BC&x=1",
     "url?t=[REDACTED]&x=1"},
    {"url?t=tok+en%2Fx%27y%22z%01%C3%BC&x=1",
     "url?t=[REDACTED]&x=1"},
    {"url?t=tok%20en%2Fx%27y%22z%01%C3%BC&x=1",
     "url?t=[REDACTED]&x=1"},
    {"url?t=tok+en/x%27y%22z%01%C3%BC&x=1",
     "url?t=[REDACTED]&x=1"},
    {"hex 746f6b20656e2f782779227a01c3bc.",
     "hex [REDACTED]."},
    {"HEX 746F6B20656E2F782779227A01C3BC.",
     "HEX [REDACTED]."},
    {"b64 dG9rIGVuL3gneSJ6AcO8 end",
     "b64 [REDACTED] end"},
    {"b64 dG9rIGVuL3gneSJ6AcO8IQ== end",
     "b64 [REDACTED]IQ== end"},
    {"b64 dG9rIGVuL3gneSJ6AcO8YWI= end",
     "b64 [REDACTED]YWI= end"},
    {"b64 dXRvayBlbi94J3kiegHDvA== end",
     "b64 dX[REDACTED]A== end"},
    {"b64 dXRvayBlbi94J3kiegHDvCE= end",
     "b64 dX[REDACTED]CE= end"},
    {"b64 dXRvayBlbi94J3kiegHDvGFi end",
     "b64 dX[REDACTED]GFi end"},
    {"b64 dXN0b2sgZW4veCd5InoBw7w= end",
     "b64 dXN[REDACTED]w= end"},
    {"b64 dXN0b2sgZW4veCd5InoBw7wh end",
     "b64 dXN[REDACTED]wh end"},
    {"b64 dXN0b2sgZW4veCd5InoBw7xhYg== end",
     "b64 dXN[REDACTED]xhYg== end"},
    {"b64 dXNlcjp0b2sgZW4veCd5InoBw7w= end",
     "b64 dXNlcjp[REDACTED]w= end"},
    {"b64 dXNlcjp0b2sgZW4veCd5InoBw7wh end",
     "b64 dXNlcjp[REDACTED]wh end"},
    {"b64 dXNlcjp0b2sgZW4veCd5InoBw7xhYg== end",
     "b64 dXNlcjp[REDACTED]xhYg== end"},
    {"b64 QmFzaWM6eHl0b2sgZW4veCd5InoBw7w= end",
     "b64 QmFzaWM6eHl[REDACTED]w= end"},
    {"b64 QmFzaWM6eHl0b2sgZW4veCd5InoBw7wh end",
     "b64 QmFzaWM6eHl[REDACTED]wh end"},
    {"b64 QmFzaWM6eHl0b2sgZW4veCd5InoBw7xhYg== end",
     "b64 QmFzaWM6eHl[REDACTED]xhYg== end"},
};

/* Made by Python too: ascii(s) and s.encode("unicode_escape") (\xNN,
 * \uNNNN, \UNNNNNNNN), json.dumps({"a": ascii(s)}), json.dumps(s) (both
 * ensure_ascii, and jansson's upper-case hex) with every '/' as "\/", and
 * base64.encodebytes(b"user:" + L) with "\n" and "\r\n" line ends. */
#define U "p\xc3\xa4ssw\xc3\xb6rd/Zq8-917 x\xe2\x82\xac\xf0\x9f\x98\x80" /* ...x€😀 */
#define L "tok_A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5" \
          "A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5"

static const struct {
  const char *in, *out;
} MORE_FORMS[] = {
    {"ascii 'p\\xe4ssw\\xf6rd-Zq8-917' end",
     "ascii '[REDACTED]' end"},
    {"esc <p\\xe4ssw\\xf6rd-Zq8-917> end",
     "esc <[REDACTED]> end"},
    {"json {\"a\": \"'p\\\\xe4ssw\\\\xf6rd-Zq8-917'\"} end",
     "json {\"a\": \"'[REDACTED]'\"} end"},
    {"ascii 'tok en/x\\'y\"z\\x01\\xfc' end",
     "ascii '[REDACTED]' end"},
    {"esc <tok en/x'y\"z\\x01\\xfc> end",
     "esc <[REDACTED]> end"},
    {"json {\"a\": \"'tok en/x\\\\'y\\\"z\\\\x01\\\\xfc'\"} end",
     "json {\"a\": \"'[REDACTED]'\"} end"},
    {"ascii 'p\\xe4ssw\\xf6rd/Zq8-917 x\\u20ac\\U0001f600' end",
     "ascii '[REDACTED]' end"},
    {"esc <p\\xe4ssw\\xf6rd/Zq8-917 x\\u20ac\\U0001f600> end",
     "esc <[REDACTED]> end"},
    {"json {\"a\": \"'p\\\\xe4ssw\\\\xf6rd/Zq8-917 x\\\\u20ac\\\\U0001f600'\"} end",
     "json {\"a\": \"'[REDACTED]'\"} end"},
    {"php \"tok en\\/x'y\\\"z\\u0001\\u00fc\" end",
     "php \"[REDACTED]\" end"},
    {"php \"tok en\\/x'y\\\"z\\u0001\xc3""\xbc""\" end",
     "php \"[REDACTED]\" end"},
    {"php \"p\\u00e4ssw\\u00f6rd\\/Zq8-917 x\\u20ac\\ud83d\\ude00\" end",
     "php \"[REDACTED]\" end"},
    {"php \"p\xc3""\xa4""ssw\xc3""\xb6""rd\\/Zq8-917 x\xe2""\x82""\xac""\xf0""\x9f""\x98""\x80""\" end",
     "php \"[REDACTED]\" end"},
    {"php \"p\\u00E4ssw\\u00F6rd\\/Zq8-917 x\\u20AC\\uD83D\\uDE00\" end",
     "php \"[REDACTED]\" end"},
    {"b64 dXNlcjp0b2tfQTFiMkMzZDRFNUExYjJDM2Q0RTVBMWIyQzNkNEU1QTFiMkMzZDRFNUExYjJDM2Q0\nRTVBMWIyQzNkNEU1QTFiMkMzZDRFNUExYjJDM2Q0RTVBMWIyQzNkNEU1QTFiMkMzZDRFNQ==\nend",
     "b64 dXNlcjp[REDACTED]Q==\nend"},
    {"b64 dXNlcjp0b2tfQTFiMkMzZDRFNUExYjJDM2Q0RTVBMWIyQzNkNEU1QTFiMkMzZDRFNUExYjJDM2Q0\r\nRTVBMWIyQzNkNEU1QTFiMkMzZDRFNUExYjJDM2Q0RTVBMWIyQzNkNEU1QTFiMkMzZDRFNQ==\r\nend",
     "b64 dXNlcjp[REDACTED]Q==\r\nend"},
};

/* Redact `text` by streaming it in pieces cut at cuts[0..ncuts) (ascending). */
static char *stream_pieces(const redactor *r, const char *text, size_t len, const size_t *cuts,
                           size_t ncuts) {
  redact_stream *s;
  assert_int_equal(redact_stream_new(&s, r), ASSAY_OK);
  size_t cap = len * 2 + 64, gl = 0, at = 0;
  char *got = malloc(cap);
  assert_non_null(got);
  for (size_t k = 0; k <= ncuts; k++) {
    size_t to = k < ncuts ? cuts[k] : len;
    const char *o;
    size_t on;
    assert_int_equal(redact_stream_feed(s, text + at, to - at, 0, &o, &on), ASSAY_OK);
    while (gl + on + 1 > cap) got = realloc(got, cap *= 2);
    memcpy(got + gl, o, on);
    gl += on;
    at = to;
  }
  const char *o;
  size_t on;
  assert_int_equal(redact_stream_feed(s, NULL, 0, 1, &o, &on), ASSAY_OK);
  while (gl + on + 1 > cap) got = realloc(got, cap *= 2);
  memcpy(got + gl, o, on);
  gl += on;
  got[gl] = '\0';
  redact_stream_free(s);
  return got;
}

/* redact_text gives `expect`, and so does a stream cut in two at every
 * position, and one fed byte by byte. */
static void check_all_ways(const redactor *r, const char *text, const char *expect) {
  size_t len = strlen(text);
  char *t = redact_text(r, text, len);
  assert_non_null(t);
  if (strcmp(t, expect) != 0)
    fail_msg("redact_text(\"%s\") gave \"%s\", expected \"%s\"", text, t, expect);
  free(t);
  for (size_t cut = 0; cut <= len; cut++) {
    char *got = stream_pieces(r, text, len, &cut, 1);
    if (strcmp(got, expect) != 0)
      fail_msg("a stream of \"%s\" cut at %zu gave \"%s\", expected \"%s\"", text, cut, got,
               expect);
    free(got);
  }
  size_t *every = malloc((len + 1) * sizeof *every);
  for (size_t i = 0; i < len; i++) every[i] = i + 1;
  char *got = stream_pieces(r, text, len, every, len ? len - 1 : 0);
  assert_string_equal(got, expect);
  free(got);
  free(every);
}

static void encoded_forms(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s}", "S", S, "T", T);
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  for (size_t i = 0; i < sizeof FORMS / sizeof FORMS[0]; i++)
    check_all_ways(r, FORMS[i].in, FORMS[i].out);
  /* all of them in one text, one per line */
  size_t total = 1;
  for (size_t i = 0; i < sizeof FORMS / sizeof FORMS[0]; i++)
    total += strlen(FORMS[i].in) + strlen(FORMS[i].out) + 2;
  char *in = calloc(1, total), *out = calloc(1, total);
  for (size_t i = 0; i < sizeof FORMS / sizeof FORMS[0]; i++) {
    strcat(in, FORMS[i].in), strcat(in, "\n");
    strcat(out, FORMS[i].out), strcat(out, "\n");
  }
  check_all_ways(r, in, out);
  free(in);
  free(out);
  /* the forms that were already there: raw, JSON-escaped, inside repr() */
  check_all_ways(r,
                 "raw " S " json \"tok en/x'y\\\"z\\u0001\\u00fc\" repr "
                 "'tok en/x\\'y\"z\\x01\xc3\xbc'",
                 "raw [REDACTED] json \"[REDACTED]\" repr '[REDACTED]'");
  check_all_ways(r, "jansson \"tok en/x'y\\\"z\\u0001\\u00FC\"", "jansson \"[REDACTED]\"");
  /* text that only looks alike stays */
  check_all_ways(r, "p%C3%A4ssw%C3%B6rd-Zq8-91 70c3a4737377c3b672642d5a71382d3931",
                 "p%C3%A4ssw%C3%B6rd-Zq8-91 70c3a4737377c3b672642d5a71382d3931");
  redactor_free(r);
  json_decref(secrets);
}

static void escaped_slashed_and_wrapped_forms(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s, s:s, s:s}", "S", S, "T", T, "U", U, "L", L);
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  size_t total = 1;
  for (size_t i = 0; i < sizeof MORE_FORMS / sizeof MORE_FORMS[0]; i++) {
    check_all_ways(r, MORE_FORMS[i].in, MORE_FORMS[i].out);
    total += strlen(MORE_FORMS[i].in) + strlen(MORE_FORMS[i].out) + 2;
  }
  /* all of them in one text */
  char *in = calloc(1, total), *out = calloc(1, total);
  for (size_t i = 0; i < sizeof MORE_FORMS / sizeof MORE_FORMS[0]; i++) {
    strcat(in, MORE_FORMS[i].in), strcat(in, "\n");
    strcat(out, MORE_FORMS[i].out), strcat(out, "\n");
  }
  check_all_ways(r, in, out);
  free(in);
  free(out);
  /* a line break is allowed inside base64 only, one at a time */
  check_all_ways(r, "x p\\xe4ssw\n\\xf6rd-Zq8-917 y", "x p\\xe4ssw\n\\xf6rd-Zq8-917 y");
  check_all_ways(r, "b64 cMOkc3N3\nw7ZyZC1acTgt\r\nOTE3 end", "b64 [REDACTED] end");
  check_all_ways(r, "b64 cMOkc3N3\n\nw7ZyZC1acTgtOTE3 end", "b64 cMOkc3N3\n\nw7ZyZC1acTgtOTE3 end");
  check_all_ways(r, "b64 cMOkc3N3\rw7ZyZC1acTgtOTE3 end", "b64 cMOkc3N3\rw7ZyZC1acTgtOTE3 end");
  redactor_free(r);
  json_decref(secrets);
}

static void overlaps_are_one_region(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s, s:s}", "A", "abcdef", "B", "defghi", "C", "xyxy");
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  /* two secrets overlapping: no tail of the second left visible */
  check_all_ways(r, "<abcdefghi>", "<[REDACTED]>");
  check_all_ways(r, "<defghiabcdef>", "<[REDACTED][REDACTED]>"); /* adjacent: two */
  check_all_ways(r, "<abcdefghi abcdef defghi>", "<[REDACTED] [REDACTED] [REDACTED]>");
  /* one secret overlapping itself, in a chain of any length */
  check_all_ways(r, "<xyxyx>", "<[REDACTED]x>");
  check_all_ways(r, "<xyxyxy>", "<[REDACTED]>");
  check_all_ways(r, "<xyxyxyxyxyxyxy!>", "<[REDACTED]!>");
  /* a chain is redacted as it streams: the marker goes out at once and
   * what follows is swallowed, nothing piles up waiting */
  redact_stream *s;
  assert_int_equal(redact_stream_new(&s, r), ASSAY_OK);
  const char *o;
  size_t on;
  assert_int_equal(redact_stream_feed(s, "<xyxyxy", 7, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 11);
  assert_memory_equal(o, "<[REDACTED]", 11);
  for (int k = 0; k < 10000; k++) {
    assert_int_equal(redact_stream_feed(s, "xyxyxyxyxy", 10, 0, &o, &on), ASSAY_OK);
    assert_int_equal(on, 0);
  }
  assert_int_equal(redact_stream_feed(s, "xy!", 3, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 1);
  assert_memory_equal(o, "!", 1);
  assert_int_equal(redact_stream_feed(s, NULL, 0, 1, &o, &on), ASSAY_OK);
  assert_int_equal(on, 0);
  redact_stream_free(s);
  redactor_free(r);
  json_decref(secrets);
}

static void short_secrets(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s}", "K", "k9", "Q", "\xc3\xa4");
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  check_all_ways(r, "key=k9; hex 6b39; b64 azk=; ae=\xc3\xa4 %C3%A4 b'\\xc3\\xa4'",
                 "key=[REDACTED]; hex [REDACTED]; b64 [REDACTED]k=; ae=[REDACTED] [REDACTED] "
                 "b'[REDACTED]'");
  redactor_free(r);
  json_decref(secrets);
}

/* Random texts of secret forms, their pieces and noise, cut at random
 * places: a stream always gives what redact_text gives. */
static void random_streams(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s, s:s}", "A", "abcdef", "B", "defghi", "S", S);
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  static const char *const bits[] = {"abcdef", "defghi", "abc", "def", "ghi", S, "cMOkc3N3w7Zy",
                                     "ZC1acTgtOTE3", "70c3a473", "7377c3b672642d5a71382d393137",
                                     "p%C3%A4ssw%C3%B6rd-Zq8-917", " ", "\n", "x", "a", "d"};
  uint64_t seed = 42;
  for (int round = 0; round < 400; round++) {
    char text[512] = "";
    size_t len = 0;
    while (len < 300) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      const char *b = bits[(seed >> 33) % (sizeof bits / sizeof bits[0])];
      size_t bl = strlen(b);
      memcpy(text + len, b, bl);
      len += bl;
    }
    text[len] = '\0';
    char *whole = redact_text(r, text, len);
    size_t cuts[8];
    for (int k = 0; k < 8; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      cuts[k] = (seed >> 33) % (len + 1);
    }
    for (int a = 0; a < 8; a++) /* ascending */
      for (int b = a + 1; b < 8; b++)
        if (cuts[b] < cuts[a]) {
          size_t t = cuts[a];
          cuts[a] = cuts[b], cuts[b] = t;
        }
    char *got = stream_pieces(r, text, len, cuts, 8);
    assert_string_equal(got, whole);
    /* and nothing of a whole secret survives */
    assert_null(strstr(whole, "abcdef"));
    assert_null(strstr(whole, "defghi"));
    assert_null(strstr(whole, S));
    free(got);
    free(whole);
  }
  redactor_free(r);
  json_decref(secrets);
}

int main(void) {
  assay_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(encoded_forms),
      cmocka_unit_test(escaped_slashed_and_wrapped_forms),
      cmocka_unit_test(overlaps_are_one_region),
      cmocka_unit_test(short_secrets),
      cmocka_unit_test(random_streams),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  assay_shutdown();
  return rc;
}
