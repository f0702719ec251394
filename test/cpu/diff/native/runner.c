/*
 * Native runner of the differential harness: the host CPU as the oracle.
 *
 * stdin, per case (little-endian):
 *   u32 code length (<= MAX_CODE; bit 31 set: the code is 32-bit, run in compatibility mode), code bytes,
 *   17 x u64: RAX..R15 (encoding order, RSP included), RFLAGS,
 *   512 bytes: FXSAVE64 image loaded with FXRSTOR64,
 *   u32 run count, then runs of { u32 offset, u32 length, bytes } that patch the data window,
 *   which starts every case as the default pattern (diff_pattern below; the TS side mirrors it).
 * stdout, per case:
 *   i32 vector (-1 none), u32 error code, u64 RIP offset from the code base,
 *   17 x u64 GPRs and RFLAGS, 512-byte FXSAVE64 image, then the data window as runs against the
 *   default pattern, in the same run format.
 * Exceptions arrive as signals; the handler (on its own stack) copies the vector, error code and
 * the interrupted state out of the signal frame and jumps back to the case loop.
 * Exit status: 0 at end of input, 2 on malformed input (named on stderr).
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

#define CODE_BASE 0x20000000UL
#define CODE_SIZE 0x4000UL
#define DATA_BASE 0x10000000UL
#define DATA_SIZE 0x10000UL
/* jmp far 0x33:next (compatibility mode only, 7 bytes), then jmp [rip+0]; dq diff_exit (14 bytes). */
#define EXIT_JUMP (7 + 14)
#define MAX_CODE (CODE_SIZE - EXIT_JUMP)
#define COMPAT_FLAG 0x80000000U
#define USER_CS 0x33
/* Merge differing bytes closer than this into one run: fewer, longer runs. */
#define RUN_GAP 8

extern void diff_run(const uint64_t *state, const void *fx);
extern void diff_run32(const uint64_t *state, const void *fx);
extern void diff_exit(void);
extern void diff_host_fpu(void *fx, int save);
extern uint8_t diff_out_fx[512];
extern uint64_t diff_out_gpr[17];

static sigjmp_buf resume;
static int32_t vec;
static uint32_t errcode;
static uint64_t rip;
static uint8_t pattern[DATA_SIZE] __attribute__((aligned(64)));
static uint8_t host_fx[512] __attribute__((aligned(16)));
static uint8_t in_fx[512] __attribute__((aligned(16)));

static uint8_t diff_pattern(uint32_t i) { return (uint8_t)((i * 0x9dU) ^ (i >> 8) ^ 0x5aU); }

static void on_fault(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  static const int order[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                 REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };
  for (int k = 0; k < 16; k++) diff_out_gpr[k] = (uint64_t)g[order[k]];
  diff_out_gpr[16] = (uint64_t)g[REG_EFL];
  if (uc->uc_mcontext.fpregs) memcpy(diff_out_fx, uc->uc_mcontext.fpregs, 512);
  vec = (int32_t)g[REG_TRAPNO];
  errcode = (uint32_t)g[REG_ERR];
  rip = (uint64_t)g[REG_RIP] - CODE_BASE;
  siglongjmp(resume, 1);
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

static void bad_input(const char *what) {
  fprintf(stderr, "diff-runner: malformed input: %s\n", what);
  exit(2);
}

static void put(const void *p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n) { perror("diff-runner: write"); exit(3); }
}

/*
 * Writes the data window as runs against the default pattern, then puts the pattern back over
 * those runs: every byte a case changed is in some run, so the window is clean for the next case
 * without copying 64 KiB.
 */
static void put_window_diff(uint8_t *data) {
  static uint32_t runs[2 * DATA_SIZE / (RUN_GAP + 1) + 2];
  uint32_t n = 0, i = 0;
  while (i < DATA_SIZE) {
    if ((i & 7) == 0) {
      uint64_t a, b;
      memcpy(&a, data + i, 8); memcpy(&b, pattern + i, 8);
      if (a == b) { i += 8; continue; }
    }
    if (data[i] == pattern[i]) { i++; continue; }
    uint32_t start = i, last = i;
    while (i < DATA_SIZE && i - last <= RUN_GAP) { if (data[i] != pattern[i]) last = i; i++; }
    runs[2 * n] = start; runs[2 * n + 1] = last + 1 - start; n++;
    i = last + 1;
  }
  put(&n, 4);
  for (uint32_t k = 0; k < n; k++) {
    put(&runs[2 * k], 8);
    put(data + runs[2 * k], runs[2 * k + 1]);
    memcpy(data + runs[2 * k], pattern + runs[2 * k], runs[2 * k + 1]);
  }
}

int main(void) {
  static uint8_t altstack[1 << 16];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
  if (sigaltstack(&ss, NULL) != 0) { perror("diff-runner: sigaltstack"); return 3; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* NODEFER: the handler leaves by siglongjmp without restoring the mask (no syscall per case). */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
  for (unsigned k = 0; k < sizeof sigs / sizeof sigs[0]; k++) sigaction(sigs[k], &sa, NULL);

  uint8_t *code = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *data = mmap((void *)DATA_BASE, DATA_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (uint8_t *)CODE_BASE || data != (uint8_t *)DATA_BASE) {
    fprintf(stderr, "diff-runner: cannot map the code page at 0x%lx and the data window at 0x%lx\n", CODE_BASE, DATA_BASE);
    return 3;
  }
  for (uint32_t i = 0; i < DATA_SIZE; i++) pattern[i] = diff_pattern(i);
  memcpy(data, pattern, DATA_SIZE);
  diff_host_fpu(host_fx, 1);
  static uint8_t outbuf[1 << 20];
  setvbuf(stdout, (char *)outbuf, _IOFBF, sizeof outbuf);

  uint64_t state[17];
  for (;;) {
    uint32_t len;
    if (!read_full(&len, 4)) break;
    int compat = (len & COMPAT_FLAG) != 0;
    len &= ~COMPAT_FLAG;
    if (len > MAX_CODE) bad_input("code longer than the code pages");
    if (!read_full(code, len)) bad_input("truncated code");
    uint32_t at = len;
    if (compat) {
      /* Back to 64-bit code at the next byte: jmp far USER_CS:CODE_BASE+len+7. */
      uint32_t next = (uint32_t)(CODE_BASE + at + 7);
      uint16_t sel = USER_CS;
      code[at] = 0xea; memcpy(code + at + 1, &next, 4); memcpy(code + at + 5, &sel, 2);
      at += 7;
    }
    /* jmp [rip+0]; dq diff_exit */
    code[at] = 0xff; code[at + 1] = 0x25; memset(code + at + 2, 0, 4);
    uint64_t back = (uint64_t)(uintptr_t)diff_exit;
    memcpy(code + at + 6, &back, 8);
    if (!read_full(state, sizeof state) || !read_full(in_fx, sizeof in_fx)) bad_input("truncated state");
    /* Only the arithmetic flags and DF reach the snippet: TF/IF/AC would change the host's behaviour. */
    state[16] = (state[16] & 0xcd5) | 2;
    uint32_t nruns;
    if (!read_full(&nruns, 4) || nruns > DATA_SIZE) bad_input("data run count");
    for (uint32_t k = 0; k < nruns; k++) {
      uint32_t hdr[2];
      if (!read_full(hdr, 8)) bad_input("truncated data run");
      if (hdr[0] > DATA_SIZE || hdr[1] > DATA_SIZE - hdr[0]) bad_input("data run outside the window");
      if (!read_full(data + hdr[0], hdr[1])) bad_input("truncated data run");
    }
    /* FXRSTOR64 faults (#GP) on reserved MXCSR bits; refuse such an image rather than report a fault. */
    uint32_t mxcsr;
    memcpy(&mxcsr, in_fx + 24, 4);
    if (mxcsr & 0xffff0000U) bad_input("reserved MXCSR bits set");

    vec = -1; errcode = 0; rip = len;
    if (sigsetjmp(resume, 0) == 0) {
      if (compat) diff_run32(state, in_fx); else diff_run(state, in_fx);
    }
    diff_host_fpu(host_fx, 0);
    put(&vec, 4); put(&errcode, 4); put(&rip, 8);
    put(diff_out_gpr, sizeof diff_out_gpr);
    put(diff_out_fx, 512);
    put_window_diff(data);
  }
  fflush(stdout);
  return 0;
}
