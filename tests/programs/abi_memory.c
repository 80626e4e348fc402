/* Memory: mmap/munmap/mprotect/mremap/madvise/brk with Linux's errors,
 * anonymous and private file mappings, faults as signals. */
#include "abi_test.h"
#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096L

static void *map_anon(size_t len, int prot) {
    return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* The signal a child gets doing `body` (0: exited normally). */
static int fault_of(void (*body)(void)) {
    int status = in_child(body);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static volatile char *target;
static void read_target(void) { (void)*target; }
static void write_target(void) { *target = 1; }

static void mmap_errors(void) {
    int fd = OK(open("file", O_RDWR | O_CREAT | O_TRUNC, 0644));
    CHECK(write(fd, "hello, mapping", 14) == 14);
    ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL);
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), EINVAL);
    ERR(mmap((void *)0x10000123, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0), EBADF);
    ERR(mmap(NULL, (size_t)-PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
    int dfd = OK(open(".", O_RDONLY | O_DIRECTORY));
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
    close(dfd);
    int wo = OK(open("file", O_WRONLY));
    ERR(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, wo, 0), EACCES);
    close(wo);
    int ro = OK(open("file", O_RDONLY));
    ERR(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), EACCES);
    /* a private writable map of a read-only fd is fine */
    char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    CHECK(p != MAP_FAILED);
    if (p != MAP_FAILED) munmap(p, PAGE);
    close(ro);
    close(fd);
}

static void anonymous(void) {
    char *p = map_anon(3 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED && ((uintptr_t)p & (PAGE - 1)) == 0);
    if (p == MAP_FAILED) return;
    CHECK(p[0] == 0 && p[3 * PAGE - 1] == 0);
    memset(p, 0xab, 3 * PAGE);
    CHECK((unsigned char)p[PAGE + 5] == 0xab);
    /* munmap the middle page; the rest stays */
    OK(munmap(p + PAGE, PAGE));
    target = p + PAGE;
    CHECK(fault_of(read_target) == SIGSEGV);
    CHECK((unsigned char)p[2 * PAGE] == 0xab);
    ERR(munmap(p + 1, PAGE), EINVAL);
    ERR(munmap(p, 0), EINVAL);
    OK(munmap(p + PAGE, PAGE)); /* nothing there: still fine */
    /* a free hint address is taken as is */
    char *hint = (char *)0x300000000000L;
    char *h = mmap(hint, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h == hint);
    if (h != MAP_FAILED) munmap(h, PAGE);
    /* MAP_FIXED replaces what was there */
    char *q = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == p && q[0] == 0);
    /* MAP_FIXED_NOREPLACE refuses an occupied range */
    ERR(mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | 0x100000, -1, 0), EEXIST);
    OK(munmap(p, 3 * PAGE));
}

static void protections(void) {
    char *p = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED) return;
    p[0] = 1;
    OK(mprotect(p, PAGE, PROT_READ));
    CHECK(p[0] == 1);
    target = p;
    CHECK(fault_of(write_target) == SIGSEGV);
    OK(mprotect(p, PAGE, PROT_NONE));
    CHECK(fault_of(read_target) == SIGSEGV);
    target = p + PAGE;
    CHECK(fault_of(write_target) == 0); /* the second page kept its rights */
    ERR(syscall(SYS_mprotect, p + 1, PAGE, PROT_READ), EINVAL); /* musl rounds it */
    ERR(mprotect(p, PAGE, 0x10), EINVAL);
    OK(munmap(p, 2 * PAGE));
    ERR(mprotect(p, PAGE, PROT_READ), ENOMEM);
    /* a hole inside the range: ENOMEM */
    char *h = map_anon(3 * PAGE, PROT_READ);
    OK(munmap(h + PAGE, PAGE));
    ERR(mprotect(h, 3 * PAGE, PROT_READ | PROT_WRITE), ENOMEM);
    OK(munmap(h, 3 * PAGE)); /* across the hole: fine */
    /* a length that is not a page multiple covers the whole last page */
    char *odd = map_anon(100, PROT_READ | PROT_WRITE);
    CHECK(odd != MAP_FAILED);
    if (odd != MAP_FAILED) {
        odd[PAGE - 1] = 1;
        OK(munmap(odd, 100));
    }
    OK(mprotect(p, 0, PROT_READ));
    /* PROT_EXEC-only or write-only maps are allowed */
    char *x = map_anon(PAGE, PROT_WRITE);
    CHECK(x != MAP_FAILED);
    if (x != MAP_FAILED) munmap(x, PAGE);
}

static void remapping(void) {
    char *p = map_anon(PAGE, PROT_READ | PROT_WRITE);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED) return;
    strcpy(p, "moved along");
    /* keep the next page busy so growth has to move */
    char *guard = mmap(p + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (guard == p + PAGE) {
        ERR(mremap(p, PAGE, 2 * PAGE, 0), ENOMEM);
    }
    char *q = mremap(p, PAGE, 4 * PAGE, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED && strcmp(q, "moved along") == 0);
    if (q == MAP_FAILED) return;
    q[4 * PAGE - 1] = 7;
    CHECK(mremap(q, 4 * PAGE, 2 * PAGE, 0) == q); /* shrinks in place */
    target = q + 3 * PAGE;
    CHECK(fault_of(read_target) == SIGSEGV);
    /* MREMAP_FIXED moves to the given place; the old range goes */
    char *dest = map_anon(4 * PAGE, PROT_NONE);
    char *moved = mremap(q, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    CHECK(moved == dest && strcmp(moved, "moved along") == 0);
    target = q;
    CHECK(fault_of(read_target) == SIGSEGV);
    target = dest + 2 * PAGE; /* the rest of the PROT_NONE map is still there */
    CHECK(fault_of(read_target) == SIGSEGV);
    munmap(dest, 4 * PAGE);
    q = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);
    ERR(mremap(q + 1, PAGE, PAGE, 0), EINVAL);
    ERR(mremap(q, PAGE, 0, MREMAP_MAYMOVE), EINVAL);
    ERR(mremap(q, PAGE, PAGE, 0x80), EINVAL);
    ERR(mremap(q, PAGE, PAGE, MREMAP_FIXED, q + 8 * PAGE), EINVAL);
    char *unmapped = map_anon(PAGE, PROT_READ);
    munmap(unmapped, PAGE);
    ERR(mremap(unmapped, PAGE, 2 * PAGE, MREMAP_MAYMOVE), EFAULT);
    OK(munmap(q, 2 * PAGE));
    if (guard != MAP_FAILED) munmap(guard, PAGE);
    /* madvise */
    char *m = map_anon(PAGE, PROT_READ | PROT_WRITE);
    m[10] = 5;
    OK(madvise(m, PAGE, MADV_DONTNEED));
    CHECK(m[10] == 0); /* private anonymous memory comes back zeroed */
    ERR(madvise(m + 1, PAGE, MADV_DONTNEED), EINVAL);
    ERR(madvise(m, PAGE, 999), EINVAL);
    munmap(m, PAGE);
}

static void file_maps(void) {
    int fd = OK(open("file", O_RDWR));
    char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED) return;
    CHECK(memcmp(p, "hello, mapping", 14) == 0);
    CHECK(p[14] == 0 && p[PAGE - 1] == 0); /* the rest of the last page is zeros */
    p[0] = 'J';
    char buf[8];
    CHECK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0); /* private: the file keeps its data */
    target = p + PAGE; /* wholly beyond the end of file */
    CHECK(fault_of(read_target) == SIGBUS);
    munmap(p, 2 * PAGE);
    /* an offset into the file */
    char page[PAGE];
    memset(page, 'z', sizeof page);
    CHECK(pwrite(fd, page, PAGE, PAGE) == PAGE);
    char *o = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    CHECK(o != MAP_FAILED && o[0] == 'z' && o[PAGE - 1] == 'z');
    if (o != MAP_FAILED) munmap(o, PAGE);
    /* a read-only fd shared map cannot become writable */
    int ro = OK(open("file", O_RDONLY));
    char *sh = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(sh != MAP_FAILED && sh[0] == 'h');
    if (sh != MAP_FAILED) {
        ERR(mprotect(sh, PAGE, PROT_READ | PROT_WRITE), EACCES);
        munmap(sh, PAGE);
    }
    close(ro);
    /* a map wholly past the end of the file: allowed, SIGBUS on use */
    char *past = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 16 * PAGE);
    CHECK(past != MAP_FAILED);
    if (past != MAP_FAILED) {
        target = past;
        CHECK(fault_of(read_target) == SIGBUS);
        munmap(past, PAGE);
    }
    /* the mapping outlives the fd */
    char *k = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    CHECK(k != MAP_FAILED && k[1] == 'e');
    if (k != MAP_FAILED) munmap(k, PAGE);
}

static void brks(void) {
    long cur = syscall(SYS_brk, 0);
    CHECK(cur > 0);
    long grown = syscall(SYS_brk, cur + 2 * PAGE);
    CHECK(grown == cur + 2 * PAGE);
    if (grown == cur + 2 * PAGE) {
        char *heap = (char *)cur;
        heap[0] = 1;
        heap[2 * PAGE - 1] = 2;
        CHECK(heap[2 * PAGE - 1] == 2);
    }
    CHECK(syscall(SYS_brk, cur) == cur);
    CHECK(syscall(SYS_brk, 4096) == cur); /* below the start: refused, no errno */
    CHECK(syscall(SYS_brk, cur + PAGE) == cur + PAGE);
    CHECK(*(volatile char *)cur == 0); /* fresh memory after a shrink */
    CHECK(syscall(SYS_brk, cur) == cur);
}

int main(void) {
    enter_workdir("/abi-memory");
    mmap_errors();
    anonymous();
    protections();
    remapping();
    file_maps();
    brks();
    return finish("abi_memory");
}
