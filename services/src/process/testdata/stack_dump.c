#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
int main(int argc, char **argv) {
    unsigned char *sp = (unsigned char *)argv - 8;
    char *execfn = (char *)getauxval(AT_EXECFN);
    unsigned char *top = (unsigned char *)execfn + strlen(execfn) + 1 + 8;
    fwrite(sp, 1, top - sp, stdout);
    return 0;
}
