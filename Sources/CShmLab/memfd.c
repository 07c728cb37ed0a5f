// Lesson 11: memfd_create, descriptor passing with SCM_RIGHTS, an unnamed file in a tmpfs, and a
// tmpfs of one's own. CMSG_* are macros and memfd_create / O_TMPFILE are GNU-only: Swift sees
// none of them.
#define _GNU_SOURCE
#include "CShmLab.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int shmlab_memfd_create(const char *name, unsigned int flags) {
    return memfd_create(name, flags);
}

int shmlab_add_seals(int fd, int seals) {
    return fcntl(fd, F_ADD_SEALS, seals);
}

int shmlab_get_seals(int fd) {
    return fcntl(fd, F_GET_SEALS);
}

unsigned long shmlab_cmsg_space_fds(int count) {
    return CMSG_SPACE(sizeof(int) * (unsigned long)count);
}

long shmlab_send_fd(int socket, int fd, unsigned char byte) {
    union { char buffer[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct iovec data = { .iov_base = &byte, .iov_len = 1 };
    struct msghdr message = { 0 };
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
    long sent;
    do { sent = sendmsg(socket, &message, MSG_NOSIGNAL); } while (sent == -1 && errno == EINTR);
    return sent;
}

long shmlab_recv_fd(int socket, unsigned long control_space, int flags, unsigned char *byte, int *fd,
                    int *message_flags) {
    char buffer[256];
    if (control_space > sizeof buffer) { errno = EINVAL; return -1; }
    memset(buffer, 0, sizeof buffer);
    struct iovec data = { .iov_base = byte, .iov_len = 1 };
    struct msghdr message = { 0 };
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control_space ? buffer : NULL;
    message.msg_controllen = control_space;
    *fd = -1;
    *message_flags = 0;
    long got;
    do { got = recvmsg(socket, &message, flags); } while (got == -1 && errno == EINTR);
    if (got < 0) return got;
    *message_flags = message.msg_flags;
    if (control_space == 0) return got;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        unsigned long count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (unsigned long i = 0; i < count; i++) {
            int received;
            memcpy(&received, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
            if (*fd == -1) *fd = received; else close(received);   // one descriptor is asked for
        }
    }
    return got;
}

int shmlab_open_unnamed_file(const char *directory) {
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

int shmlab_mount_small_tmpfs(const char *directory, const char *size, int *step) {
    *step = 1;
    if (unshare(CLONE_NEWNS) != 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    }
    *step = 2;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return errno;
    *step = 3;
    char options[64];
    snprintf(options, sizeof options, "size=%s,mode=0700", size);
    if (mount("tmpfs", directory, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) return errno;
    *step = 0;
    return 0;
}
