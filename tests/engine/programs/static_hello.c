/* A statically linked program: ckpt refuses to launch or exec it (the
 * agent cannot be loaded into it). */
#include <stdio.h>

int main(void) {
  puts("static program ran");
  return 0;
}
