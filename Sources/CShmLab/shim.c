#define _GNU_SOURCE
#include <spawn.h>
#include "CShmLab.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/fsuid.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int shmlab_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
int shmlab_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }
int shmlab_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    return -1;
#endif
}
const char *shmlab_signal_abbrev(int sig) { return sigabbrev_np(sig); }
int shmlab_wexitstatus(int status) { return WEXITSTATUS(status); }
int shmlab_wifsignaled(int status) { return WIFSIGNALED(status); }
int shmlab_wtermsig(int status) { return WTERMSIG(status); }
int shmlab_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}
int shmlab_set_cloexec(int fd) { return fcntl(fd, F_SETFD, FD_CLOEXEC); }
int shmlab_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

unsigned int shmlab_atomic_load_u32(const void *p) { return __atomic_load_n((const unsigned int *)p, __ATOMIC_ACQUIRE); }
void shmlab_atomic_store_u32(void *p, unsigned int v) { __atomic_store_n((unsigned int *)p, v, __ATOMIC_RELEASE); }
unsigned long long shmlab_atomic_fetch_add_u64(void *p, unsigned long long v) { return __atomic_fetch_add((unsigned long long *)p, v, __ATOMIC_ACQ_REL); }
unsigned long long shmlab_atomic_load_u64(const void *p) { return __atomic_load_n((const unsigned long long *)p, __ATOMIC_ACQUIRE); }

int shmlab_setfsuid(uid_t uid) { return setfsuid(uid); }
int shmlab_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == -1) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int shmlab_current_cpu(void) { return sched_getcpu(); }
int shmlab_get_affinity(void *saved, unsigned long size) {
    if (size < sizeof(cpu_set_t)) return -1;
    return sched_getaffinity(0, sizeof(cpu_set_t), (cpu_set_t *)saved);
}
int shmlab_set_affinity(const void *saved, unsigned long size) {
    if (size < sizeof(cpu_set_t)) return -1;
    return sched_setaffinity(0, sizeof(cpu_set_t), (const cpu_set_t *)saved);
}
int shmlab_pin_to_cpu(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

int shmlab_posix_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }
int shmlab_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

/* pthread_mutex_init, interposed: every binary that links CShmLab (the part hosts, and so the
 * student's code in them) calls this definition, which notes the attributes it was given and
 * calls glibc's. Lesson 04 reads the note back: glibc's mutex bytes cannot tell whether
 * PTHREAD_PROCESS_SHARED was set on a robust mutex (glibc marks every robust mutex shared,
 * __kind 0x90 either way, measured on glibc 2.36), so only the attributes themselves can. */
#define SHMLAB_INIT_NOTES 64
static struct { const void *address; int pshared; int robust; } shmlab_init_notes[SHMLAB_INIT_NOTES];
static unsigned long shmlab_init_count;
static int (*shmlab_real_mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);

int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attributes) {
    int pshared = PTHREAD_PROCESS_PRIVATE, robust = PTHREAD_MUTEX_STALLED;
    if (attributes) {
        pthread_mutexattr_getpshared(attributes, &pshared);
        pthread_mutexattr_getrobust(attributes, &robust);
    }
    unsigned long slot = __atomic_fetch_add(&shmlab_init_count, 1, __ATOMIC_ACQ_REL) % SHMLAB_INIT_NOTES;
    shmlab_init_notes[slot].address = mutex;
    shmlab_init_notes[slot].pshared = pshared;
    shmlab_init_notes[slot].robust = robust;
    int (*real)(pthread_mutex_t *, const pthread_mutexattr_t *) =
        __atomic_load_n(&shmlab_real_mutex_init, __ATOMIC_ACQUIRE);
    if (!real) {
        real = (int (*)(pthread_mutex_t *, const pthread_mutexattr_t *))dlsym(RTLD_NEXT, "pthread_mutex_init");
        __atomic_store_n(&shmlab_real_mutex_init, real, __ATOMIC_RELEASE);
    }
    return real(mutex, attributes);
}

int shmlab_mutex_init_attributes(const void *address, int *pshared, int *robust) {
    unsigned long count = __atomic_load_n(&shmlab_init_count, __ATOMIC_ACQUIRE);
    unsigned long oldest = count > SHMLAB_INIT_NOTES ? count - SHMLAB_INIT_NOTES : 0;
    for (unsigned long i = count; i > oldest; i--) {
        unsigned long slot = (i - 1) % SHMLAB_INIT_NOTES;
        if (shmlab_init_notes[slot].address == address) {
            *pshared = shmlab_init_notes[slot].pshared;
            *robust = shmlab_init_notes[slot].robust;
            return 1;
        }
    }
    return 0;
}

// MARK: - crash maps (see CShmLab.h)

static char shmlab_crash_dir[512];
static const int shmlab_crash_signals[] = { SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGBUS, SIGSEGV };
#define SHMLAB_CRASH_SIGNALS (sizeof(shmlab_crash_signals) / sizeof(shmlab_crash_signals[0]))
static struct sigaction shmlab_crash_previous[SHMLAB_CRASH_SIGNALS];

/// DIR/maps-PID.SUFFIX into `path`, with no stdio (async-signal-safe).
static void shmlab_crash_maps_path(char *path, size_t size, const char *suffix) {
    size_t n = 0;
    for (const char *p = shmlab_crash_dir; *p && n + 1 < size; p++) path[n++] = *p;
    for (const char *p = "/maps-"; *p && n + 1 < size; p++) path[n++] = *p;
    char digits[16];
    int count = 0;
    unsigned long pid = (unsigned long)getpid();
    do { digits[count++] = (char)('0' + pid % 10); pid /= 10; } while (pid > 0 && count < 16);
    while (count > 0 && n + 1 < size) path[n++] = digits[--count];
    for (const char *p = suffix; *p && n + 1 < size; p++) path[n++] = *p;
    path[n] = 0;
}

static void shmlab_copy_maps(const char *suffix) {
    char path[600];
    shmlab_crash_maps_path(path, sizeof(path), suffix);
    int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (in < 0) return;
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out >= 0) {
        char buffer[4096];
        ssize_t got;
        while ((got = read(in, buffer, sizeof(buffer))) > 0) {
            ssize_t done = 0;
            while (done < got) {
                ssize_t put = write(out, buffer + done, (size_t)(got - done));
                if (put <= 0) break;
                done += put;
            }
        }
        close(out);
    }
    close(in);
}

static void shmlab_crash_handler(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    shmlab_copy_maps(".crash");
    for (size_t i = 0; i < SHMLAB_CRASH_SIGNALS; i++) {
        if (shmlab_crash_signals[i] != sig) continue;
        struct sigaction *previous = &shmlab_crash_previous[i];
        if ((previous->sa_flags & SA_SIGINFO) && previous->sa_sigaction) {
            previous->sa_sigaction(sig, info, context);
        } else if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
            previous->sa_handler(sig);
        }
    }
    // Default action from here on: a fault re-executes and ends the process with its signal; a
    // signal that was sent (si_code <= 0: kill, raise, tgkill) is sent again.
    signal(sig, SIG_DFL);
    if (info == NULL || info->si_code <= 0) raise(sig);
    errno = saved_errno;
}

int shmlab_install_crash_maps(const char *dir) {
    size_t length = strlen(dir);
    if (length + 1 > sizeof(shmlab_crash_dir)) return -1;
    memcpy(shmlab_crash_dir, dir, length + 1);
    shmlab_copy_maps(".start");
    for (size_t i = 0; i < SHMLAB_CRASH_SIGNALS; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_sigaction = shmlab_crash_handler;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&action.sa_mask);
        sigaction(shmlab_crash_signals[i], &action, &shmlab_crash_previous[i]);
    }
    return 0;
}

int shmlab_futex_wait(const void *word, unsigned int expected, long long timeout_ns) {
    struct timespec limit;
    struct timespec *limit_or_null = NULL;
    if (timeout_ns >= 0) {
        limit.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        limit.tv_nsec = (long)(timeout_ns % 1000000000LL);
        limit_or_null = &limit;
    }
    return (int)syscall(SYS_futex, word, FUTEX_WAIT, expected, limit_or_null, NULL, 0);
}

int shmlab_futex_wake(const void *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}
