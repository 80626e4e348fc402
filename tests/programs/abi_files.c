/* File I/O: open/openat flags, read/write, pread/pwrite, readv/writev,
 * lseek, truncate/ftruncate, with Linux's errno for bad input. */
#include "abi_test.h"
#include <limits.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>

static char long_name[300];
static char long_path[5000];

static void open_flags(void) {
    write_file("f", "hello");
    mkdir("d", 0755);
    symlink("f", "link");
    symlink("nowhere", "dangling");
    ERR(open("missing", O_RDONLY), ENOENT);
    ERR(open("", O_RDONLY), ENOENT);
    ERR(open("f", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    ERR(open("link", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
    ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
    ERR(open("f/x", O_RDONLY), ENOTDIR);
    ERR(open("f/", O_RDONLY), ENOTDIR);
    ERR(open("d", O_WRONLY), EISDIR);
    ERR(open("d", O_RDWR), EISDIR);
    ERR(open("link", O_RDONLY | O_NOFOLLOW), ELOOP);
    ERR(open("missing/x", O_RDONLY | O_CREAT, 0644), ENOENT);
    ERR(open(long_name, O_RDONLY), ENAMETOOLONG);
    ERR(open(long_name, O_RDONLY | O_CREAT, 0644), ENAMETOOLONG);
    ERR(open(long_path, O_RDONLY), ENAMETOOLONG);
    ERR(syscall(SYS_open, (char *)1, O_RDONLY), EFAULT);
    ERR(syscall(SYS_openat, 1000, "f", O_RDONLY), EBADF);
    ERR(syscall(SYS_openat, -5, "f", O_RDONLY), EBADF);

    /* O_CREAT through a dangling symlink creates its target. */
    int fd = OK(open("dangling", O_WRONLY | O_CREAT, 0600));
    close(fd);
    struct stat st;
    CHECK(stat("nowhere", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);

    /* openat: relative to a dirfd, ENOTDIR for a file dirfd, absolute ignores it. */
    int dfd = OK(open("d", O_RDONLY | O_DIRECTORY));
    fd = OK(openat(dfd, "inner", O_WRONLY | O_CREAT, 0644));
    close(fd);
    CHECK(access("d/inner", F_OK) == 0);
    int ffd = OK(open("f", O_RDONLY));
    ERR(openat(ffd, "x", O_RDONLY), ENOTDIR);
    fd = OK(openat(ffd, "/", O_RDONLY | O_DIRECTORY));
    close(fd);
    close(ffd);
    close(dfd);

    /* O_TRUNC, O_APPEND, access mode recorded in F_GETFL. */
    fd = OK(open("f", O_RDWR | O_TRUNC));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK(write(fd, "abc", 3) == 3);
    close(fd);
    fd = OK(open("f", O_WRONLY | O_APPEND));
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK(write(fd, "de", 2) == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 5);
    close(fd);
    char buf[16] = {0};
    fd = OK(open("f", O_RDONLY));
    CHECK(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "abcde", 5) == 0);
    CHECK(read(fd, buf, sizeof buf) == 0);
    close(fd);
    /* O_PATH: no I/O, EBADF. */
    fd = OK(open("f", O_PATH));
    ERR(read(fd, buf, 1), EBADF);
    ERR(write(fd, "x", 1), EBADF);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 5);
    close(fd);
    /* O_EXCL without O_CREAT is ignored; O_RDONLY|O_TRUNC still truncates */
    fd = OK(open("f", O_RDONLY | O_EXCL));
    close(fd);
    write_file("tr", "data");
    fd = OK(open("tr", O_RDONLY | O_TRUNC));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    close(fd);
    /* pwrite on an O_APPEND file appends (a documented Linux quirk) */
    write_file("ap", "123");
    fd = OK(open("ap", O_WRONLY | O_APPEND));
    CHECK(pwrite(fd, "x", 1, 0) == 1);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 4);
    close(fd);
    /* F_GETFL of a file from open(2) carries O_LARGEFILE (0x8000) */
    fd = OK(open("f", O_RDWR));
    CHECK(fcntl(fd, F_GETFL) == (O_RDWR | 0x8000));
    close(fd);
    /* creat(2) */
    fd = OK(creat("created", 0640));
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_WRONLY);
    close(fd);
}

static void read_write(void) {
    char buf[16];
    int ro = OK(open("f", O_RDONLY));
    int wo = OK(open("f", O_WRONLY));
    int dfd = OK(open("d", O_RDONLY | O_DIRECTORY));
    ERR(write(ro, "x", 1), EBADF);
    ERR(read(wo, buf, 1), EBADF);
    ERR(read(dfd, buf, 1), EISDIR);
    ERR(read(ro, (void *)8, 4), EFAULT);
    ERR(write(wo, (void *)8, 4), EFAULT);
    ERR(read(-1, buf, 1), EBADF);
    ERR(write(12345, buf, 1), EBADF);
    CHECK(write(wo, buf, 0) == 0);
    CHECK(read(ro, buf, 0) == 0);

    /* pread/pwrite: own offset, the file position stays. */
    int rw = OK(open("p", O_RDWR | O_CREAT | O_TRUNC, 0644));
    CHECK(write(rw, "0123456789", 10) == 10);
    CHECK(pwrite(rw, "AB", 2, 3) == 2);
    CHECK(lseek(rw, 0, SEEK_CUR) == 10);
    CHECK(pread(rw, buf, 5, 1) == 5 && memcmp(buf, "12AB5", 5) == 0);
    CHECK(pread(rw, buf, 5, 10) == 0);
    CHECK(pread(rw, buf, 5, 100) == 0);
    ERR(pread(rw, buf, 1, -1), EINVAL);
    ERR(pwrite(rw, buf, 1, -1), EINVAL);
    ERR(pread(wo, buf, 1, 0), EBADF);
    ERR(pread(dfd, buf, 1, 0), EISDIR);
    int p[2];
    OK(pipe(p));
    ERR(pread(p[0], buf, 1, 0), ESPIPE);
    ERR(pwrite(p[1], "x", 1, 0), ESPIPE);
    /* pwrite past the end leaves a hole of zeros. */
    CHECK(pwrite(rw, "Z", 1, 20) == 1);
    struct stat st;
    CHECK(fstat(rw, &st) == 0 && st.st_size == 21);
    CHECK(pread(rw, buf, 3, 10) == 3 && buf[0] == 0 && buf[1] == 0 && buf[2] == 0);

    /* readv/writev */
    struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    CHECK(lseek(rw, 0, SEEK_SET) == 0);
    CHECK(writev(rw, iov, 3) == 5);
    char a[2], b[4];
    struct iovec riov[2] = {{a, 2}, {b, 4}};
    CHECK(lseek(rw, 0, SEEK_SET) == 0);
    CHECK(readv(rw, riov, 2) == 6 && memcmp(a, "ab", 2) == 0 && memcmp(b, "cde5", 4) == 0);
    ERR(readv(rw, riov, -1), EINVAL);
    struct iovec huge[2] = {{a, 1}, {b, (size_t)-1}};
    ERR(readv(rw, huge, 2), EINVAL); /* a length negative as ssize_t */
    ERR(writev(rw, iov, 1025), EINVAL);
    ERR(readv(rw, (struct iovec *)8, 1), EFAULT);
    struct iovec bad[1] = {{(void *)8, 4}};
    ERR(writev(rw, bad, 1), EFAULT);
    ERR(writev(ro, iov, 1), EBADF);
    CHECK(writev(rw, iov, 0) == 0);
    close(p[0]);
    close(p[1]);
    close(rw);
    close(ro);
    close(wo);
    close(dfd);
}

/* Device nodes made here (no /dev on Linux's bare initramfs). */
static void devices(void) {
    OK(mknod("null", S_IFCHR | 0666, makedev(1, 3)));
    OK(mknod("zero", S_IFCHR | 0666, makedev(1, 5)));
    OK(mknod("full", S_IFCHR | 0666, makedev(1, 7)));
    char buf[8];
    int fd = OK(open("null", O_RDWR));
    CHECK(read(fd, buf, 8) == 0 && write(fd, "abc", 3) == 3);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3);
    close(fd);
    fd = OK(open("zero", O_RDONLY));
    memset(buf, 1, sizeof buf);
    CHECK(read(fd, buf, 8) == 8 && buf[0] == 0 && buf[7] == 0);
    close(fd);
    fd = OK(open("full", O_WRONLY));
    ERR(write(fd, "x", 1), ENOSPC);
    close(fd);
}

static void seeking(void) {
    int fd = OK(open("s", O_RDWR | O_CREAT | O_TRUNC, 0644));
    CHECK(write(fd, "0123456789", 10) == 10);
    CHECK(lseek(fd, 0, SEEK_END) == 10);
    CHECK(lseek(fd, -3, SEEK_END) == 7);
    CHECK(lseek(fd, -2, SEEK_CUR) == 5);
    CHECK(lseek(fd, 2, SEEK_CUR) == 7);
    ERR(lseek(fd, -11, SEEK_END), EINVAL);
    ERR(lseek(fd, -1, SEEK_SET), EINVAL);
    ERR(lseek(fd, -100, SEEK_CUR), EINVAL);
    CHECK(lseek(fd, 0, SEEK_CUR) == 7); /* a failed seek moves nothing */
    ERR(lseek(fd, 0, 7), EINVAL);
    ERR(lseek(-1, 0, SEEK_SET), EBADF);
    /* Past the end is allowed; a write there leaves zeros. */
    CHECK(lseek(fd, 100, SEEK_SET) == 100);
    char buf[4];
    CHECK(read(fd, buf, 4) == 0);
    CHECK(write(fd, "x", 1) == 1);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 101);
    CHECK(pread(fd, buf, 2, 50) == 2 && buf[0] == 0 && buf[1] == 0);
    /* SEEK_DATA/SEEK_HOLE: no holes reported inside; ENXIO at the end */
    CHECK(lseek(fd, 0, SEEK_DATA) == 0);
    CHECK(lseek(fd, 0, SEEK_HOLE) == 101);
    ERR(lseek(fd, 101, SEEK_DATA), ENXIO);
    ERR(lseek(fd, 200, SEEK_HOLE), ENXIO);
    /* a sparse write far out: the size jumps, the hole reads as zeros */
    int sp = OK(open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644));
    CHECK(pwrite(sp, "end", 3, 1LL << 40) == 3);
    CHECK(fstat(sp, &st) == 0 && st.st_size == (1LL << 40) + 3 && st.st_blocks <= 64);
    CHECK(lseek(sp, 0, SEEK_DATA) == (1LL << 40));
    CHECK(lseek(sp, 0, SEEK_HOLE) == 0);
    CHECK(pread(sp, buf, 2, 12345) == 2 && buf[0] == 0 && buf[1] == 0);
    close(sp);
    unlink("sparse");
    /* Directories seek too (getdents restarts from 0). */
    int dfd = OK(open(".", O_RDONLY | O_DIRECTORY));
    CHECK(lseek(dfd, 0, SEEK_SET) == 0);
    close(dfd);
    close(fd);
}

static void truncating(void) {
    write_file("t", "0123456789");
    struct stat st;
    OK(truncate("t", 4));
    CHECK(stat("t", &st) == 0 && st.st_size == 4);
    OK(truncate("t", 8));
    char buf[8];
    int fd = OK(open("t", O_RDWR));
    CHECK(read(fd, buf, 8) == 8 && memcmp(buf, "0123\0\0\0\0", 8) == 0);
    OK(ftruncate(fd, 2));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 2);
    CHECK(lseek(fd, 0, SEEK_CUR) == 8); /* the position stays */
    ERR(ftruncate(fd, -1), EINVAL);
    ERR(truncate("t", -1), EINVAL);
    ERR(truncate("missing", 0), ENOENT);
    ERR(truncate("d", 0), EISDIR);
    ERR(truncate("t/x", 0), ENOTDIR);
    ERR(truncate((char *)8, 0), EFAULT);
    ERR(ftruncate(-1, 0), EBADF);
    close(fd);
    fd = OK(open("t", O_RDONLY));
    ERR(ftruncate(fd, 0), EINVAL); /* not open for writing */
    close(fd);
    int p[2];
    OK(pipe(p));
    ERR(ftruncate(p[1], 0), EINVAL);
    close(p[0]);
    close(p[1]);
    int dfd = OK(open("d", O_RDONLY | O_DIRECTORY));
    ERR(ftruncate(dfd, 0), EINVAL);
    close(dfd);
}

static void syncing(void) {
    int fd = OK(open("f", O_RDWR));
    OK(fsync(fd));
    OK(fdatasync(fd));
    OK(syncfs(fd));
    close(fd);
    sync();
    ERR(fsync(-1), EBADF);
    ERR(fdatasync(999), EBADF);
    int p[2];
    OK(pipe(p));
    ERR(fsync(p[0]), EINVAL); /* a pipe cannot be synced */
    close(p[0]);
    close(p[1]);
}

int main(void) {
    memset(long_name, 'n', 256);
    for (int i = 0; i < 4200; i += 2) {
        long_path[i] = 'a';
        long_path[i + 1] = '/';
    }
    enter_workdir("/abi-files");
    open_flags();
    read_write();
    seeking();
    truncating();
    devices();
    syncing();
    return finish("abi_files");
}
