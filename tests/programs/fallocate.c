/* fallocate(2) on the root ramfs, with Linux's errors (fs/open.c
 * vfs_fallocate): mode checks, then EBADF for a file not open for
 * writing, ESPIPE for a pipe, ENODEV for a device, EFBIG past the
 * maximum size. Prints one line per check, then "N failures". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* include/uapi/linux/falloc.h */
#define KEEP_SIZE 0x01
#define PUNCH_HOLE 0x02
#define COLLAPSE_RANGE 0x08
#define ZERO_RANGE 0x10

static int failures;

static void check(const char *name, int ok) {
    printf("%s %s\n", ok ? "ok" : "FAIL", name);
    if (!ok)
        failures++;
}

static int fails_with(int fd, int mode, off_t offset, off_t len, int err) {
    errno = 0;
    return fallocate(fd, mode, offset, len) == -1 && errno == err;
}

static off_t size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_size : -1;
}

int main(void) {
    int fd = open("/tmp-falloc", O_RDWR | O_CREAT | O_TRUNC, 0644);
    check("open", fd >= 0);
    check("grows_to_offset_plus_len", fallocate(fd, 0, 100, 4000) == 0 && size_of(fd) == 4100);
    check("never_shrinks", fallocate(fd, 0, 0, 10) == 0 && size_of(fd) == 4100);
    check("keep_size", fallocate(fd, KEEP_SIZE, 0, 1 << 20) == 0 && size_of(fd) == 4100);
    check("zero_len_einval", fails_with(fd, 0, 0, 0, EINVAL));
    check("negative_offset_einval", fails_with(fd, 0, -1, 10, EINVAL));
    check("unknown_mode_eopnotsupp", fails_with(fd, 0x100, 0, 10, EOPNOTSUPP));
    check("punch_without_keep_size_eopnotsupp", fails_with(fd, PUNCH_HOLE, 0, 10, EOPNOTSUPP));
    check("punch_and_zero_eopnotsupp", fails_with(fd, PUNCH_HOLE | ZERO_RANGE | KEEP_SIZE, 0, 10, EOPNOTSUPP));
    /* Linux 6.12 (the version Umbra reports) and older: EINVAL; 6.13 made it EOPNOTSUPP. */
    check("collapse_with_keep_size_einval", fails_with(fd, COLLAPSE_RANGE | KEEP_SIZE, 0, 10, EINVAL));
    check("past_max_efbig", fails_with(fd, 0, INT64_MAX - 5, 10, EFBIG));
    check("bad_fd_ebadf", fails_with(99, 0, 0, 10, EBADF));
    int ro = open("/tmp-falloc", O_RDONLY);
    check("read_only_ebadf", fails_with(ro, 0, 0, 10, EBADF));
    /* Mode errors come before the open-mode check. */
    check("mode_before_ebadf", fails_with(ro, 0x100, 0, 10, EOPNOTSUPP));
    int p[2];
    check("pipe", pipe(p) == 0);
    check("pipe_espipe", fails_with(p[1], 0, 0, 10, ESPIPE));
    int null = open("/dev/null", O_WRONLY);
    check("device_enodev", fails_with(null, 0, 0, 10, ENODEV));
    printf("%d failures\n", failures);
    return failures != 0;
}
