// SPDX-License-Identifier: GPL-2.0
//
// Test stand-ins for Android's memevents BPF programs (lmkd's part): the same ring buffer and
// the same pinned program names as AOSP's loader gives them, so that the daemon finds them
// where it finds AOSP's. Each tracepoint program writes a mem_event_t of its type (the fields
// the daemon does not read are left zero). `inject`, a BPF_PROG_TYPE_SYSCALL program run
// through BPF_PROG_TEST_RUN, lets a test put exact records in the ring buffer — any length, any
// type, or a discarded one — as a vendor module or a corrupt producer would.
//
// Built by the tests: clang -O2 -target bpf -c memevents.bpf.c (libbpf-dev's headers).

#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define MEM_EVENT_SIZE 88
#define INJECT_MAX 96

struct mem_event {
	__u64 type;
	__u8 body[MEM_EVENT_SIZE - 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} map_bpfMemEvents_lmkd_rb SEC(".maps");

/* Not a ring buffer: the tests put it where the ring buffer belongs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} map_not_a_ringbuf SEC(".maps");

static __always_inline int emit(__u64 type)
{
	struct mem_event *e = bpf_ringbuf_reserve(&map_bpfMemEvents_lmkd_rb, sizeof(*e), 0);

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin")
int prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_direct_reclaim_begin_lmkd(void *ctx)
{
	return emit(1);
}

SEC("tracepoint/vmscan/mm_vmscan_direct_reclaim_end")
int prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_direct_reclaim_end_lmkd(void *ctx)
{
	return emit(2);
}

SEC("tracepoint/vmscan/mm_vmscan_kswapd_wake")
int prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_kswapd_wake_lmkd(void *ctx)
{
	return emit(3);
}

SEC("tracepoint/vmscan/mm_vmscan_kswapd_sleep")
int prog_bpfMemEvents_tracepoint_vmscan_mm_vmscan_kswapd_sleep_lmkd(void *ctx)
{
	return emit(4);
}

SEC("tracepoint/kmem/mm_calculate_totalreserve_pages")
int prog_bpfMemEvents_tracepoint_kmem_mm_calculate_totalreserve_pages_lmkd(void *ctx)
{
	return emit(6);
}

struct inject_args {
	__u32 len;      /* bytes of data to write as one record */
	__u32 discard;  /* 1: reserve a record and discard it instead */
	__u8 data[INJECT_MAX];
};

SEC("syscall")
int inject(struct inject_args *ctx)
{
	__u8 buf[INJECT_MAX];
	__u32 len = ctx->len;

	if (ctx->discard) {
		struct mem_event *e =
			bpf_ringbuf_reserve(&map_bpfMemEvents_lmkd_rb, sizeof(*e), 0);

		if (!e)
			return 2;
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	if (len == 0 || len > INJECT_MAX)
		return 1;
	__builtin_memcpy(buf, ctx->data, INJECT_MAX);
	return bpf_ringbuf_output(&map_bpfMemEvents_lmkd_rb, buf, len, 0) ? 2 : 0;
}

char LICENSE[] SEC("license") = "GPL";
