/* getrandom(2) and /dev/urandom checks against Linux's behaviour
 * (drivers/char/random.c): flags, EFAULT, partial copies up to a fault.
 * Prints "ok NAME" / "FAIL NAME: ..." lines, then the bytes this boot got
 * ("bytes getrandom HEX", "bytes urandom HEX", "bytes at_random HEX") so
 * the test can check that two boots differ, then "N failures".
 * Built with musl-gcc -static. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define GRND_NONBLOCK 0x0001
#define GRND_RANDOM 0x0002
#define GRND_INSECURE 0x0004

static int failures;

static void check(const char *name, int good, const char *detail) {
    if (good) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s (errno %d)\n", name, detail, errno);
        failures++;
    }
}

static long grnd(void *buf, unsigned long len, unsigned long flags) {
    return syscall(SYS_getrandom, buf, len, flags);
}

#define EXPECT_ERRNO(name, call, want)                                     \
    do {                                                                   \
        errno = 0;                                                         \
        long r_ = (long)(call);                                            \
        check(name, r_ == -1 && errno == (want), "wrong result or errno"); \
    } while (0)

static void hex(const char *label, const unsigned char *p, size_t n) {
    printf("bytes %s ", label);
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
    printf("\n");
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

int main(void) {
    unsigned char a[64], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    check("getrandom_64", grnd(a, sizeof a, 0) == 64 && !all_zero(a, sizeof a), "short or zero");
    check("getrandom_again_differs", grnd(b, sizeof b, 0) == 64 && memcmp(a, b, sizeof a) != 0, "repeated output");
    check("flag_nonblock", grnd(b, 16, GRND_NONBLOCK) == 16, "GRND_NONBLOCK");
    check("flag_random", grnd(b, 16, GRND_RANDOM) == 16, "GRND_RANDOM");
    check("flag_insecure", grnd(b, 16, GRND_INSECURE) == 16, "GRND_INSECURE");
    check("flag_nonblock_random", grnd(b, 16, GRND_NONBLOCK | GRND_RANDOM) == 16, "NONBLOCK|RANDOM");
    check("flag_nonblock_insecure", grnd(b, 16, GRND_NONBLOCK | GRND_INSECURE) == 16, "NONBLOCK|INSECURE");
    EXPECT_ERRNO("flag_random_insecure_einval", grnd(b, 16, GRND_RANDOM | GRND_INSECURE), EINVAL);
    EXPECT_ERRNO("flag_unknown_einval", grnd(b, 16, 0x8), EINVAL);
    EXPECT_ERRNO("flag_all_bits_einval", grnd(b, 16, 0xffffffffUL), EINVAL);
    /* flags is an unsigned int: the upper half of the register is ignored. */
    check("flag_upper_bits_ignored", grnd(b, 16, 0x100000000UL) == 16, "upper 32 bits of flags");
    /* EINVAL for flags comes before EFAULT for the buffer. */
    EXPECT_ERRNO("flags_checked_before_buffer", grnd(NULL, 16, 0x8), EINVAL);
    check("zero_length_null", grnd(NULL, 0, 0) == 0, "getrandom(NULL, 0, 0)");
    check("zero_length", grnd(b, 0, 0) == 0, "getrandom(buf, 0, 0)");
    EXPECT_ERRNO("null_efault", grnd(NULL, 16, 0), EFAULT);
    EXPECT_ERRNO("kernel_address_efault", grnd((void *)0xffff800000000000UL, 16, 0), EFAULT);
    EXPECT_ERRNO("noncanonical_efault", grnd((void *)0x0000800000000000UL, 16, 0), EFAULT);
    EXPECT_ERRNO("range_past_user_space_efault", grnd(b, (unsigned long)-1 - (unsigned long)b + 16, 0), EFAULT);

    unsigned char *pages = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap", pages != MAP_FAILED, "mmap");
    if (pages != MAP_FAILED) {
        /* pages: [rw][read-only][unmapped] */
        munmap(pages + 2 * 4096, 4096);
        mprotect(pages + 4096, 4096, PROT_READ);
        EXPECT_ERRNO("read_only_efault", grnd(pages + 4096, 16, 0), EFAULT);
        EXPECT_ERRNO("unmapped_efault", grnd(pages + 2 * 4096, 16, 0), EFAULT);
        /* 100 writable bytes before the read-only page: a partial copy. */
        long r = grnd(pages + 4096 - 100, 200, 0);
        check("partial_copy_up_to_fault", r == 100, "expected 100 bytes");
        /* A small request (<= 32 bytes) that crosses the boundary too. */
        r = grnd(pages + 4096 - 10, 32, 0);
        check("partial_small_copy", r == 10, "expected 10 bytes");
        /* Whole pages up to the read-only one. */
        r = grnd(pages, 3 * 4096, 0);
        check("pages_up_to_fault", r == 4096, "expected 4096 bytes");
        /* Demand paging: a fresh page is filled, not EFAULT. */
        unsigned char *fresh = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        check("fresh_pages", fresh != MAP_FAILED && grnd(fresh, 8192, 0) == 8192 && !all_zero(fresh, 8192),
              "demand-paged buffer");
    }

    unsigned char u[32];
    int fd = open("/dev/urandom", O_RDONLY);
    check("urandom_read", fd >= 0 && read(fd, u, sizeof u) == (long)sizeof u && !all_zero(u, sizeof u),
          "/dev/urandom");
    int fd2 = open("/dev/random", O_RDONLY | O_NONBLOCK);
    unsigned char r2[32];
    check("random_read_nonblock", fd2 >= 0 && read(fd2, r2, sizeof r2) == (long)sizeof r2 && memcmp(r2, u, 32) != 0,
          "/dev/random");

    hex("getrandom", a, 32);
    hex("urandom", u, 32);
    const unsigned char *at_random = (const unsigned char *)getauxval(AT_RANDOM);
    if (at_random) hex("at_random", at_random, 16);
    check("at_random_present", at_random != NULL, "no AT_RANDOM");
    printf("%d failures\n", failures);
    return failures;
}
