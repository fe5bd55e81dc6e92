/*
 * skewclock: run a process with its wall clock off by SKEWCLOCK_SECONDS.
 *
 *     cc -shared -fPIC -O2 -o libskewclock.so skewclock.c -ldl
 *     LD_PRELOAD=./libskewclock.so SKEWCLOCK_SECONDS=3600 python ...
 *
 * Only CLOCK_REALTIME moves (clock_gettime, gettimeofday, time): what
 * time.time(), datetime.now() and gunicorn's Date header read. The
 * monotonic clock, which sleeps, lock timeouts and heartbeats run on, is
 * left alone, as on a server whose NTP has drifted.
 *
 * Why not libfaketime (Debian's faketime 0.9.10): with Python 3.11 it is
 * unusable either way. Excluding the monotonic clock breaks time.sleep()
 * with EINVAL (libfaketime issue #426: clock_nanosleep with TIMER_ABSTIME);
 * faking it makes every threading wait with a timeout hang (issue #390:
 * sem_clockwait is not intercepted), and gunicorn's gthread worker waits on both.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void) {
    static clock_gettime_fn real;
    if (real == NULL) {
        real = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    }
    return real;
}

static time_t skew_seconds(void) {
    static int ready;
    static time_t skew;
    if (!ready) {
        const char *value = getenv("SKEWCLOCK_SECONDS");
        skew = value != NULL ? (time_t)strtoll(value, NULL, 10) : 0;
        ready = 1;
    }
    return skew;
}

int clock_gettime(clockid_t clock, struct timespec *now) {
    int rc = real_clock_gettime()(clock, now);
    if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
        now->tv_sec += skew_seconds();
    }
    return rc;
}

int gettimeofday(struct timeval *restrict now, void *restrict zone) {
    (void)zone; /* obsolete: glibc fills in no time zone either */
    struct timespec precise;
    int rc = clock_gettime(CLOCK_REALTIME, &precise);
    if (rc == 0) {
        now->tv_sec = precise.tv_sec;
        now->tv_usec = precise.tv_nsec / 1000;
    }
    return rc;
}

time_t time(time_t *out) {
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        return (time_t)-1;
    }
    if (out != NULL) {
        *out = now.tv_sec;
    }
    return now.tv_sec;
}
