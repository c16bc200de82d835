#include "hash.h"

static size_t table_size(size_t expected) {
    size_t cap = 16;
    while (cap / 2 < expected + 1) {
        if (cap > SIZE_MAX / 4) return 0;
        cap *= 2;
    }
    return cap;
}

int lmio_strmap_init(lmio_strmap *m, size_t expected) {
    size_t cap = table_size(expected);
    m->slots = cap ? calloc(cap, sizeof(uint64_t)) : NULL;
    m->mask = cap - 1;
    m->count = 0;
    return m->slots ? LMIO_OK : LMIO_ENOMEM;
}

void lmio_strmap_free(lmio_strmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->mask = m->count = 0;
}

static void strmap_insert(uint64_t *slots, size_t mask, uint64_t slot_value, uint64_t h) {
    size_t i = (size_t)h & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = slot_value;
}

int lmio_strmap_put(lmio_strmap *m, const lmio_arena *a, uint32_t id, uint64_t h) {
    if ((m->count + 1) * 2 > m->mask + 1) {
        size_t cap = table_size(m->count + 1);
        uint64_t *slots = cap ? calloc(cap, sizeof(uint64_t)) : NULL;
        if (!slots) return LMIO_ENOMEM;
        for (size_t i = 0; i <= m->mask; i++) {
            uint64_t slot = m->slots[i];
            if (!slot) continue;
            size_t len;
            const uint8_t *s = lmio_arena_str(a, (uint32_t)slot - 1, &len);
            strmap_insert(slots, cap - 1, slot, lmio_hash_bytes(s, len));
        }
        free(m->slots);
        m->slots = slots;
        m->mask = cap - 1;
    }
    strmap_insert(m->slots, m->mask, ((h >> 32) << 32) | ((uint64_t)id + 1), h);
    m->count++;
    return LMIO_OK;
}

static int u64map_alloc(lmio_u64map *m, size_t cap) {
    m->keys = malloc(cap * sizeof(uint64_t));
    m->vals = malloc(cap * sizeof(uint32_t));
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = NULL;
        m->vals = NULL;
        return LMIO_ENOMEM;
    }
    memset(m->keys, 0xFF, cap * sizeof(uint64_t));
    m->mask = cap - 1;
    unsigned bits = 0;
    while (((size_t)1 << bits) < cap) bits++;
    m->shift = 64 - bits;
    return LMIO_OK;
}

int lmio_u64map_init(lmio_u64map *m, size_t expected) {
    size_t cap = table_size(expected);
    m->count = 0;
    if (!cap) return LMIO_ENOMEM;
    return u64map_alloc(m, cap);
}

void lmio_u64map_free(lmio_u64map *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

int lmio_u64map_put(lmio_u64map *m, uint64_t key, uint32_t val) {
    uint32_t *v = lmio_u64map_get(m, key);
    if (v) {
        *v = val;
        return LMIO_OK;
    }
    if ((m->count + 1) * 2 > m->mask + 1) {
        lmio_u64map old = *m;
        size_t cap = table_size(m->count + 1);
        if (!cap || u64map_alloc(m, cap)) {
            *m = old;
            return LMIO_ENOMEM;
        }
        for (size_t i = 0; i <= old.mask; i++) {
            if (old.keys[i] == LMIO_U64MAP_EMPTY) continue;
            size_t j = lmio_u64map_slot(m, old.keys[i]);
            while (m->keys[j] != LMIO_U64MAP_EMPTY) j = (j + 1) & m->mask;
            m->keys[j] = old.keys[i];
            m->vals[j] = old.vals[i];
        }
        free(old.keys);
        free(old.vals);
    }
    size_t j = lmio_u64map_slot(m, key);
    while (m->keys[j] != LMIO_U64MAP_EMPTY) j = (j + 1) & m->mask;
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return LMIO_OK;
}
