/*
 * An attestation client as a workload in a TD would be: it asks for
 * reports through Linux's interfaces and checks what comes back.
 *
 *   attest_client tdx   /dev/tdx_guest (TDX_CMD_GET_REPORT0), the tsm-mr
 *                       measurement files (read, RTMR extend), and a
 *                       configfs-tsm report entry; every errno case.
 *   attest_client none  no TDX: no /dev/tdx_guest, no measurements, and
 *                       configfs-tsm refuses new entries (no provider).
 *
 * Prints one line per check ("ok: ..." or "FAIL: ...") and a summary;
 * exits with the number of failed checks (0: all passed). Numbers come
 * from Linux's include/uapi/linux/tdx-guest.h, include/linux/tsm.h,
 * drivers/virt/coco/guest/{report,tsm-mr}.c and the TDX module ABI
 * (TDREPORT layout); SHA-384 is FIPS 180-4.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* include/uapi/linux/tdx-guest.h */
#define TDX_REPORTDATA_LEN 64
#define TDX_REPORT_LEN 1024
struct tdx_report_req {
    uint8_t reportdata[TDX_REPORTDATA_LEN];
    uint8_t tdreport[TDX_REPORT_LEN];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)

/* TDREPORT_STRUCT offsets (TDX module ABI; Linux tdx-guest.c enum). */
#define TDREPORT_TYPE 0
#define TDREPORT_REPORTDATA 128
#define TDREPORT_MRTD 528
#define TDREPORT_RTMR0 720

/* DCAP quote v4: 48-byte header, TD report body (rtmr3 at 328 + 144,
 * reportdata at 520 into the body). */
#define QUOTE_BODY 48
#define QUOTE_BODY_MRTD 136
#define QUOTE_BODY_RTMR3 472
#define QUOTE_BODY_REPORTDATA 520

#define DEV "/dev/tdx_guest"
#define MEASUREMENTS "/sys/devices/virtual/misc/tdx_guest/measurements/"
#define CONFIG "/sys/kernel/config"
#define REPORTS CONFIG "/tsm/report/"

static int checks, failures;

static void check(int ok, const char *what) {
    checks++;
    if (!ok)
        failures++;
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
}

/* A call that must fail with `expected` (and return -1). */
static void check_errno(long ret, int expected, const char *what) {
    int got = errno;
    char line[256];
    int ok = ret == -1 && got == expected;
    snprintf(line, sizeof line, "%s -> %s (got %ld, %s)", what, strerror(expected), ret,
             ret == -1 ? strerror(got) : "no error");
    check(ok, line);
}

/* ---- SHA-384 (FIPS 180-4), for the expected RTMR after an extend ---- */

static const uint64_t K[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static void sha512_block(uint64_t h[8], const uint8_t *p) {
    uint64_t w[80], a[8];
    for (int i = 0; i < 16; i++) {
        w[i] = 0;
        for (int j = 0; j < 8; j++)
            w[i] = (w[i] << 8) | p[8 * i + j];
    }
    for (int i = 16; i < 80; i++) {
        uint64_t s0 = ROR(w[i - 15], 1) ^ ROR(w[i - 15], 8) ^ (w[i - 15] >> 7);
        uint64_t s1 = ROR(w[i - 2], 19) ^ ROR(w[i - 2], 61) ^ (w[i - 2] >> 6);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, h, sizeof a);
    for (int i = 0; i < 80; i++) {
        uint64_t t1 = a[7] + (ROR(a[4], 14) ^ ROR(a[4], 18) ^ ROR(a[4], 41)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + K[i] + w[i];
        uint64_t t2 = (ROR(a[0], 28) ^ ROR(a[0], 34) ^ ROR(a[0], 39)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof a[0]);
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += a[i];
}

/* SHA-384 of a message shorter than 112 bytes (one or two blocks). */
static void sha384(const uint8_t *msg, size_t len, uint8_t out[48]) {
    uint64_t h[8] = {
        0xcbbb9d5dc1059ed8ULL, 0x629a292a367cd507ULL, 0x9159015a3070dd17ULL, 0x152fecd8f70e5939ULL,
        0x67332667ffc00b31ULL, 0x8eb44a8768581511ULL, 0xdb0c2e0d64f98fa7ULL, 0x47b5481dbefa4fa4ULL,
    };
    uint8_t block[256] = {0};
    size_t blocks = len + 17 <= 128 ? 1 : 2;
    memcpy(block, msg, len);
    block[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        block[blocks * 128 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t b = 0; b < blocks; b++)
        sha512_block(h, block + 128 * b);
    for (int i = 0; i < 48; i++)
        out[i] = (uint8_t)(h[i / 8] >> (56 - 8 * (i % 8)));
}

/* ---- file helpers ---- */

/* Read up to `cap` bytes of `path` in one open; -1 with errno on error. */
static long read_file(const char *path, void *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    long total = 0;
    for (;;) {
        long n = read(fd, (char *)buf + total, cap - total);
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0 || (size_t)(total += n) == cap)
            break;
    }
    close(fd);
    return total;
}

/* Write `len` bytes to `path` in one write; the write's result, or -1
 * with errno (a configfs binary attribute commits on the close). */
static long write_file_flags(const char *path, int flags, const void *data, size_t len) {
    int fd = open(path, flags, 0644);
    if (fd < 0)
        return -1;
    long n = write(fd, data, len);
    int e = errno;
    close(fd);
    errno = e;
    return n;
}

static long write_file(const char *path, const void *data, size_t len) {
    return write_file_flags(path, O_WRONLY, data, len);
}

static long read_generation(const char *entry) {
    char path[256], text[32] = {0};
    snprintf(path, sizeof path, "%s/generation", entry);
    if (read_file(path, text, sizeof text - 1) < 0)
        return -1;
    return strtol(text, NULL, 10);
}

static int get_report(int fd, const uint8_t data[64], uint8_t tdreport[1024]) {
    struct tdx_report_req req;
    memcpy(req.reportdata, data, 64);
    if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) != 0)
        return -1;
    memcpy(tdreport, req.tdreport, 1024);
    return 0;
}

static int read_mr(const char *name, uint8_t out[48]) {
    char path[256];
    snprintf(path, sizeof path, MEASUREMENTS "%s", name);
    return read_file(path, out, 48) == 48 ? 0 : -1;
}

/* ---- TDX ---- */

static void tdx_device(int fd) {
    struct stat st;
    check(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10, DEV " is a misc character device (major 10)");
    check(TDX_CMD_GET_REPORT0 == 0xC4405401u, "TDX_CMD_GET_REPORT0 is 0xC4405401");

    uint8_t data[64], tdreport[1024];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)(0xa0 + i);
    int r = get_report(fd, data, tdreport);
    check(r == 0, "TDX_CMD_GET_REPORT0 succeeds");
    check(tdreport[TDREPORT_TYPE] == 0x81, "TDREPORT type is TDX (0x81)");
    check(memcmp(tdreport + TDREPORT_REPORTDATA, data, 64) == 0, "TDREPORT carries our REPORTDATA");

    /* Any alignment of the user buffer works: the kernel aligns its own. */
    char *raw = malloc(sizeof(struct tdx_report_req) + 8);
    struct tdx_report_req *odd = (struct tdx_report_req *)(raw + 3);
    memset(odd->reportdata, 0x5a, 64);
    check(ioctl(fd, TDX_CMD_GET_REPORT0, odd) == 0 && odd->tdreport[TDREPORT_REPORTDATA] == 0x5a,
          "TDX_CMD_GET_REPORT0 with a misaligned request");
    free(raw);

    check_errno(ioctl(fd, TDX_CMD_GET_REPORT0, (void *)8), EFAULT, "GET_REPORT0 with a bad pointer");
    /* REPORTDATA readable, TDREPORT on a read-only page. */
    uint8_t *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages != MAP_FAILED && mprotect(pages + 4096, 4096, PROT_READ) == 0)
        check_errno(ioctl(fd, TDX_CMD_GET_REPORT0, pages + 4096 - 64), EFAULT, "GET_REPORT0 with a read-only TDREPORT");
    else
        check(0, "mmap/mprotect for the read-only TDREPORT case");
    check_errno(ioctl(fd, _IOWR('T', 2, struct tdx_report_req), &data), ENOTTY, "unknown ioctl _IOWR('T', 2)");
    check_errno(ioctl(fd, TCGETS, &data), ENOTTY, "TCGETS on " DEV);
    check_errno(ioctl(fd, _IOWR('T', 1, uint8_t[64]), &data), ENOTTY, "GET_REPORT0 number with a wrong size");
    char byte;
    check_errno(read(fd, &byte, 1), EINVAL, "read on " DEV);
}

static void tdx_measurements(int fd) {
    static const char *names[] = {"mrconfigid", "mrowner", "mrownerconfig", "mrtd:sha384",
                                  "rtmr0:sha384", "rtmr1:sha384", "rtmr2:sha384", "rtmr3:sha384"};
    int found = 0, others = 0;
    DIR *dir = opendir(MEASUREMENTS);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        int known = 0;
        for (int i = 0; i < 8; i++)
            known |= strcmp(e->d_name, names[i]) == 0;
        if (known)
            found++;
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            others++;
    }
    if (dir)
        closedir(dir);
    check(found == 8 && others == 0, "measurements/ has mrconfigid, mrowner, mrownerconfig, mrtd:sha384, rtmr0..3:sha384");

    struct stat st;
    check(stat(MEASUREMENTS "rtmr2:sha384", &st) == 0 && st.st_mode == (S_IFREG | 0644) && st.st_size == 48, "rtmr2:sha384 is 0644, 48 bytes");
    check(stat(MEASUREMENTS "mrtd:sha384", &st) == 0 && st.st_mode == (S_IFREG | 0444) && st.st_size == 48, "mrtd:sha384 is 0444, 48 bytes");

    uint8_t zero[64] = {0}, tdreport[1024], mr[48];
    get_report(fd, zero, tdreport);
    check(read_mr("mrtd:sha384", mr) == 0 && memcmp(mr, tdreport + TDREPORT_MRTD, 48) == 0, "mrtd:sha384 equals the TDREPORT's MRTD");
    int same = 1;
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "rtmr%d:sha384", i);
        same &= read_mr(name, mr) == 0 && memcmp(mr, tdreport + TDREPORT_RTMR0 + 48 * i, 48) == 0;
    }
    check(same, "rtmr0..3:sha384 equal the TDREPORT's RTMRs");

    /* Extend RTMR3 and find SHA-384(old || data) in the file and the next report. */
    uint8_t old[48], digest[49], joined[96], expected[48];
    read_mr("rtmr3:sha384", old);
    for (int i = 0; i < 49; i++)
        digest[i] = (uint8_t)(3 * i + 1);
    check(write_file(MEASUREMENTS "rtmr3:sha384", digest, 48) == 48, "writing 48 bytes to rtmr3:sha384 extends it");
    memcpy(joined, old, 48);
    memcpy(joined + 48, digest, 48);
    sha384(joined, 96, expected);
    check(read_mr("rtmr3:sha384", mr) == 0 && memcmp(mr, expected, 48) == 0, "rtmr3:sha384 reads SHA-384(old || data)");
    get_report(fd, zero, tdreport);
    check(memcmp(tdreport + TDREPORT_RTMR0 + 3 * 48, expected, 48) == 0, "the next TDREPORT has the extended RTMR3");

    /* 49 bytes: sysfs clips to the attribute's 48 and the extend happens. */
    memcpy(joined, expected, 48);
    memcpy(joined + 48, digest, 48);
    sha384(joined, 96, expected);
    check(write_file(MEASUREMENTS "rtmr3:sha384", digest, 49) == 48, "a 49-byte write extends with the first 48 (returns 48)");
    check(read_mr("rtmr3:sha384", mr) == 0 && memcmp(mr, expected, 48) == 0, "rtmr3 after the clipped write");

    check_errno(write_file(MEASUREMENTS "rtmr3:sha384", digest, 47), EINVAL, "write of 47 bytes to rtmr3");
    int rfd = open(MEASUREMENTS "rtmr3:sha384", O_WRONLY);
    check_errno(pwrite(rfd, digest, 48, 1), EINVAL, "pwrite of 48 bytes at offset 1");
    check_errno(pwrite(rfd, digest, 48, 48), EFBIG, "pwrite at offset 48");
    close(rfd);
    check(read_mr("rtmr3:sha384", mr) == 0 && memcmp(mr, expected, 48) == 0, "failed writes left rtmr3 alone");
    check_errno(open(MEASUREMENTS "mrtd:sha384", O_WRONLY), EACCES, "open mrtd:sha384 for writing");
    char link[128] = {0};
    check(readlink("/sys/class/misc/tdx_guest", link, sizeof link - 1) > 0 && strcmp(link, "../../devices/virtual/misc/tdx_guest") == 0,
          "/sys/class/misc/tdx_guest links to the device");
}

static void mount_configfs(void) {
    check(mount("none", CONFIG, "configfs", 0, NULL) == 0, "mount -t configfs none " CONFIG);
    struct stat st;
    check(stat(REPORTS, &st) == 0 && S_ISDIR(st.st_mode), REPORTS " exists");
}

static void tdx_configfs(void) {
    const char *entry = REPORTS "r0";
    char path[256], text[64];
    check(mkdir(entry, 0755) == 0, "mkdir " REPORTS "r0");
    check_errno(mkdir(entry, 0755), EEXIST, "mkdir of an existing entry");

    int found = 0, others = 0;
    DIR *dir = opendir(entry);
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (!strcmp(e->d_name, "generation") || !strcmp(e->d_name, "provider") || !strcmp(e->d_name, "inblob") ||
            !strcmp(e->d_name, "outblob"))
            found++;
        else if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            others++;
    }
    if (dir)
        closedir(dir);
    check(found == 4 && others == 0, "a TDX report entry has generation, provider, inblob, outblob only");

    snprintf(path, sizeof path, "%s/provider", entry);
    memset(text, 0, sizeof text);
    check(read_file(path, text, sizeof text - 1) == 10 && strcmp(text, "tdx_guest\n") == 0, "provider reads tdx_guest");
    check(read_generation(entry) == 0, "generation starts at 0");

    uint8_t blob[8192];
    char inblob[256], outblob[256];
    snprintf(inblob, sizeof inblob, "%s/inblob", entry);
    snprintf(outblob, sizeof outblob, "%s/outblob", entry);
    check_errno(read_file(outblob, blob, sizeof blob), EINVAL, "outblob before any inblob");

    uint8_t data[65];
    for (int i = 0; i < 65; i++)
        data[i] = (uint8_t)(0x40 + i);
    check_errno(write_file(inblob, data, 65), EFBIG, "a 65-byte inblob write");
    check(read_generation(entry) == 1, "the refused write still commits (empty) on close: generation 1");
    /* As std::fs::write and shell redirections open: O_CREAT|O_TRUNC. */
    check(write_file_flags(inblob, O_WRONLY | O_CREAT | O_TRUNC, data, 32) == 32 && read_generation(entry) == 2,
          "a 32-byte inblob (O_CREAT|O_TRUNC): generation 2");
    check_errno(read_file(outblob, blob, sizeof blob), EINVAL, "outblob of a 32-byte inblob (TDX needs 64)");

    /* 64 bytes in two writes of one open: committed once, on close. */
    int fd = open(inblob, O_WRONLY);
    check(write(fd, data, 40) == 40 && write(fd, data + 40, 24) == 24, "inblob written in two pieces");
    check(read_generation(entry) == 2, "nothing committed before the close");
    close(fd);
    check(read_generation(entry) == 3, "generation 3 after the close");

    long n = read_file(outblob, blob, sizeof blob);
    if (n < 0 && errno == EIO) {
        check(1, "outblob: EIO (no quote service on this host, as Linux answers)");
    } else {
        uint8_t mr[48];
        read_mr("rtmr3:sha384", mr);
        check(n > QUOTE_BODY + 584 && blob[0] == 4 && blob[1] == 0 && blob[4] == 0x81, "outblob is a TDX quote v4");
        check(memcmp(blob + QUOTE_BODY + QUOTE_BODY_REPORTDATA, data, 64) == 0, "the quote's REPORTDATA is our inblob");
        check(memcmp(blob + QUOTE_BODY + QUOTE_BODY_RTMR3, mr, 48) == 0, "the quote has the extended RTMR3");
    }
    check(read_generation(entry) == 3, "reading does not advance the generation");

    snprintf(path, sizeof path, "%s/generation", entry);
    check_errno(open(path, O_WRONLY), EACCES, "open generation for writing");
    check_errno(open(inblob, O_RDONLY), EACCES, "open inblob for reading");
    check_errno(open(outblob, O_WRONLY), EACCES, "open outblob for writing");
    snprintf(path, sizeof path, "%s/privlevel", entry);
    check_errno(open(path, O_WRONLY), ENOENT, "no privlevel on TDX");

    check_errno(mkdir(CONFIG "/tsm/x", 0755), EPERM, "mkdir in tsm/ (a default group)");
    check_errno(rmdir(REPORTS), EPERM, "rmdir of tsm/report");
    check(rmdir(entry) == 0, "rmdir " REPORTS "r0");
    struct stat st;
    check_errno(stat(entry, &st), ENOENT, "the entry is gone");
}

static int run_tdx(void) {
    int fd = open(DEV, O_RDWR);
    check(fd >= 0, "open " DEV);
    if (fd < 0)
        return 1;
    tdx_device(fd);
    tdx_measurements(fd);
    mount_configfs();
    tdx_configfs();
    close(fd);
    return 0;
}

static int run_none(void) {
    struct stat st;
    check_errno(open(DEV, O_RDWR), ENOENT, "open " DEV " without TDX");
    check_errno(stat("/sys/devices/virtual/misc/tdx_guest", &st), ENOENT, "no tdx_guest in sysfs");
    mount_configfs();
    check_errno(mkdir(REPORTS "r0", 0755), ENXIO, "mkdir in tsm/report with no provider");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2 || (strcmp(argv[1], "tdx") && strcmp(argv[1], "none"))) {
        fprintf(stderr, "usage: %s tdx|none\n", argv[0]);
        return 100;
    }
    if (!strcmp(argv[1], "tdx"))
        run_tdx();
    else
        run_none();
    printf("attest_client: %d checks, %d failed\n", checks, failures);
    return failures > 99 ? 99 : failures;
}
