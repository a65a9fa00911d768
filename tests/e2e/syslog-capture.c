/* syslog-capture.c: LD_PRELOAD shim that appends syslog(3) lines to a file,
 * for running Sendmail in tests on a machine without a syslog daemon.
 * The path is read from SYSLOG_CAPTURE in a constructor, because Sendmail
 * clears its environment before it logs. Test-only; never installed. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char capture_path[4096];
static char ident[64] = "syslog";

__attribute__((constructor)) static void init(void) {
  const char *p = getenv("SYSLOG_CAPTURE");
  if (p) snprintf(capture_path, sizeof capture_path, "%s", p);
}

void openlog(const char *id, int option, int facility) {
  (void)option;
  (void)facility;
  if (id) snprintf(ident, sizeof ident, "%s", id);
}

void closelog(void) {}

void vsyslog(int priority, const char *format, va_list ap) {
  (void)priority;
  if (!capture_path[0]) return;
  FILE *f = fopen(capture_path, "a");
  if (!f) return;
  fprintf(f, "%ld %s: ", (long)time(NULL), ident);
  vfprintf(f, format, ap);
  fputc('\n', f);
  fclose(f);
}

void syslog(int priority, const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vsyslog(priority, format, ap);
  va_end(ap);
}

void __syslog_chk(int priority, int flag, const char *format, ...) {
  va_list ap;
  (void)flag;
  va_start(ap, format);
  vsyslog(priority, format, ap);
  va_end(ap);
}

void __vsyslog_chk(int priority, int flag, const char *format, va_list ap) {
  (void)flag;
  vsyslog(priority, format, ap);
}
