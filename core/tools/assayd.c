/* assayd.c — the assay server: serves the platform of a home directory over
 * HTTP. All the work is in serve.c, shared with `assay serve`. */
#include "serve.h"

int main(int argc, char **argv) {
  argv[0] = "assayd";
  return serve_main(argc, argv);
}
