/* Lists Windows Credential Manager entries from the Windows side, for
 * scripts/wine-flow.py: Wine has no cmdkey, and the check must not go
 * through the keyring crates the companion itself uses.
 *
 *   wincred-list.exe [substring]
 *
 * One line per credential whose target name contains `substring` (all when
 * omitted): "<type>\t<blob bytes>\t<target name>" (UTF-8). Never prints a
 * secret: only the type, the blob's size and the target name. Exit 0 (also
 * when there is none), 2 when CredEnumerateW fails otherwise.
 *
 * Built by scripts/wine-flow.py with x86_64-w64-mingw32-gcc (what
 * scripts/cross setup installs): -municode, links advapi32.
 */
#include <windows.h>
#include <wincred.h>
#include <stdio.h>
#include <wchar.h>

static void put_utf8(const wchar_t *w) {
  char buf[4096];
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, sizeof buf, NULL, NULL);
  fputs(n > 0 ? buf : "?", stdout);
}

int wmain(int argc, wchar_t **argv) {
  const wchar_t *needle = argc > 1 ? argv[1] : L"";
  DWORD count = 0;
  PCREDENTIALW *creds = NULL;
  if (!CredEnumerateW(NULL, 0, &count, &creds)) {
    DWORD err = GetLastError();
    if (err == ERROR_NOT_FOUND) return 0;
    fprintf(stderr, "wincred-list: CredEnumerateW failed (error %lu)\n", (unsigned long)err);
    return 2;
  }
  for (DWORD i = 0; i < count; i++) {
    const wchar_t *target = creds[i]->TargetName ? creds[i]->TargetName : L"";
    if (!wcsstr(target, needle)) continue;
    printf("%lu\t%lu\t", (unsigned long)creds[i]->Type, (unsigned long)creds[i]->CredentialBlobSize);
    put_utf8(target);
    fputc('\n', stdout);
  }
  CredFree(creds);
  return 0;
}
