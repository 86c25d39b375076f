/* The C accelerator of the parser's hot loop (seccomp_gen._fastpath): optional, never the reference.
 *
 * Scanner.scan(data, out, rest) walks a chunk of whole lines the way FastPath's pure-Python loops do:
 *
 * - a line holding none of the literals `audit`, `ssed `, `SECCOMP auid=`, `"MESSAGE":[` or
 *   `"MESSAGE": [` is noise and
 *   is only counted (by the caller, as lines minus candidates); the literals are found in one pass over
 *   the chunk (find_literal), so noise costs about what a grep costs;
 * - an auditd line of the everyday shape `type=T msg=audit(STAMP): ` of another type than the seccomp
 *   ones is counted as `other-audit-type` (when the parser takes auditd's log at all);
 * - a record line of the everyday shape becomes a SeccompEvent here, exactly as FastPath._quick makes
 *   it: cut at its fixed separators, framing recognised by its shape (digits turned into '0') through
 *   FastPath._front_spans, its repeating parts read once through FastPath._proto (both Python, called
 *   only for a shape or a combination not seen before), its varying parts (stamp, pid, ip) checked and
 *   converted here;
 * - any other candidate line is handed to rest(start, stop), the Python code that decides it.
 *
 * The tests run every parser table and the fuzz properties with and without this module and require
 * the same events and counts, and run it under ASan and UBSan (tests/test_accel.py). The caches are bounded in entries and in bytes (a forged log must not
 * grow them), and seeded per process.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_LINE (64 * 1024)
#define CACHE_MAX 4096
#define CACHE_BYTES (4 * 1024 * 1024)
#define SLOTS 8192      /* at most: a power of two, twice CACHE_MAX, so probes stay short */
#define FIRST_SLOTS 64 /* at first: a parser that sees few framings and processes stays small */
#define NSPANS 11
#define U32 0xFFFFFFFFULL

typedef struct {
    uint64_t hash;
    char *key; /* NULL: an empty slot */
    Py_ssize_t len;
    PyObject *value; /* protos: the prototype dict (may be empty: not a fast line) */
    Py_ssize_t spans[NSPANS];
    int fast; /* fronts: the shape is one _FAST takes */
} Entry;

typedef struct {
    Entry *slots;
    Py_ssize_t size; /* slots: a power of two, grown from FIRST_SLOTS up to SLOTS */
    Py_ssize_t used;
    Py_ssize_t bytes;
} Table;

typedef struct {
    PyObject_HEAD
    PyObject *front_spans; /* FastPath._front_spans(shape) -> tuple of NSPANS ints, or () */
    PyObject *proto;       /* FastPath._proto(head, ids, middle, code) -> dict, or {} */
    PyObject *event_type;  /* SeccompEvent */
    int auditd;
    long long pid_max;
    uint64_t seed;
    Table fronts;
    Table protos;
    char *buf; /* a shape or a key being built: at most a line and a few lengths */
    /* the last front's shape and spans: the next record line usually has the same framing */
    char *last_shape;
    char *last_digits; /* 0xFF where last_shape holds '0' (a digit), 0 elsewhere */
    Py_ssize_t last_len; /* -1: none */
    int last_fast;
    Py_ssize_t last_spans[NSPANS];
    PyObject *no_args;   /* () for object.__new__ */
    PyObject *dict_name; /* "__dict__" */
} Scanner;

static PyObject *s_timestamp, *s_serial, *s_pid, *s_ip;

/* ---------------------------------------------------------------- bounded, seeded hash tables */

static uint64_t
hash_bytes(const char *p, Py_ssize_t n, uint64_t seed)
{
    uint64_t h = seed ^ ((uint64_t)n * 0x9E3779B97F4A7C15ULL);
    uint64_t w;
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return h;
}

static int
table_init(Table *t)
{
    t->slots = PyMem_Calloc(FIRST_SLOTS, sizeof(Entry));
    t->size = FIRST_SLOTS;
    t->used = 0;
    t->bytes = 0;
    return t->slots == NULL ? -1 : 0;
}

static void
table_clear(Table *t)
{
    if (t->slots == NULL) {
        return;
    }
    for (Py_ssize_t i = 0; i < t->size; i++) {
        Entry *e = &t->slots[i];
        if (e->key != NULL) {
            PyMem_Free(e->key);
            e->key = NULL;
            Py_CLEAR(e->value);
        }
    }
    t->used = 0;
    t->bytes = 0;
}

/* The entry holding key, or the empty slot where it would go. */
static Entry *
table_find(Table *t, uint64_t hash, const char *key, Py_ssize_t len)
{
    size_t mask = (size_t)t->size - 1;
    size_t i = (size_t)hash & mask;
    for (;;) {
        Entry *e = &t->slots[i];
        if (e->key == NULL) {
            return e;
        }
        if (e->hash == hash && e->len == len && memcmp(e->key, key, (size_t)len) == 0) {
            return e;
        }
        i = (i + 1) & mask;
    }
}

/* Twice the slots, the entries moved over; -1 (MemoryError) when that cannot be had. */
static int
table_grow(Table *t)
{
    Py_ssize_t size = t->size * 2;
    Entry *slots = PyMem_Calloc((size_t)size, sizeof(Entry));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < t->size; i++) {
        Entry *old = &t->slots[i];
        if (old->key != NULL) {
            size_t at = (size_t)old->hash & ((size_t)size - 1);
            while (slots[at].key != NULL) {
                at = (at + 1) & ((size_t)size - 1);
            }
            slots[at] = *old;
        }
    }
    PyMem_Free(t->slots);
    t->slots = slots;
    t->size = size;
    return 0;
}

/* A new entry for key (not in the table); the table is emptied first when it is full. */
static Entry *
table_add(Table *t, uint64_t hash, const char *key, Py_ssize_t len)
{
    if (t->used >= CACHE_MAX || t->bytes + len > CACHE_BYTES) {
        table_clear(t);
    }
    else if ((t->used + 1) * 2 > t->size && t->size < SLOTS && table_grow(t) < 0) {
        return NULL;
    }
    char *copy = PyMem_Malloc(len > 0 ? (size_t)len : 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, key, (size_t)len);
    Entry *e = table_find(t, hash, key, len);
    e->hash = hash;
    e->key = copy;
    e->len = len;
    e->value = NULL;
    e->fast = 0;
    t->used++;
    t->bytes += len;
    return e;
}

/* ---------------------------------------------------------------- byte helpers */

/* needle in text[:len]: memchr for needle[anchor] (a byte chosen rare where the needle is looked
 * for), then memcmp around it. For the short stretches searched per line this beats memmem, whose
 * set-up costs more than the search. */
static const char *
search_at(const char *text, Py_ssize_t len, const char *needle, Py_ssize_t needle_len, Py_ssize_t anchor)
{
    if (len < needle_len) {
        return NULL;
    }
    const char *p = text + anchor;
    const char *end = text + len - needle_len + anchor + 1; /* past the last place the anchor can be */
    while (p < end) {
        p = memchr(p, needle[anchor], (size_t)(end - p));
        if (p == NULL) {
            return NULL;
        }
        if (memcmp(p - anchor, needle, (size_t)needle_len) == 0) {
            return p - anchor;
        }
        p++;
    }
    return NULL;
}

/* Whether one of the candidate literals starts at d[at] (d[:n]): `audit`, `ssed `, `SECCOMP auid=`
 * (journalctl -o cat of the audit transport: the message alone), `"MESSAGE":[` or `"MESSAGE": [`. */
static int
literal_at(const char *d, Py_ssize_t n, Py_ssize_t at)
{
    Py_ssize_t left = n - at;
    switch (d[at]) {
    case 'a':
        return left >= 5 && memcmp(d + at, "audit", 5) == 0;
    case 's':
        return left >= 5 && memcmp(d + at, "ssed ", 5) == 0;
    case 'S':
        return left >= 13 && memcmp(d + at, "SECCOMP auid=", 13) == 0;
    case '"':
        return left >= 11 && memcmp(d + at, "\"MESSAGE\":", 10) == 0 &&
               (d[at + 10] == '[' || (left >= 12 && d[at + 10] == ' ' && d[at + 11] == '['));
    default:
        return 0;
    }
}

/* The first position at or after from where a candidate literal starts, or -1. With SSE2 (every x86-64)
 * 16 places are tried at once, each literal by two of its bytes (`a...t`, `s..d`, `S..C`, `"........:`):
 * one pass over the chunk for the four, a few instructions per 16 bytes, the rare pairs checked whole. */
static Py_ssize_t
find_literal(const char *d, Py_ssize_t n, Py_ssize_t from)
{
    Py_ssize_t at = from;
#ifdef __SSE2__
    const __m128i a = _mm_set1_epi8('a'), t = _mm_set1_epi8('t'), s = _mm_set1_epi8('s');
    const __m128i dd = _mm_set1_epi8('d'), quote = _mm_set1_epi8('"'), colon = _mm_set1_epi8(':');
    const __m128i big_s = _mm_set1_epi8('S'), big_c = _mm_set1_epi8('C');
    for (; at + 16 + 9 <= n; at += 16) {
        const __m128i first = _mm_loadu_si128((const __m128i *)(d + at));
        const __m128i third = _mm_loadu_si128((const __m128i *)(d + at + 3));
        const __m128i fourth = _mm_loadu_si128((const __m128i *)(d + at + 4));
        const __m128i ninth = _mm_loadu_si128((const __m128i *)(d + at + 9));
        __m128i any = _mm_and_si128(_mm_cmpeq_epi8(first, a), _mm_cmpeq_epi8(fourth, t));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, s), _mm_cmpeq_epi8(third, dd)));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, big_s), _mm_cmpeq_epi8(third, big_c)));
        any = _mm_or_si128(any, _mm_and_si128(_mm_cmpeq_epi8(first, quote), _mm_cmpeq_epi8(ninth, colon)));
        unsigned mask = (unsigned)_mm_movemask_epi8(any);
        while (mask) {
            Py_ssize_t place = at + __builtin_ctz(mask);
            if (literal_at(d, n, place)) {
                return place;
            }
            mask &= mask - 1;
        }
    }
#endif
    for (; at < n; at++) {
        if (literal_at(d, n, at)) {
            return at;
        }
    }
    return -1;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* text[:len] cut at the first sep (found through sep[anchor]): the part before it in *head_len; 0 when
 * absent. */
static int
partition(const char *text, Py_ssize_t len, const char *sep, Py_ssize_t sep_len, Py_ssize_t anchor,
          Py_ssize_t *head_len)
{
    const char *at = search_at(text, len, sep, sep_len, anchor);
    if (at == NULL) {
        return 0;
    }
    *head_len = at - text;
    return 1;
}

/* `type=T msg=audit(STAMP): ` at the start of an auditd line, T not a seccomp type: the shape
 * FastPath._AUDITD_LINE matches, read the same way on the general path (other-audit-type). */
static int
is_other_auditd(const char *p, Py_ssize_t n)
{
    if (n < 5 || memcmp(p, "type=", 5) != 0) {
        return 0;
    }
    Py_ssize_t i = 5;
    while (i < n && i - 5 < 33 && ((p[i] >= 'A' && p[i] <= 'Z') || is_digit(p[i]) || p[i] == '_')) {
        i++;
    }
    Py_ssize_t kind = i - 5;
    if (kind < 1 || kind > 32) {
        return 0;
    }
    if ((kind == 4 && (memcmp(p + 5, "1326", 4) == 0 || memcmp(p + 5, "1701", 4) == 0)) ||
        (kind == 7 && memcmp(p + 5, "SECCOMP", 7) == 0) ||
        (kind == 10 && memcmp(p + 5, "ANOM_ABEND", 10) == 0)) {
        return 0;
    }
    if (n - i < 11 || memcmp(p + i, " msg=audit(", 11) != 0) {
        return 0;
    }
    i += 11;
    Py_ssize_t stamp = i;
    while (i < n && i - stamp < 65 && (is_digit(p[i]) || p[i] == '.' || p[i] == ':')) {
        i++;
    }
    if (i - stamp < 1 || i - stamp > 64) {
        return 0;
    }
    return n - i >= 3 && memcmp(p + i, "): ", 3) == 0;
}

/* ---------------------------------------------------------------- the everyday record line */

static int
span_fits(Py_ssize_t start, Py_ssize_t stop, Py_ssize_t len)
{
    return (start == -1 && stop == -1) || (0 <= start && start <= stop && stop <= len);
}

/* (frame, level start, stop, host start, stop, day, kind start, stop, end of the framing, end of the
 * seconds, long serial): the positions quick() reads must lie in a front of len bytes. */
static int
spans_fit(const Py_ssize_t *sp, Py_ssize_t len)
{
    return span_fits(sp[1], sp[2], len) && span_fits(sp[3], sp[4], len) && 0 <= sp[5] && sp[5] < len &&
           0 <= sp[6] && sp[6] <= sp[7] && sp[7] <= len && 0 <= sp[8] && sp[8] + 6 <= sp[9] && sp[9] < len;
}

/* The spans of a front's shape (FastPath._front_spans), cached; NULL with an exception on error. */
static Entry *
front_entry(Scanner *self, const char *shape, Py_ssize_t len)
{
    uint64_t hash = hash_bytes(shape, len, self->seed);
    Entry *e = table_find(&self->fronts, hash, shape, len);
    if (e->key != NULL) {
        return e;
    }
    PyObject *key = PyBytes_FromStringAndSize(shape, len);
    if (key == NULL) {
        return NULL;
    }
    PyObject *spans = PyObject_CallOneArg(self->front_spans, key);
    Py_DECREF(key);
    if (spans == NULL) {
        return NULL;
    }
    if (!PyTuple_Check(spans) || (PyTuple_GET_SIZE(spans) != 0 && PyTuple_GET_SIZE(spans) != NSPANS)) {
        Py_DECREF(spans);
        PyErr_SetString(PyExc_TypeError, "front_spans must return () or a tuple of 11 integers");
        return NULL;
    }
    Py_ssize_t values[NSPANS];
    int fast = PyTuple_GET_SIZE(spans) == NSPANS;
    for (Py_ssize_t i = 0; fast && i < NSPANS; i++) {
        values[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(spans, i));
        if (values[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(spans);
            return NULL;
        }
    }
    Py_DECREF(spans);
    /* The spans index the front: out of it, they would make quick() read outside the line. Levels and
     * hosts may be (-1, -1) (a group that did not take part); everything else must lie in the front. */
    if (fast && !spans_fit(values, len)) {
        PyErr_SetString(PyExc_ValueError, "front_spans returned spans outside the front");
        return NULL;
    }
    e = table_add(&self->fronts, hash, shape, len);
    if (e == NULL) {
        return NULL;
    }
    e->fast = fast;
    if (fast) {
        memcpy(e->spans, values, sizeof(values));
    }
    return e;
}

/* Append one (length, bytes) part of a key to buf at *at. */
static void
put(char *buf, Py_ssize_t *at, const char *p, Py_ssize_t n)
{
    memcpy(buf + *at, &n, sizeof(n));
    *at += (Py_ssize_t)sizeof(n);
    if (n > 0) {
        memcpy(buf + *at, p, (size_t)n);
        *at += n;
    }
}

/* front[start:stop] as Python slices it when both are -1 (a group that did not take part): empty. */
static void
slice(const char *front, Py_ssize_t start, Py_ssize_t stop, const char **p, Py_ssize_t *n)
{
    if (start < 0 || stop < start) {
        *p = front;
        *n = 0;
    }
    else {
        *p = front + start;
        *n = stop - start;
    }
}

static int
all_digits(const char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

static unsigned long long
decimal(const char *p, Py_ssize_t n)
{
    unsigned long long value = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        value = value * 10 + (unsigned long long)(p[i] - '0');
    }
    return value;
}

#define ONES 0x0101010101010101ULL

/* Whether front has the shape (digits turned into '0') of the last front looked up: where that shape
 * holds '0' front must hold a digit, elsewhere the same byte. Eight bytes at a time: last_digits has 0xFF
 * in the bytes where the last shape holds '0'. A byte is a digit when its high nibble is 3 and its low
 * nibble plus 6 stays below 16 (no carry leaves a byte: at most 0x0F + 0x06). */
static int
same_shape(Scanner *self, const char *front, Py_ssize_t len)
{
    if (len != self->last_len) {
        return 0;
    }
    const char *last = self->last_shape;
    const unsigned char *digits = (const unsigned char *)self->last_digits;
    Py_ssize_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t a, b, m;
        memcpy(&a, front + i, 8);
        memcpy(&b, last + i, 8);
        memcpy(&m, digits + i, 8);
        uint64_t bad = ((a ^ b) & ~m) | (((a & (0xF0 * ONES)) ^ (0x30 * ONES)) & m) |
                       (((a & (0x0F * ONES)) + 0x06 * ONES) & (0x10 * ONES) & m);
        if (bad) {
            return 0;
        }
    }
    for (; i < len; i++) {
        char c = front[i];
        if (digits[i] ? !(c >= '0' && c <= '9') : c != last[i]) {
            return 0;
        }
    }
    return 1;
}

/* The event of one record line (no NUL, at most MAX_LINE bytes) into *event, or *event NULL to look
 * further; -1 with an exception on error. FastPath._quick, step for step. */
static int
quick(Scanner *self, const char *line, Py_ssize_t n, PyObject **event)
{
    *event = NULL;
    Py_ssize_t front_len;
    if (!partition(line, n, "): ", 3, 0, &front_len)) {
        return 0; /* no rest: the ` code=0x` cut below would fail */
    }
    const char *front = line;
    const char *rest = line + front_len + 3;
    Py_ssize_t rest_len = n - front_len - 3;

    if (!same_shape(self, front, front_len)) {
        char *shape = self->buf;
        for (Py_ssize_t i = 0; i < front_len; i++) {
            char c = front[i];
            shape[i] = (c >= '1' && c <= '9') ? '0' : c;
        }
        Entry *fe = front_entry(self, shape, front_len);
        if (fe == NULL) {
            return -1;
        }
        memcpy(self->last_shape, shape, (size_t)front_len);
        for (Py_ssize_t i = 0; i < front_len; i++) {
            self->last_digits[i] = shape[i] == '0' ? (char)0xFF : 0;
        }
        self->last_len = front_len;
        self->last_fast = fe->fast;
        memcpy(self->last_spans, fe->spans, sizeof(fe->spans));
    }
    if (!self->last_fast) {
        return 0;
    }
    Py_ssize_t sp[NSPANS];
    memcpy(sp, self->last_spans, sizeof(sp));
    Py_ssize_t frame = sp[0], day = sp[5], kind_start = sp[6], kind_stop = sp[7];
    Py_ssize_t head_stop = sp[8], seconds_stop = sp[9], long_serial = sp[10];
    if (day && (unsigned char)front[day] > 0x33) {
        return 0; /* RFC 3164's day is [ 0-3]?\d */
    }
    Py_ssize_t kind_len = kind_stop - kind_start;
    if (!((kind_len == 4 && memcmp(front + kind_start, "1326", 4) == 0) ||
          (kind_len == 7 && memcmp(front + kind_start, "SECCOMP", 7) == 0))) {
        return 0;
    }
    Py_ssize_t ids_len, pid_len, middle_len, ip_len;
    if (!partition(rest, rest_len, " pid=", 5, 1, &ids_len)) {
        return 0;
    }
    const char *ids = rest;
    const char *pid = ids + ids_len + 5;
    Py_ssize_t left = rest_len - ids_len - 5;
    if (!partition(pid, left, " ", 1, 0, &pid_len)) {
        return 0;
    }
    const char *middle = pid + pid_len + 1;
    left -= pid_len + 1;
    if (!partition(middle, left, " ip=0x", 6, 5, &middle_len)) {
        return 0;
    }
    const char *ip = middle + middle_len + 6;
    left -= middle_len + 6;
    if (!partition(ip, left, " code=0x", 8, 7, &ip_len)) {
        return 0;
    }
    const char *code = ip + ip_len + 8;
    Py_ssize_t code_len = left - ip_len - 8;

    const char *level, *host;
    Py_ssize_t level_len, host_len;
    slice(front, sp[1], sp[2], &level, &level_len);
    slice(front, sp[3], sp[4], &host, &host_len);
    char *key = self->buf;
    Py_ssize_t at = 0;
    memcpy(key, &frame, sizeof(frame));
    at += (Py_ssize_t)sizeof(frame);
    put(key, &at, level, level_len);
    put(key, &at, host, host_len);
    put(key, &at, ids, ids_len);
    put(key, &at, middle, middle_len);
    put(key, &at, code, code_len);
    uint64_t hash = hash_bytes(key, at, self->seed);
    Entry *pe = table_find(&self->protos, hash, key, at);
    if (pe->key == NULL) {
        PyObject *proto = PyObject_CallFunction(
            self->proto, "y#y#y#y#", front, head_stop, ids, ids_len, middle, middle_len, code, code_len);
        if (proto == NULL) {
            return -1;
        }
        if (!PyDict_CheckExact(proto)) {
            Py_DECREF(proto);
            PyErr_SetString(PyExc_TypeError, "proto must return a dict");
            return -1;
        }
        pe = table_add(&self->protos, hash, key, at);
        if (pe == NULL) {
            Py_DECREF(proto);
            return -1;
        }
        pe->value = proto;
    }
    const char *serial = front + seconds_stop + 1;
    Py_ssize_t serial_len = front_len - seconds_stop - 1;
    if (PyDict_GET_SIZE(pe->value) == 0 || pid_len == 0 || pid_len > 10 || !all_digits(pid, pid_len) ||
        ip_len == 0 || ip_len > 16) {
        return 0;
    }
    unsigned long long ip_value = 0;
    for (Py_ssize_t i = 0; i < ip_len; i++) {
        char c = ip[i];
        if (is_digit(c)) {
            ip_value = (ip_value << 4) | (unsigned long long)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            ip_value = (ip_value << 4) | (unsigned long long)(c - 'a' + 10);
        }
        else {
            return 0;
        }
    }
    unsigned long long serial_value = decimal(serial, serial_len);
    if (long_serial && serial_value > U32) {
        return 0;
    }
    unsigned long long pid_value = decimal(pid, pid_len);
    if (pid_value > (unsigned long long)self->pid_max) {
        return 0;
    }
    /* the seconds: `audit(` then \d{1,20}\.\d{3}, converted as float() converts them */
    char seconds[32];
    Py_ssize_t seconds_len = seconds_stop - head_stop - 6;
    if (seconds_len <= 0 || seconds_len >= (Py_ssize_t)sizeof(seconds)) {
        return 0;
    }
    memcpy(seconds, front + head_stop + 6, (size_t)seconds_len);
    seconds[seconds_len] = '\0';
    double stamp;
    if (seconds_len <= 16) {
        /* \d{1,12}\.\d{3}: the value is exactly N / 1000 with N < 2**53, and IEEE division rounds
         * correctly, so this is the double float() gives */
        unsigned long long thousandths = decimal(seconds, seconds_len - 4) * 1000 +
                                         decimal(seconds + seconds_len - 3, 3);
        stamp = (double)thousandths / 1000.0;
    }
    else {
        stamp = PyOS_string_to_double(seconds, NULL, NULL);
        if (stamp == -1.0 && PyErr_Occurred()) {
            return -1;
        }
    }

    PyObject *values = PyDict_Copy(pe->value);
    if (values == NULL) {
        return -1;
    }
    PyObject *timestamp = PyFloat_FromDouble(stamp);
    PyObject *serial_obj = PyLong_FromUnsignedLongLong(serial_value);
    PyObject *pid_obj = PyLong_FromUnsignedLongLong(pid_value);
    PyObject *ip_obj = PyLong_FromUnsignedLongLong(ip_value);
    int failed = timestamp == NULL || serial_obj == NULL || pid_obj == NULL || ip_obj == NULL ||
                 PyDict_SetItem(values, s_timestamp, timestamp) < 0 ||
                 PyDict_SetItem(values, s_serial, serial_obj) < 0 || PyDict_SetItem(values, s_pid, pid_obj) < 0 ||
                 PyDict_SetItem(values, s_ip, ip_obj) < 0;
    Py_XDECREF(timestamp);
    Py_XDECREF(serial_obj);
    Py_XDECREF(pid_obj);
    Py_XDECREF(ip_obj);
    if (failed) {
        Py_DECREF(values);
        return -1;
    }
    /* A new SeccompEvent given its __dict__ (object.__setattr__(event, "__dict__", values)): the state
     * the frozen dataclass's __init__ ends with. Before 3.13 it is allocated bare: object.__new__ would
     * first make the instance's own attribute storage, only for __dict__ to replace it. From 3.13 that
     * storage (inline values) must be set up for the __dict__ to be read: object.__new__ does it. */
    PyTypeObject *type = (PyTypeObject *)self->event_type;
#if PY_VERSION_HEX < 0x030D0000
    PyObject *made = type->tp_alloc(type, 0);
#else
    PyObject *made = PyBaseObject_Type.tp_new(type, self->no_args, NULL);
#endif
    if (made == NULL) {
        Py_DECREF(values);
        return -1;
    }
#if PY_VERSION_HEX < 0x030D0000
    int set = PyObject_GenericSetDict(made, values, NULL);
#else
    int set = PyObject_GenericSetAttr(made, self->dict_name, values); /* through __dict__'s own setter */
#endif
    if (set < 0) {
        Py_DECREF(values);
        Py_DECREF(made);
        return -1;
    }
    /* An event holds only strings, numbers, None, enum members and shared Action values, and is frozen:
     * it cannot be part of a reference cycle, so the cycle collector need not visit it (CPython
     * untracks tuples and dicts of atomic values the same way). */
    if (PyObject_GC_IsTracked(values)) {
        PyObject_GC_UnTrack(values);
    }
    if (PyObject_GC_IsTracked(made)) {
        PyObject_GC_UnTrack(made);
    }
    Py_DECREF(values);
    *event = made;
    return 0;
}

/* ---------------------------------------------------------------- Scanner */

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"front_spans", "proto", "event_type", "auditd", "pid_max", "seed", NULL};
    PyObject *front_spans, *proto, *event_type;
    int auditd;
    long long pid_max;
    unsigned long long seed;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!pLK", kwlist, &front_spans, &proto, &PyType_Type,
                                     &event_type, &auditd, &pid_max, &seed)) {
        return -1;
    }
    if (!PyCallable_Check(front_spans) || !PyCallable_Check(proto)) {
        PyErr_SetString(PyExc_TypeError, "front_spans and proto must be callable");
        return -1;
    }
    Py_INCREF(front_spans);
    Py_XSETREF(self->front_spans, front_spans);
    Py_INCREF(proto);
    Py_XSETREF(self->proto, proto);
    Py_INCREF(event_type);
    Py_XSETREF(self->event_type, event_type);
    self->auditd = auditd;
    self->pid_max = pid_max;
    self->seed = (uint64_t)seed;
    table_clear(&self->fronts);
    table_clear(&self->protos);
    if ((self->fronts.slots == NULL && table_init(&self->fronts) < 0) ||
        (self->protos.slots == NULL && table_init(&self->protos) < 0)) {
        PyErr_NoMemory();
        return -1;
    }
    if (self->buf == NULL) {
        self->buf = PyMem_Malloc(2 * MAX_LINE + 256);
        self->last_shape = PyMem_Malloc(MAX_LINE + 1);
        self->last_digits = PyMem_Malloc(MAX_LINE + 1);
        if (self->buf == NULL || self->last_shape == NULL || self->last_digits == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    self->last_len = -1;
    if (self->no_args == NULL && (self->no_args = PyTuple_New(0)) == NULL) {
        return -1;
    }
    if (self->dict_name == NULL && (self->dict_name = PyUnicode_InternFromString("__dict__")) == NULL) {
        return -1;
    }
    return 0;
}

static int
Scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    Py_VISIT(self->front_spans);
    Py_VISIT(self->proto);
    Py_VISIT(self->event_type);
    if (self->protos.slots != NULL) {
        for (Py_ssize_t i = 0; i < self->protos.size; i++) {
            Py_VISIT(self->protos.slots[i].value);
        }
    }
    return 0;
}

static int
Scanner_clear(Scanner *self)
{
    Py_CLEAR(self->front_spans);
    Py_CLEAR(self->proto);
    Py_CLEAR(self->event_type);
    Py_CLEAR(self->no_args);
    Py_CLEAR(self->dict_name);
    table_clear(&self->fronts);
    table_clear(&self->protos);
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    Scanner_clear(self);
    PyMem_Free(self->fronts.slots);
    PyMem_Free(self->protos.slots);
    PyMem_Free(self->buf);
    PyMem_Free(self->last_shape);
    PyMem_Free(self->last_digits);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

typedef struct {
    Py_ssize_t candidates, records, others;
} Counts;

/* One candidate line d[start:stop]: a record taken here, another auditd type counted, or rest(). */
static int
candidate(Scanner *self, const char *d, Py_ssize_t start, Py_ssize_t stop, PyObject *out, PyObject *rest,
          Counts *counts)
{
    const char *line = d + start;
    Py_ssize_t len = stop - start;
    counts->candidates++;
    if (len <= MAX_LINE && memchr(line, '\0', (size_t)len) == NULL) {
        if (self->auditd && is_other_auditd(line, len)) {
            counts->others++;
            return 0;
        }
        PyObject *event;
        if (quick(self, line, len, &event) < 0) {
            return -1;
        }
        if (event != NULL) {
            int appended = PyList_Append(out, event);
            Py_DECREF(event);
            counts->records++;
            return appended;
        }
    }
    PyObject *result = PyObject_CallFunction(rest, "nn", start, stop);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

PyDoc_STRVAR(Scanner_scan_doc,
             "scan(data, out, rest) -> (candidates, records, others)\n\n"
             "Read the candidate lines of a chunk of whole lines: records of the everyday shape are appended\n"
             "to out as events, auditd lines of other types counted, every other candidate line handed to\n"
             "rest(start, stop). Lines without a candidate literal are not counted here.");

static PyObject *
Scanner_scan(Scanner *self, PyObject *args)
{
    PyObject *data, *out, *rest;
    if (!PyArg_ParseTuple(args, "SO!O:scan", &data, &PyList_Type, &out, &rest)) {
        return NULL;
    }
    if (self->buf == NULL || self->front_spans == NULL || self->proto == NULL || self->event_type == NULL ||
        self->no_args == NULL || self->dict_name == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialised");
        return NULL;
    }
    Py_INCREF(data); /* held while rest() runs Python code */
    const char *d = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    Counts counts = {0, 0, 0};
    Py_ssize_t pos = 0;
    Py_ssize_t hit;
    while (pos < n && (hit = find_literal(d, n, pos)) >= 0) {
        const char *newline = memrchr(d + pos, '\n', (size_t)(hit - pos));
        Py_ssize_t start = newline == NULL ? pos : newline - d + 1;
        const char *end = memchr(d + hit, '\n', (size_t)(n - hit));
        Py_ssize_t stop = end == NULL ? n : end - d;
        if (candidate(self, d, start, stop, out, rest, &counts) < 0) {
            goto error;
        }
        pos = stop + 1;
    }
    Py_DECREF(data);
    return Py_BuildValue("nnn", counts.candidates, counts.records, counts.others);
error:
    Py_DECREF(data);
    return NULL;
}

/* Newlines in d[:n]: one memchr a line (vectorised in libc; lines are tens to hundreds of bytes). */
static Py_ssize_t
count_newlines(const char *d, Py_ssize_t n)
{
    Py_ssize_t count = 0;
    const char *p = d, *end = d + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}

PyDoc_STRVAR(count_lines_doc,
             "count_lines(data) -> int\n\n"
             "Lines in a chunk: its newlines, plus a last line without one (_fastpath.count_lines).");

static PyObject *
accel_count_lines(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "count_lines needs bytes");
        return NULL;
    }
    const char *d = PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    return PyLong_FromSsize_t(count_newlines(d, n) + (n > 0 && d[n - 1] != '\n'));
}

PyDoc_STRVAR(tune_allocator_doc,
             "tune_allocator() -> bool\n\n"
             "glibc only (False elsewhere): serve blocks up to 1 MiB from the heap and keep up to 8 MiB of\n"
             "freed heap, instead of mapping each chunk anew and faulting its pages in one by one.");

static PyObject *
accel_tune_allocator(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    if (mallopt(M_MMAP_THRESHOLD, 1024 * 1024) && mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024)) {
        Py_RETURN_TRUE;
    }
#endif
    Py_RETURN_FALSE;
}

static PyMethodDef accel_functions[] = {
    {"count_lines", (PyCFunction)accel_count_lines, METH_O, count_lines_doc},
    {"tune_allocator", (PyCFunction)accel_tune_allocator, METH_NOARGS, tune_allocator_doc},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS, Scanner_scan_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Scanner_doc,
             "Scanner(front_spans, proto, event_type, auditd, pid_max, seed)\n\n"
             "The C hot loop of one FastPath; see seccomp_gen._fastpath.");

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "seccomp_gen._accel.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = Scanner_doc,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "seccomp_gen._accel",
    .m_doc = "C accelerator of seccomp_gen._fastpath (optional; the pure-Python path is the reference).",
    .m_size = -1,
    .m_methods = accel_functions,
};

PyMODINIT_FUNC
PyInit__accel(void)
{
    if (PyType_Ready(&ScannerType) < 0) {
        return NULL;
    }
    s_timestamp = PyUnicode_InternFromString("timestamp");
    s_serial = PyUnicode_InternFromString("serial");
    s_pid = PyUnicode_InternFromString("pid");
    s_ip = PyUnicode_InternFromString("ip");
    if (s_timestamp == NULL || s_serial == NULL || s_pid == NULL || s_ip == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&accel_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(module, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "MAX_LINE", MAX_LINE) < 0 ||
        PyModule_AddIntConstant(module, "CACHE_MAX", CACHE_MAX) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
