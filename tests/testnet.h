/*
 * tests/testnet.h - servers for tests, on 127.0.0.1 only: memcached on a
 * free port, the revocation peer (tests/revocation/peer.py), and a raw
 * memcached client for inspecting and tampering with cache items.  Every
 * wait is bounded.
 */
#ifndef KENSHO_TESTNET_H
#define KENSHO_TESTNET_H

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmemcached-1.0/memcached.h>
#include <openssl/evp.h>

extern char **environ;

/* ---------------- memcached servers ---------------- */

typedef struct {
    pid_t pid;
    int port;
} t_mc;

static inline long long t_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void t_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline int t_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(s, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

static inline int t_connectable(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

/* Starts memcached on 127.0.0.1 (on m->port, or a free port when 0) with
 * the default 1 MiB item size; waits at most 5 s for it to listen. */
static inline int t_mc_start(t_mc *m)
{
    if (m->port == 0)
        m->port = t_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", m->port);
    char *argv[] = {"memcached", "-l", "127.0.0.1", "-p", port, "-U", "0", "-m", "64", "-t", "2", "-c", "256",
                    geteuid() == 0 ? "-u" : NULL, "root", NULL};
    /* fork + exec rather than posix_spawn: the server must die with us even
     * if we are killed (alarm, timeout), so nothing outlives the test.  As
     * root, memcached insists on -u; "-u root" changes no credentials, so
     * the parent-death signal survives (a real change of user clears it). */
    if ((m->pid = fork()) < 0) {
        m->pid = 0;
        return 0;
    }
    if (m->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp("memcached", argv);
        _exit(127);
    }
    for (int i = 0; i < 250; i++) {
        if (t_connectable(m->port))
            return 1;
        t_sleep_ms(20);
    }
    return 0;
}

static inline void t_mc_stop(t_mc *m, int sig)
{
    if (m->pid > 0) {
        kill(m->pid, sig);
        if (sig == SIGSTOP) { /* returns once it is really stopped */
            waitpid(m->pid, NULL, WUNTRACED);
            return;
        }
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
    }
}

/* A plain client on one server, for inspecting and tampering with items. */
static inline memcached_st *t_raw(int port)
{
    memcached_st *m = memcached_create(NULL);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    memcached_server_add(m, "127.0.0.1", (in_port_t)port);
    return m;
}

static inline void t_mckey(const char *key, char out[72])
{
    uint8_t h[32];
    unsigned int n = 0;
    EVP_Digest(key, strlen(key), h, &n, EVP_sha256(), NULL);
    strcpy(out, "ks1:");
    for (int i = 0; i < 32; i++)
        snprintf(out + 4 + 2 * i, 3, "%02x", h[i]);
}

static inline char *t_raw_get(memcached_st *m, const char *mckey, size_t *len)
{
    uint32_t flags;
    memcached_return_t rc;
    return memcached_get(m, mckey, strlen(mckey), len, &flags, &rc);
}

static inline int t_raw_set(memcached_st *m, const char *mckey, const void *v, size_t len)
{
    return memcached_set(m, mckey, strlen(mckey), v, len, 0, 0) == MEMCACHED_SUCCESS;
}

/* Starts tests/revocation/peer.py with `args` (after the port file); returns
 * its pid and sets *port, or 0.  Waits at most 5 s. */
static inline pid_t t_peer_start(const char *dir, const char *name, char *const args[], int *port)
{
    char portfile[512], *argv[16];
    int n = 0;
    snprintf(portfile, sizeof portfile, "%s/%s.port", dir, name);
    unlink(portfile);
    argv[n++] = (char *)"python3";
    argv[n++] = (char *)"tests/revocation/peer.py";
    argv[n++] = portfile;
    for (int i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid;
    if (posix_spawnp(&pid, "python3", NULL, NULL, argv, environ) != 0)
        return 0;
    for (int i = 0; i < 250; i++) {
        FILE *f = fopen(portfile, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", port) == 1;
            fclose(f);
            if (ok)
                return pid;
        }
        t_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

/* Requests the peer has answered so far. */
static inline int t_peer_count(const char *dir, const char *name)
{
    char path[512];
    int n = 0;
    snprintf(path, sizeof path, "%s/%s.port.count", dir, name);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &n) != 1)
            n = 0;
        fclose(f);
    }
    return n;
}

static inline void t_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

#endif
