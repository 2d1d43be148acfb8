/*
 * fuzz_sni.c -- libFuzzer target for the ClientHello parsers of the pure
 * core (ftps_sni.c): the server_name extension and the ALPN list. Both see
 * attacker bytes before any authentication.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ftps/ftps_sni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char name[FTPS_SNI_MAX + 1];
  int bad = 0;
  const unsigned char *hit;

  if (ftps_sni_parse(data, size, name, sizeof(name)) == 1) {
    /* A name that parsed is NUL-terminated, bounded and has no NUL. */
    if (strlen(name) == 0 || strlen(name) > FTPS_SNI_MAX) {
      __builtin_trap();
    }
  }

  hit = ftps_alpn_find(data, size, "ftp", &bad);
  if (hit != NULL && (hit < data || hit + 1 + hit[0] > data + size)) {
    __builtin_trap();
  }
  (void) ftps_alpn_find(data, size, "ftp-data", &bad);
  return 0;
}
