/*
 * Host-CPU oracle driver. Reads cases from stdin, runs each natively, writes results to stdout.
 * Input: u32 code length, code bytes (one template for the whole stream), then records of
 * 17 u64 (RAX..R15 with RSP slot ignored, RFLAGS), a 512-byte FXSAVE64 image and the 4 KiB data window.
 * Output per case: i32 exception vector (-1 none), i32 error code, 17 u64, FXSAVE64 image, data window.
 * Exceptions: a SIGFPE/SIGSEGV/SIGILL/SIGBUS/SIGTRAP handler reads the vector and error code
 * from the signal context and jumps back. The code page sits at 0x20000000 and the data window
 * at 0x10000000, the same layout as the engine's snippet machine.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_BASE ((void *)0x20000000)
#define DATA_BASE ((void *)0x10000000)
#define DATA_SIZE 4096

extern void run_case(const uint64_t *in, uint64_t *out, void *code, const void *fxin, void *fxout);
extern void snippet_return(void);


static sigjmp_buf env;
static volatile int32_t vec, err;

static void on_signal(int sig, siginfo_t *si, void *ctx) {
  ucontext_t *uc = (ucontext_t *)ctx;
  (void)si; (void)sig;
  vec = (int32_t)uc->uc_mcontext.gregs[REG_TRAPNO];
  err = (int32_t)uc->uc_mcontext.gregs[REG_ERR];
  siglongjmp(env, 1);
}

static int read_full(void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(0, (char *)buf + got, n - got);
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}

int main(void) {
  static char altstack[65536];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  int sigs[] = { SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP };
  for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);

  uint8_t *code = mmap(CODE_BASE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *data = mmap(DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != CODE_BASE || data != DATA_BASE) { fprintf(stderr, "runner: cannot map the fixed pages\n"); return 2; }
  uint32_t len;
  if (!read_full(&len, 4) || len > 4000) return 2;
  if (!read_full(code, len)) return 2;
  /* jmp [rip+0]; dq snippet_return */
  code[len] = 0xff; code[len + 1] = 0x25; memset(code + len + 2, 0, 4);
  uint64_t back = (uint64_t)(uintptr_t)snippet_return;
  memcpy(code + len + 6, &back, 8);
  mprotect(code, 4096, PROT_READ | PROT_EXEC);

  uint64_t in[17], out[17];
  static uint8_t fxin[512] __attribute__((aligned(16))), fxout[512] __attribute__((aligned(16)));
  for (;;) {
    if (!read_full(in, sizeof in)) break;
    if (!read_full(fxin, sizeof fxin)) break;
    if (!read_full(data, DATA_SIZE)) break;
    memset(out, 0, sizeof out);
    memset(fxout, 0, sizeof fxout);
    vec = -1; err = 0;
    if (sigsetjmp(env, 1) == 0) run_case(in, out, code, fxin, fxout);
    fwrite((const void *)&vec, 4, 1, stdout);
    fwrite((const void *)&err, 4, 1, stdout);
    fwrite(out, sizeof out, 1, stdout);
    fwrite(fxout, sizeof fxout, 1, stdout);
    fwrite(data, DATA_SIZE, 1, stdout);
  }
  fflush(stdout);
  return 0;
}
